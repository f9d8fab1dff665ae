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
