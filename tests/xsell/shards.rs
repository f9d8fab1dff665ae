//! Sharded sending (`--shard K/N`): processes given shards of one campaign
//! deliver every planned message exactly once between them, to a real SMTP
//! server, even when a rogue process repeats a shard and another splits the
//! customers differently (the claim in the shared ledger is the only lock);
//! sharded `run`s keep their own schedule records.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;

use xsell::shard::Shard;

use crate::peers;
use crate::send_cli::{SPRING_NOW, duplicates, ledger, planned_count, workspace};

#[test]
fn shards_deliver_a_campaign_once_even_when_they_overlap() {
    let server = peers::smtp_sink();
    let workspace = workspace();
    let init = workspace.xsell(&["ledger", "init"]);
    assert_eq!(init.code, 0, "{init:?}");
    let expected = planned_count(&workspace, "spring-seasonal", SPRING_NOW) as usize;
    assert!(expected >= 2_000, "{expected}");
    // Three shards, a rogue repeat of shard 2, and a process that splits in two.
    let shards = ["1/3", "2/3", "3/3", "2/3", "1/2"];
    let children: Vec<_> = shards
        .iter()
        .map(|shard| {
            workspace
                .command(&[
                    "--now",
                    SPRING_NOW,
                    "send",
                    "spring-seasonal",
                    "--shard",
                    shard,
                    "--transport",
                    &server.url(),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (shard, child) in shards.iter().zip(children) {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "shard {shard}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(server.wait_for(expected), expected);
    let ids = server.message_ids();
    assert_eq!(ids.len(), expected);
    assert!(duplicates(&ids).is_empty(), "{:?}", duplicates(&ids));
    let sent: BTreeSet<String> = ledger(&workspace)
        .messages_in_state(Some("spring-seasonal"), xsell::ledger::State::Sent)
        .unwrap()
        .into_iter()
        .map(|row| row.key.customer)
        .collect();
    assert_eq!(sent.len(), expected);
    // Every customer belongs to exactly one of the three shards.
    let thirds: Vec<Shard> = (1..=3).map(|index| Shard { index, count: 3 }).collect();
    for customer in &sent {
        assert_eq!(
            thirds.iter().filter(|s| s.contains(customer)).count(),
            1,
            "{customer}"
        );
    }
    // Everything again: nothing more is sent.
    let again = workspace.xsell(&[
        "--now",
        SPRING_NOW,
        "send",
        "spring-seasonal",
        "--transport",
        &server.url(),
    ]);
    assert_eq!(again.code, 0, "{again:?}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(server.messages().len(), expected);
}

#[test]
fn a_shard_sends_only_its_customers_and_sharded_runs_keep_their_own_schedule_records() {
    let workspace = workspace();
    let config = workspace
        .read("xsell.toml")
        .replace("on_overlap = \"wait\"", "on_overlap = \"exit\"");
    workspace.write("xsell.toml", &config);
    let now = "2026-11-16T09:00:00Z";
    // Shard 2/2 is busy elsewhere on this machine: shard 1/2 does not wait for it.
    let other_shard = xsell::run_lock::RunLock::acquire(
        &workspace.path().join("state/xsell-shard-2-of-2.lock"),
        std::time::Duration::ZERO,
        "pid 4242, started 2026-11-16T09:00:00Z",
    )
    .unwrap();
    let busy = workspace.xsell(&["--now", now, "run", "--shard", "2/2"]);
    assert_eq!(busy.code, 75, "{busy:?}");
    let first = workspace.xsell(&[
        "--now",
        now,
        "--format",
        "json",
        "run",
        "--only",
        "new-arrivals-newsletter",
        "--shard",
        "1/2",
    ]);
    assert_eq!(first.code, 0, "{first:?}");
    let half = Shard { index: 1, count: 2 };
    let outbox = workspace.path().join("outbox/new-arrivals-newsletter");
    let customers: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .split('_')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(customers.len() > 100, "{}", customers.len());
    assert!(
        customers.iter().all(|c| half.contains(c)),
        "only shard 1/2's customers"
    );
    drop(other_shard);
    let second = workspace.xsell(&[
        "--now",
        now,
        "run",
        "--only",
        "new-arrivals-newsletter",
        "--shard",
        "2/2",
    ]);
    assert_eq!(second.code, 0, "{second:?}");
    let total = std::fs::read_dir(&outbox).unwrap().count();
    assert!(total > customers.len(), "shard 2/2 sent its own customers");
    // A shard that already ran its due time does not run it again.
    let repeat = workspace.xsell(&[
        "--now",
        now,
        "run",
        "--only",
        "new-arrivals-newsletter",
        "--shard",
        "1/2",
    ]);
    assert_eq!(repeat.code, 0, "{repeat:?}");
    assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), total);
    let runs = ledger(&workspace)
        .schedule_runs("new-arrivals-newsletter", 10)
        .unwrap();
    let shards: BTreeSet<&str> = runs.iter().map(|r| r.shard.as_str()).collect();
    assert_eq!(shards, BTreeSet::from(["1/2", "2/2"]), "{runs:?}");
    assert!(
        runs.iter()
            .all(|r| r.state == xsell::ledger::RunState::Done),
        "{runs:?}"
    );
}

/// What `plan --format json` says about each customer: their planned
/// message (lists, products, reasons, prices, offer) or why they were skipped.
fn plan_by_customer(
    workspace: &crate::support::Workspace,
    campaign: &str,
    now: &str,
    shard: Option<&str>,
) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut args = vec!["--now", now, "--format", "json", "plan", campaign];
    if let Some(shard) = shard {
        args.extend(["--shard", shard]);
    }
    let run = workspace.xsell(&args);
    assert_eq!(run.code, 0, "{run:?}");
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let mut by_customer: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for planned in plan["planned"].as_array().unwrap() {
        let id = planned["customer"]["id"].as_str().unwrap().to_string();
        by_customer.entry(id).or_default().push(planned.clone());
    }
    for skipped in plan["skipped"].as_array().unwrap() {
        let id = skipped["customer"].as_str().unwrap().to_string();
        by_customer.entry(id).or_default().push(skipped.clone());
    }
    by_customer
}

#[test]
fn shards_plan_exactly_what_the_whole_would_send_their_customers() {
    let workspace = workspace();
    // A purchase moment (cross-sell: complements learnt from everyone's
    // orders and views), a cart, a newsletter, and `source: auto` (its
    // choice, backtested on everyone's orders, is the same in every shard).
    for (campaign, now) in [
        ("post-purchase-completion", "2026-11-16T09:00:00Z"),
        ("reactivation", "2026-11-16T09:00:00Z"),
        ("cart-abandoned", "2026-11-16T09:00:00Z"),
        ("spring-seasonal", SPRING_NOW),
    ] {
        let whole = plan_by_customer(&workspace, campaign, now, None);
        assert!(whole.len() > 20, "{campaign}: {}", whole.len());
        let mut together = BTreeMap::new();
        for index in 1..=3 {
            let shard = Shard { index, count: 3 };
            let part = plan_by_customer(&workspace, campaign, now, Some(&shard.label()));
            assert!(!part.is_empty(), "{campaign} {}", shard.label());
            assert!(part.keys().all(|c| shard.contains(c)), "{campaign}");
            together.extend(part);
        }
        assert_eq!(together.len(), whole.len(), "{campaign}");
        for (customer, plan) in &whole {
            assert_eq!(Some(plan), together.get(customer), "{campaign}: {customer}");
        }
    }
}
