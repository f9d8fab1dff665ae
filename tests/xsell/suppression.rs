//! The suppression list, through the CLI, in a real SQLite ledger.

use crate::support::*;

#[test]
fn add_list_remove_and_import_all_or_nothing() {
    let workspace = Workspace::tiny(TINY_CATALOG, TINY_CUSTOMERS, TINY_EVENTS);
    let now = ["--now", "2026-11-16T09:00:00Z"];
    let run = workspace.xsell(
        &[
            &now[..],
            &[
                "suppress",
                "add",
                "Ana@Example.com",
                "--reason",
                "complained",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "suppressed 1 address (0 already were)\n"),
        "{run:?}"
    );

    workspace.write("unsubscribes.csv", "date,Email\n2026-11-01,ben@example.com\n2026-11-02,ana@example.com\n2026-11-03,not-an-address\n2026-11-04,\n");
    let run = workspace.xsell(&["suppress", "import", "unsubscribes.csv"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "unsubscribes.csv:4: `not-an-address` is not an email address\nunsubscribes.csv:5: no address\n\n2 problems found\n"
    );
    let run = workspace.xsell(&["suppress", "list"]);
    assert!(
        run.stdout.ends_with("1 suppressed address\n"),
        "nothing imported from a bad file: {run:?}"
    );

    workspace.write(
        "unsubscribes.csv",
        "date,Email\n2026-11-01,ben@example.com\n2026-11-02,ana@example.com\n",
    );
    let run = workspace.xsell(&[&now[..], &["suppress", "import", "unsubscribes.csv"]].concat());
    assert_eq!(
        run.stdout, "imported 2 addresses from unsubscribes.csv: 1 new, 1 already suppressed\n",
        "{run:?}"
    );
    let run = workspace.xsell(&["suppress", "list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list[0]["email"], "ana@example.com");
    assert_eq!(list[0]["reason"], "complained");
    assert_eq!(list[1]["email"], "ben@example.com");
    assert_eq!(list[1]["reason"], "unsubscribed");
    assert_eq!(list[1]["source"], "import unsubscribes.csv");

    let run = workspace.xsell(&["suppress", "remove", "ana@example.com"]);
    assert_eq!(run.stdout, "removed 1 address from the suppression list\n");
    assert!(workspace.path().join("state/xsell.db").exists());
}
