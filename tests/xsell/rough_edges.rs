//! The rough edges a new marketer meets (issue 17's list), each pinned.

use crate::support::*;

const NOW: &str = "2026-11-16T09:00:00Z";

/// Dry runs report what a real run would do, `--limit` included, and say "would".
#[test]
fn dry_runs_say_would_and_count_the_limit() {
    let workspace = Workspace::example();
    let send = workspace.xsell(&[
        "--now",
        NOW,
        "send",
        "post-purchase-completion",
        "--dry-run",
        "--limit",
        "2",
    ]);
    assert_eq!(send.code, 0, "{send:?}");
    assert!(
        send.stdout
            .contains("  would send (dry run: nothing sent, nothing recorded) 2\n"),
        "{send:?}"
    );
    let json = workspace.xsell(&[
        "--now",
        NOW,
        "--format",
        "json",
        "send",
        "post-purchase-completion",
        "--dry-run",
        "--limit",
        "2",
    ]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        (report["would_send"].as_u64(), report["sent"].as_u64()),
        (Some(2), Some(0))
    );

    let run = workspace.xsell(&["--now", NOW, "run", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    let newsletter = run
        .stdout
        .lines()
        .find(|l| l.contains("new-arrivals-newsletter"))
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(newsletter.contains(": would send "), "{newsletter}");
    assert!(!run.stdout.contains(": sent "), "{run:?}");
    let run = workspace.xsell(&["--now", NOW, "--format", "json", "run", "--dry-run"]);
    for line in run.stdout.lines() {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_ne!(line["outcome"], "sent", "{line}");
    }
    assert!(!workspace.path().join("state/xsell.db").exists());
}

/// `first_name` may be empty, as the README says: such a customer loads and
/// is mailed without a name.
#[test]
fn a_customer_without_a_first_name_is_mailed_without_one() {
    let workspace = Workspace::example();
    let plan = workspace.xsell(&[
        "--now",
        NOW,
        "--format",
        "json",
        "plan",
        "post-purchase-completion",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let customer = plan["planned"][0]["customer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let customers = workspace.read("fixtures/customers.csv");
    let lines: Vec<String> = customers
        .lines()
        .map(|line| {
            if line.starts_with(&format!("{customer},")) {
                let mut fields: Vec<&str> = line.split(',').collect();
                fields[2] = "";
                fields.join(",")
            } else {
                line.to_string()
            }
        })
        .collect();
    workspace.write("fixtures/customers.csv", &(lines.join("\n") + "\n"));
    let check = workspace.xsell(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    let send = workspace.xsell(&["--now", NOW, "send", "post-purchase-completion"]);
    assert_eq!(send.code, 0, "{send:?}");
    let folder = workspace.path().join("outbox/post-purchase-completion");
    let file = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{customer}_"))
        })
        .unwrap();
    let eml = std::fs::read_to_string(file.path()).unwrap();
    let to = eml.lines().find(|l| l.starts_with("To: ")).unwrap();
    assert!(
        !to.contains('"')
            && to
                .trim_start_matches("To: ")
                .starts_with(|c: char| c != ' '),
        "{to}"
    );
}
