//! `xsell run` from "cron": a simulated week at a 15-minute cadence, as real
//! processes, against Postfix's smtp-sink, on a generated shop whose events
//! arrive as the week goes by (moments only count data before `--now`).
//!
//! Along the way: a two-hour gap (the catch-up policy runs the missed
//! digest), a longer gap (the digest is too late: skipped and recorded), two
//! overlapping invocations, and a `kill -9` in the middle of a run. At the
//! end the ledger and the server's mailbox must agree that every newsletter
//! went out at its due time, every moment was handled once, nothing was sent
//! twice or lost, and no customer got more than the global caps allow.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use xsell::config::Config;
use xsell::ledger::{Ledger, State};

use crate::peers;
use crate::support::*;

const START: &str = "2026-11-09T09:00:00Z";
const END: &str = "2026-11-16T09:00:00Z";

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// A digest every day at 07:00 UTC that catches up every missed day, unless more than 90 minutes late.
const DIGEST: &str = r#"
id: daily-digest
template: new_arrivals.mjml
subject: "Today at Maison Demo"
schedule: "0 7 * * *"
timezone: UTC
catch_up: all
max_lateness: 90m
lists:
  new:
    source: bestsellers
    limit: 3
"#;

fn week_workspace() -> Workspace {
    let workspace = Workspace::empty();
    for item in ["xsell.toml", "campaigns", "templates"] {
        copy_tree(&repo().join(item), &workspace.path().join(item));
    }
    let config = workspace
        .read("xsell.toml")
        .replace("rate = 200 ", "# rate = 200 ");
    workspace.write("xsell.toml", &config);
    workspace.write("campaigns/daily-digest.yaml", DIGEST);
    let options = xsell::generate::GenerateOptions {
        seed: 7,
        customers: 300,
        end: time(END),
        days: 60,
    };
    xsell::generate::generate(&options, &workspace.path().join("fixtures")).unwrap();
    workspace
}

#[test]
fn a_week_of_cron_runs() {
    let server = peers::smtp_sink();
    let workspace = week_workspace();
    let url = server.url();
    let run_at = |at: DateTime<Utc>| {
        let now = at.to_rfc3339();
        let run = workspace.xsell(&["--now", &now, "run", "--transport", &url]);
        assert_eq!(run.code, 0, "run at {now}: {run:?}");
        run
    };
    // Two gaps: 06:15–07:45 on Thursday (the 07:00 digest runs at 08:00, 1 h late),
    // and 07:00–08:45 on Saturday (at 09:00 it is 2 h late: stale).
    let skipped_slots = |t: DateTime<Utc>| {
        (t > time("2026-11-12T06:00:00Z") && t < time("2026-11-12T08:00:00Z"))
            || (t > time("2026-11-14T06:45:00Z") && t < time("2026-11-14T09:00:00Z"))
    };
    let mut t = time(START);
    let mut runs = 0;
    let mut killed_after = 0;
    while t <= time(END) {
        if !skipped_slots(t) {
            if t == time("2026-11-11T12:00:00Z") {
                // Two invocations at once (cron and an operator): the second waits for the first.
                let now = t.to_rfc3339();
                let spawn = || {
                    workspace
                        .command(&["--now", &now, "run", "--transport", &url])
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap()
                };
                let (a, b) = (spawn(), spawn());
                let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
                assert!(a.status.success() && b.status.success(), "{a:?}\n{b:?}");
            } else if t == time("2026-11-16T08:00:00Z") {
                // The weekly newsletter's run, killed with SIGKILL as soon as it is sending; the next run carries on.
                let before = server.count();
                let mut child = workspace
                    .command(&["--now", &t.to_rfc3339(), "run", "--transport", &url])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let deadline = std::time::Instant::now() + Duration::from_secs(20);
                while server.count() == before
                    && child.try_wait().unwrap().is_none()
                    && std::time::Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                assert!(
                    child.try_wait().unwrap().is_none(),
                    "the run was still sending when killed"
                );
                child.kill().unwrap();
                child.wait().unwrap();
                killed_after = server.wait_for(before + 1) - before;
            } else {
                run_at(t);
            }
            runs += 1;
        }
        t += TimeDelta::minutes(15);
    }
    assert!(runs > 650, "{runs} runs");
    assert!(
        killed_after >= 1,
        "the kill came after the first message of the run"
    );
    std::thread::sleep(Duration::from_millis(500));

    let config = Config::load(workspace.path()).unwrap();
    let ledger = Ledger::open(&config.ledger_path).unwrap();
    let received = server.messages();
    let ids: Vec<String> = received
        .iter()
        .filter_map(|m| peers::header(m, "Message-ID"))
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a message arrived twice");

    // Nothing lost: what the ledger says was sent is at the server; claims the kill left unconfirmed are listed.
    let mut sent_rows = Vec::new();
    for campaign in [
        "post-purchase-completion",
        "cart-abandoned",
        "browse-historical-fiction",
        "support-resolved-upgrade",
        "usage-milestone-20-workouts",
        "tier-reached",
        "reactivation",
        "new-arrivals-newsletter",
        "daily-digest",
    ] {
        sent_rows.extend(
            ledger
                .messages_in_state(Some(campaign), State::Sent)
                .unwrap(),
        );
    }
    let unconfirmed = ledger.unconfirmed(None).unwrap();
    for row in &sent_rows {
        assert!(
            unique.contains(row.message_id.as_ref().unwrap()),
            "sent per the ledger, not at the server: {row:?}"
        );
    }
    assert!(
        ids.len() >= sent_rows.len() && ids.len() <= sent_rows.len() + unconfirmed.len(),
        "{} at the server, {} sent, {} unconfirmed",
        ids.len(),
        sent_rows.len(),
        unconfirmed.len()
    );
    assert!(
        sent_rows.len() > 200,
        "the week sent mail: {}",
        sent_rows.len()
    );

    // Newsletters at their due times: the weekly one on both Mondays, the digest every day, late or stale as planned.
    let runs_of = |campaign: &str| -> BTreeMap<String, (String, Option<String>)> {
        ledger
            .schedule_runs(campaign, 100)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    xsell::data::timestamp(r.due_at).to_rfc3339(),
                    (r.state.name().to_string(), r.detail),
                )
            })
            .collect()
    };
    let weekly = runs_of("new-arrivals-newsletter");
    assert_eq!(
        weekly.keys().cloned().collect::<Vec<_>>(),
        vec!["2026-11-09T08:00:00+00:00", "2026-11-16T08:00:00+00:00"]
    );
    assert!(
        weekly.values().all(|(state, _)| state == "done"),
        "{weekly:?}"
    );
    let digest = runs_of("daily-digest");
    // The 9th's was already 2 h old at the first run (09:00): stale, like the 14th's after the long gap.
    assert_eq!(digest.len(), 8, "{digest:?}");
    for (due, (state, detail)) in &digest {
        match due.as_str() {
            "2026-11-09T07:00:00+00:00" | "2026-11-14T07:00:00+00:00" => {
                assert_eq!(
                    (state.as_str(), detail.as_deref()),
                    ("skipped", Some("stale: 2h late, more than 90m"))
                );
            }
            _ => assert_eq!(state, "done", "{due}: {detail:?}"),
        }
    }
    // Each digest went out in the first run at or after its due time (the 12th's at 08:00, after the gap).
    let digest_times: BTreeSet<(String, i64)> = ledger
        .messages_in_state(Some("daily-digest"), State::Sent)
        .unwrap()
        .into_iter()
        .map(|r| (r.key.occurrence, r.updated_at))
        .collect();
    for (occurrence, sent_at) in &digest_times {
        let due = time(occurrence.trim_start_matches("newsletter:"));
        let expected = if due == time("2026-11-12T07:00:00Z") {
            time("2026-11-12T08:00:00Z")
        } else {
            due
        };
        assert_eq!(xsell::data::timestamp(*sent_at), expected, "{occurrence}");
    }

    // Every post-purchase moment of a consenting customer was handled once (one ledger row each).
    let store = xsell::data::load(&config.data, workspace.path())
        .unwrap()
        .store;
    let mut open_moments = 0;
    for order in store.orders() {
        let customer = store.customer(order.customer);
        let open_from = order.ts + 2 * 3600;
        let open_until = order.ts + 48 * 3600;
        // A 15-minute run happened while it was open, with the customer eligible.
        if order.gift
            || !customer.consent
            || open_until <= time(START).timestamp()
            || open_from > time(END).timestamp()
        {
            continue;
        }
        let key = xsell::ledger::MessageKey {
            campaign: "post-purchase-completion".into(),
            customer: customer.id.to_string(),
            occurrence: format!("order:{}", order.id),
        };
        let row = ledger.message(&key).unwrap();
        assert!(
            row.is_some(),
            "order {} of {} was never handled",
            order.id,
            customer.id
        );
        open_moments += 1;
    }
    assert!(open_moments > 20, "{open_moments}");

    // Caps over the whole week, per the ledger and per the mailbox: at most 2 in any 7 days, 16 h apart.
    let mut by_customer: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in sent_rows.iter().chain(unconfirmed.iter()) {
        by_customer
            .entry(row.key.customer.clone())
            .or_default()
            .push(row.updated_at);
    }
    check_caps("ledger", by_customer);
    let mut by_recipient: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for message in &received {
        let to = peers::header(message, "X-Rcpt-Args").unwrap();
        let date = DateTime::parse_from_rfc2822(&peers::header(message, "Date").unwrap())
            .unwrap()
            .timestamp();
        by_recipient.entry(to).or_default().push(date);
    }
    check_caps("mailbox", by_recipient);
}

fn check_caps(source: &str, sends: BTreeMap<String, Vec<i64>>) {
    for (who, mut times) in sends {
        times.sort_unstable();
        for (i, at) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|t| **t < at + 7 * 86_400)
                .count();
            assert!(
                in_window <= 2,
                "{source}: {who} got {in_window} messages in the 7 days from {at}: {times:?}"
            );
            if let Some(next) = times.get(i + 1) {
                assert!(
                    next - at >= 16 * 3600,
                    "{source}: {who} got two messages {}s apart",
                    next - at
                );
            }
        }
    }
}

#[test]
fn a_second_run_exits_with_75_when_told_not_to_wait() {
    let workspace = Workspace::example();
    let config = workspace
        .read("xsell.toml")
        .replace("on_overlap = \"wait\"", "on_overlap = \"exit\"");
    workspace.write("xsell.toml", &config);
    let lock = xsell::run_lock::RunLock::acquire(
        &workspace.path().join("state/xsell.lock"),
        Duration::ZERO,
        "pid 4242, started 2026-11-16T09:00:00Z",
    )
    .unwrap();
    let run = workspace.xsell(&["--now", "2026-11-16T09:00:00Z", "run"]);
    assert_eq!(run.code, 75, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "note: another xsell run is in progress (pid 4242, started 2026-11-16T09:00:00Z; lock {}): exiting (run.on_overlap = \"exit\")\n",
            workspace.path().join("state/xsell.lock").display()
        )
    );
    drop(lock);
    let run = workspace.xsell(&["--now", "2026-11-16T09:00:00Z", "run", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["campaign"] == "post-purchase-completion"
                && l["outcome"] == "sent"
                && l["report"]["sent"].as_u64().unwrap() > 0),
        "{}",
        run.stdout
    );
}
