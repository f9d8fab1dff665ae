//! `xsell send` end to end, as real processes against real SMTP servers on
//! 127.0.0.1, with the example workspace: every message once, kill -9 at
//! random points, two senders at once, caps across processes.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use xsell::ledger::{Ledger, State};

use crate::peers;
use crate::support::*;

/// Spring, in March at 17:00 UTC: every time zone of the fixtures is awake; about 2,300 recipients.
pub(crate) const SPRING_NOW: &str = "2027-03-02T17:00:00Z";

/// The example workspace with no rate limit (tests need speed, not politeness).
pub(crate) fn workspace() -> Workspace {
    let workspace = Workspace::example();
    let config = workspace
        .read("xsell.toml")
        .replace("rate = 200 ", "# rate = 200 ");
    workspace.write("xsell.toml", &config);
    workspace
}

pub(crate) fn duplicates(ids: &[String]) -> Vec<String> {
    let mut seen = BTreeMap::new();
    for id in ids {
        *seen.entry(id.clone()).or_insert(0) += 1;
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id)
        .collect()
}

pub(crate) fn ledger(workspace: &Workspace) -> Ledger {
    Ledger::open(&workspace.path().join("state/xsell.db")).unwrap()
}

pub(crate) fn planned_count(workspace: &Workspace, campaign: &str, now: &str) -> u64 {
    let run = workspace.xsell(&["--now", now, "--format", "json", "plan", campaign]);
    let plan: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{run:?}"));
    plan["summary"]["planned"].as_u64().unwrap_or_else(|| {
        panic!(
            "no summary.planned in {}",
            &run.stdout[..run.stdout.len().min(400)]
        )
    })
}

#[test]
fn every_message_arrives_once_and_a_rerun_sends_nothing() {
    let server = peers::smtp_sink();
    let workspace = workspace();
    let expected = planned_count(
        &workspace,
        "post-purchase-completion",
        "2026-11-16T09:00:00Z",
    );
    assert!(expected > 50, "the example has recipients: {expected}");
    let run = workspace.xsell(&[
        "--now",
        "2026-11-16T09:00:00Z",
        "send",
        "post-purchase-completion",
        "--transport",
        &server.url(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("  sent          {expected}\n")),
        "{run:?}"
    );
    assert_eq!(server.wait_for(expected as usize), expected as usize);
    let ids = server.message_ids();
    assert!(duplicates(&ids).is_empty());
    let sent: BTreeSet<String> = ledger(&workspace)
        .messages_in_state(Some("post-purchase-completion"), State::Sent)
        .unwrap()
        .into_iter()
        .filter_map(|r| r.message_id)
        .collect();
    assert_eq!(
        sent,
        ids.iter().cloned().collect::<BTreeSet<_>>(),
        "the server has exactly what the ledger says was sent"
    );

    let again = workspace.xsell(&[
        "--now",
        "2026-11-16T09:00:00Z",
        "send",
        "post-purchase-completion",
        "--transport",
        &server.url(),
    ]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("  sent          0\n"), "{again:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.messages().len(), expected as usize);
}

/// Kills the sender with SIGKILL at pseudo-random points of a ~2,300-message
/// send, ten times, rerunning after each. No message may arrive twice, and
/// every planned message is either at the server or listed as unconfirmed.
#[test]
fn kill_9_at_random_points_loses_nothing_and_duplicates_nothing() {
    let server = peers::smtp_sink();
    let workspace = workspace();
    let expected = planned_count(&workspace, "spring-seasonal", SPRING_NOW) as usize;
    assert!(expected >= 2_000, "{expected}");
    let mut random = 0x2545F4914F6CDD1Du64;
    let mut kills = 0;
    for attempt in 0..10 {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let before = server.count();
        let mut child = workspace
            .command(&[
                "--now",
                SPRING_NOW,
                "send",
                "spring-seasonal",
                "--transport",
                &server.url(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until this attempt is sending, then kill it a little later.
        let start = Instant::now();
        while server.count() == before
            && start.elapsed() < Duration::from_secs(30)
            && child.try_wait().unwrap().is_none()
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(random % 150));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        let ids = server.message_ids();
        assert!(
            duplicates(&ids).is_empty(),
            "after attempt {attempt}: duplicates {:?}",
            duplicates(&ids)
        );
    }
    assert!(
        kills >= 5,
        "the sends were killed mid-way at least half the time ({kills})"
    );
    let finish = workspace.xsell(&[
        "--now",
        SPRING_NOW,
        "send",
        "spring-seasonal",
        "--transport",
        &server.url(),
    ]);
    assert_eq!(finish.code, 0, "{finish:?}");
    std::thread::sleep(Duration::from_millis(500));
    let received: BTreeSet<String> = server.message_ids().into_iter().collect();
    assert!(duplicates(&server.message_ids()).is_empty());

    let ledger = ledger(&workspace);
    let sent = ledger
        .messages_in_state(Some("spring-seasonal"), State::Sent)
        .unwrap();
    let unconfirmed = ledger.unconfirmed(Some("spring-seasonal")).unwrap();
    assert_eq!(
        sent.len() + unconfirmed.len(),
        expected,
        "every planned message is sent or listed as unconfirmed"
    );
    for row in &sent {
        assert!(
            received.contains(row.message_id.as_ref().unwrap()),
            "sent per the ledger but not at the server: {row:?}"
        );
    }
    // An unconfirmed claim may or may not have reached the server (killed between its 250 and the ledger write);
    // nothing else did.
    assert!(received.len() >= sent.len() && received.len() <= sent.len() + unconfirmed.len());
    if !unconfirmed.is_empty() {
        assert!(
            finish.stdout.contains(&format!(
                "unconfirmed   {} claims of an earlier run were never confirmed",
                unconfirmed.len()
            )),
            "{finish:?}"
        );
    }
}

#[test]
fn two_senders_at_once_never_send_the_same_message() {
    let server = peers::smtp_sink();
    let workspace = workspace();
    let expected = planned_count(&workspace, "spring-seasonal", SPRING_NOW) as usize;
    let spawn = || {
        workspace
            .command(&[
                "--now",
                SPRING_NOW,
                "send",
                "spring-seasonal",
                "--transport",
                &server.url(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let (first, second) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    assert!(
        first.status.success() && second.status.success(),
        "{first:?} {second:?}"
    );
    assert_eq!(server.wait_for(expected), expected);
    std::thread::sleep(Duration::from_millis(300));
    let ids = server.message_ids();
    assert_eq!(ids.len(), expected);
    assert!(duplicates(&ids).is_empty());
    let sent = |output: &std::process::Output| {
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text
            .lines()
            .find(|l| l.starts_with("  sent "))
            .unwrap()
            .to_string();
        line.split_whitespace()
            .last()
            .unwrap()
            .parse::<usize>()
            .unwrap()
    };
    assert_eq!(
        sent(&first) + sent(&second),
        expected,
        "between them they sent each message once"
    );
}

/// Two campaigns at the same customers within the cap window, sent by two
/// processes at once: the global caps (2 per 7 days, 16 h apart) hold.
#[test]
fn caps_hold_across_two_processes() {
    let server = peers::smtp_sink();
    let workspace = workspace();
    // A second newsletter to everyone, like spring.
    let spring = workspace.read("campaigns/spring-seasonal.yaml");
    workspace.write(
        "campaigns/spring-bis.yaml",
        &spring.replace("id: spring-seasonal", "id: spring-bis"),
    );
    // Holdouts differ per campaign (seeded by the campaign id), so the two plans differ a little.
    let (planned, held_out) = ["spring-seasonal", "spring-bis"]
        .iter()
        .map(|campaign| planned_and_held_out(&workspace, campaign, SPRING_NOW))
        .fold((0, 0), |(p, h), (planned, held)| (p + planned, h + held));
    let spawn = |campaign: &str| {
        workspace
            .command(&[
                "--now",
                SPRING_NOW,
                "send",
                campaign,
                "--transport",
                &server.url(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("spring-seasonal"), spawn("spring-bis"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
    std::thread::sleep(Duration::from_millis(500));
    // At most one message per customer: the 16 h minimum gap forbids a second one now.
    let mut per_recipient: BTreeMap<String, usize> = BTreeMap::new();
    for message in server.messages() {
        let to = peers::header(&message, "X-Rcpt-Args").unwrap();
        *per_recipient.entry(to).or_default() += 1;
    }
    assert!(!per_recipient.is_empty());
    let over: Vec<_> = per_recipient.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        over.is_empty(),
        "customers mailed twice within 16 h: {over:?}"
    );
    let ledger = ledger(&workspace);
    let capped = ledger
        .messages_in_state(None, State::Skipped)
        .unwrap()
        .into_iter()
        .filter(|r| r.reason.as_deref().is_some_and(|r| r.starts_with("capped")))
        .count()
        + ledger
            .messages_in_state(None, State::Deferred)
            .unwrap()
            .len();
    let sent: usize = per_recipient.values().sum();
    // The holdout is drawn after the caps: a moment the plan held out may
    // be recorded as capped instead when the other process mailed the
    // customer first. Every moment is still accounted for exactly once.
    let recorded_held_out = ledger
        .messages_in_state(None, State::HeldOut)
        .unwrap()
        .len();
    assert!(sent <= planned && recorded_held_out <= held_out);
    assert_eq!(
        sent + capped + recorded_held_out,
        planned + held_out,
        "every planned or held-out moment is sent, capped or held out"
    );
}

/// What `plan` counts as planned and as held out.
fn planned_and_held_out(workspace: &Workspace, campaign: &str, now: &str) -> (usize, usize) {
    let run = workspace.xsell(&[
        "--now", now, "--format", "json", "plan", campaign, "--limit", "0",
    ]);
    let plan: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{run:?}"));
    let held_out = plan["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reason"] == "held out")
        .map_or(0, |r| r["count"].as_u64().unwrap());
    (
        plan["summary"]["planned"].as_u64().unwrap() as usize,
        held_out as usize,
    )
}

#[test]
fn a_test_copy_goes_to_the_designer_and_is_not_recorded() {
    let server = peers::smtp_sink();
    let workspace = workspace();
    let run = workspace.xsell(&[
        "--now",
        "2026-11-16T09:00:00Z",
        "send",
        "post-purchase-completion",
        "--to",
        "designer@shop.example",
        "--transport",
        &server.url(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("sent a test copy of C"), "{run:?}");
    assert!(
        run.stdout.trim_end().ends_with("to designer@shop.example"),
        "{run:?}"
    );
    assert_eq!(server.wait_for(1), 1);
    let message = &server.messages()[0];
    assert_eq!(
        peers::header(message, "X-Rcpt-Args").as_deref(),
        Some("<designer@shop.example>")
    );
    assert!(peers::header(message, "Subject").is_some());
    // Nothing in the ledger: the customer's moment is still to be sent.
    assert!(
        ledger(&workspace)
            .messages_in_state(None, State::Sent)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn schedule_lists_next_due_times_and_last_runs() {
    let workspace = workspace();
    let run = workspace.xsell(&[
        "--now",
        "2026-11-16T09:00:00Z",
        "run",
        "--only",
        "new-arrivals-newsletter",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = workspace.xsell(&[
        "--now",
        "2026-11-16T09:00:00Z",
        "--format",
        "json",
        "schedule",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let newsletter = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["campaign"] == "new-arrivals-newsletter")
        .unwrap();
    assert_eq!(newsletter["schedule"], "0 9 * * 1");
    assert_eq!(newsletter["timezone"], "Europe/Paris");
    assert_eq!(newsletter["next_due"], "2026-11-23T09:00:00+01:00");
    assert_eq!(newsletter["last_runs"][0]["state"], "done");
    assert_eq!(newsletter["last_runs"][0]["due_at"], 1_794_816_000); // 2026-11-16 09:00 Paris
    let cart = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["campaign"] == "cart-abandoned")
        .unwrap();
    assert_eq!(cart["next_due"], "2026-11-16T10:15:00+01:00");
    assert!(cart["last_runs"].as_array().unwrap().is_empty());
}
