//! The ledger on both of its backends: every scenario runs on a SQLite file
//! and on a private PostgreSQL cluster (Debian's `postgresql`, started for
//! the tests with `initdb`/`pg_ctl` as the `postgres` user, on a free port
//! of 127.0.0.1, stopped when the test ends); then whole commands with
//! `[ledger] url`: shards and a rogue process sending one campaign to
//! smtp-sink exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use xsell::ledger::{CapVerdict, Claim, Ledger, MessageKey, PastSend, RunState, Scope, State};

use crate::peers;
use crate::support::*;

#[path = "../peers/postgres_cluster.rs"]
mod cluster;
pub use cluster::Cluster;

/// One backend for the scenarios: how to open a fresh ledger, reopen it
/// (another process), and change it behind the ledger's back.
struct Backend<'a> {
    name: &'static str,
    try_open: Box<dyn Fn() -> xsell::error::Result<Ledger> + 'a>,
    raw: Box<dyn Fn(&str) + 'a>,
}

impl Backend<'_> {
    fn open(&self) -> Ledger {
        (self.try_open)().unwrap()
    }
}

/// Runs `scenario` on a new SQLite ledger and a new PostgreSQL database.
fn on_both(cluster: &Cluster, scenario: &str, run: impl Fn(&Backend<'_>)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xsell.db");
    let sqlite = Backend {
        name: "sqlite",
        try_open: Box::new(|| Ledger::open(&path)),
        raw: Box::new(|sql| {
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(sql)
                .unwrap()
        }),
    };
    run(&sqlite);
    let url = cluster.database(scenario);
    let postgres = Backend {
        name: "postgres",
        try_open: Box::new(|| Ledger::open_postgres(&url, None)),
        raw: Box::new(|sql| cluster.sql(scenario, sql)),
    };
    run(&postgres);
}

fn key(customer: &str) -> MessageKey {
    MessageKey {
        campaign: "c".into(),
        customer: customer.into(),
        occurrence: "o".into(),
    }
}

fn allow(_: &[PastSend]) -> CapVerdict {
    CapVerdict::Allowed
}

#[test]
fn the_ledger_behaves_the_same_on_sqlite_and_postgresql() {
    let cluster = Cluster::start();

    on_both(&cluster, "claims", |b| {
        let mut ledger = b.open();
        let first = ledger
            .claim(&key("A"), "a@x.example", 1, 60, false, allow)
            .unwrap();
        assert_eq!(first, Claim::Granted { attempt: 1 }, "{}", b.name);
        // Another process sees the claim.
        let mut other = b.open();
        assert_eq!(
            other
                .claim(&key("A"), "a@x.example", 2, 60, false, allow)
                .unwrap(),
            Claim::AlreadyHandled(State::Claimed),
            "{}",
            b.name
        );
        ledger.mark_sent(&key("A"), "<m1@x>", 3).unwrap();
        let row = other.message(&key("A")).unwrap().unwrap();
        assert_eq!(
            (row.state, row.message_id.as_deref()),
            (State::Sent, Some("<m1@x>"))
        );
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 4, 60, false, allow)
                .unwrap(),
            Claim::AlreadyHandled(State::Sent)
        );
        assert_eq!(other.state_counts("c").unwrap(), vec![(State::Sent, 1)]);
    });

    on_both(&cluster, "caps", |b| {
        let mut ledger = b.open();
        let other = MessageKey {
            campaign: "other".into(),
            ..key("A")
        };
        ledger
            .claim(&other, "a@x.example", 1_000, 86_400, false, allow)
            .unwrap();
        ledger.mark_sent(&other, "<m>", 1_000).unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let claim = ledger
            .claim(&key("A"), "a@x.example", 2_000, 86_400, false, |sends| {
                *seen.lock().unwrap() = sends.to_vec();
                CapVerdict::Defer {
                    reason: "at most 1 in 1d".into(),
                    until: 87_400,
                }
            })
            .unwrap();
        assert_eq!(seen.lock().unwrap().len(), 1, "{}", b.name);
        assert!(matches!(claim, Claim::Capped(_)));
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 3_000, 86_400, false, allow)
                .unwrap(),
            Claim::NotYet { until: 87_400 }
        );
        assert_eq!(ledger.sends_of("A", 0).unwrap().len(), 1);
    });

    on_both(&cluster, "failures", |b| {
        let mut ledger = b.open();
        ledger
            .claim(&key("A"), "a@x.example", 1, 60, false, allow)
            .unwrap();
        ledger
            .mark_failed(&key("A"), "a@x.example", "550 no such user", true, 2)
            .unwrap();
        assert_eq!(
            ledger.suppression_of("A@x.example").unwrap().as_deref(),
            Some("bounced")
        );
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 3, 60, false, allow)
                .unwrap(),
            Claim::AlreadyHandled(State::Failed),
            "{}",
            b.name
        );
        ledger
            .claim(&key("B"), "b@x.example", 1, 60, false, allow)
            .unwrap();
        ledger
            .mark_failed(&key("B"), "b@x.example", "451 later", false, 2)
            .unwrap();
        assert_eq!(
            ledger
                .claim(&key("B"), "b@x.example", 3, 60, false, allow)
                .unwrap(),
            Claim::Granted { attempt: 2 }
        );
        // A failure without a claim (a panic before it) is a new row.
        ledger
            .mark_failed(&key("C"), "c@x.example", "panic", false, 4)
            .unwrap();
        assert_eq!(
            ledger.message(&key("C")).unwrap().unwrap().state,
            State::Failed
        );
    });

    on_both(&cluster, "abandoned", |b| {
        let mut ledger = b.open();
        ledger
            .claim(&key("A"), "a@x.example", 1, 60, false, allow)
            .unwrap();
        (b.raw)("UPDATE messages SET owner = '0:1'");
        let mut again = b.open();
        assert_eq!(again.unconfirmed(None).unwrap().len(), 1, "{}", b.name);
        assert_eq!(
            again
                .claim(&key("A"), "a@x.example", 2, 60, false, allow)
                .unwrap(),
            Claim::AlreadyHandled(State::Claimed)
        );
        assert_eq!(
            again
                .claim(&key("A"), "a@x.example", 3, 60, true, allow)
                .unwrap(),
            Claim::Granted { attempt: 2 }
        );
    });

    on_both(&cluster, "schedule", |b| {
        let mut ledger = b.open();
        assert!(
            ledger
                .begin_schedule_run("news", "1/2", 1_000, 1_001)
                .unwrap()
        );
        assert!(
            !ledger
                .begin_schedule_run("news", "1/2", 1_000, 1_002)
                .unwrap()
        );
        assert!(
            ledger
                .begin_schedule_run("news", "2/2", 1_000, 1_002)
                .unwrap(),
            "{}",
            b.name
        );
        (b.raw)("UPDATE schedule_runs SET owner = '0:1' WHERE shard = '1/2'");
        assert!(
            ledger
                .begin_schedule_run("news", "1/2", 1_000, 1_003)
                .unwrap()
        );
        ledger
            .finish_schedule_run("news", "1/2", 1_000, RunState::Done, "sent 3", 1_004)
            .unwrap();
        assert_eq!(
            ledger.last_schedule_run("news", "1/2").unwrap(),
            Some(1_000)
        );
        assert_eq!(ledger.last_schedule_run("news", "2/2").unwrap(), None);
        assert_eq!(ledger.schedule_runs("news", 10).unwrap().len(), 2);
    });

    on_both(&cluster, "return_path", |b| {
        let mut ledger = b.open();
        ledger
            .claim(&key("A"), "A@x.example", 1, 60, false, allow)
            .unwrap();
        ledger.mark_sent(&key("A"), "<m>", 2).unwrap();
        assert!(ledger.has_mailed("a@X.example").unwrap(), "{}", b.name);
        assert_eq!(
            ledger.email_of("A", "c").unwrap().as_deref(),
            Some("A@x.example")
        );
        assert!(
            ledger
                .unsubscribe("a@x.example", &Scope::Campaign("c".into()), "c", "page", 10)
                .unwrap()
        );
        assert!(
            !ledger
                .unsubscribe("a@x.example", &Scope::Campaign("c".into()), "c", "page", 11)
                .unwrap()
        );
        assert_eq!(
            ledger.is_unsubscribed("a@x.example", "c").unwrap(),
            (false, true)
        );
        assert_eq!(ledger.campaign_opt_outs("c").unwrap().len(), 1);
        assert!(
            ledger
                .resubscribe("a@x.example", &Scope::Campaign("c".into()), &["page"], 5)
                .unwrap()
        );
        let (count, suppressed) = ledger
            .record_soft_bounce("a@x.example", "4.2.2", "inbound", 20, 2, 0)
            .unwrap();
        assert_eq!((count, suppressed), (1, false));
        let (count, suppressed) = ledger
            .record_soft_bounce("a@x.example", "4.2.2", "inbound", 21, 2, 0)
            .unwrap();
        assert_eq!((count, suppressed), (2, true));
        assert_eq!(ledger.departures().unwrap().len(), 0, "no campaign named");
        // A whole import is one transaction: all or nothing.
        let failed = ledger.in_transaction(|l| {
            l.suppress("x@x.example", "manual", "import", 30)?;
            Err::<(), _>(xsell::error::Error::usage("line 2 is bad"))
        });
        assert!(failed.is_err());
        assert_eq!(
            ledger.suppression_of("x@x.example").unwrap(),
            None,
            "{}",
            b.name
        );
    });

    on_both(&cluster, "contents", |b| {
        let mut ledger = b.open();
        let contents = xsell::ledger::Contents {
            moment_at: 5,
            shown: vec![xsell::ledger::Shown {
                list: "l".into(),
                source: "bestsellers".into(),
                product: "P1".into(),
            }],
            ..Default::default()
        };
        ledger
            .record_held_out(&key("H"), "h@x.example", Some(&contents), 10)
            .unwrap();
        let rows = ledger.report_rows(Some("c"), 0, 100).unwrap();
        assert_eq!(rows.len(), 1, "{}", b.name);
        assert_eq!(rows[0].contents.as_ref(), Some(&contents));
        assert_eq!(ledger.report_rows(None, 0, 100).unwrap().len(), 1);
        let history = ledger.history("c", 0).unwrap();
        assert!(format!("{history:?}").contains("H"), "{}", b.name);
    });

    on_both(&cluster, "versions", |b| {
        let ledger = b.open();
        let version = ledger.schema_version().unwrap();
        assert!(version >= 1);
        drop(ledger);
        if b.name == "sqlite" {
            (b.raw)("PRAGMA user_version = 99");
        } else {
            (b.raw)("UPDATE xsell_schema SET version = 99");
        }
        let refused = (b.try_open)().err().expect("a newer ledger is refused");
        assert!(
            refused.to_string().contains("newer than this xsell knows"),
            "{}: {refused}",
            b.name
        );
    });
}

/// The planned recipients of `campaign` at `now`: (customer id, email), in plan order.
fn planned(workspace: &Workspace, campaign: &str, now: &str) -> Vec<(String, String)> {
    let run = workspace.xsell(&["--now", now, "--format", "json", "plan", campaign]);
    let plan: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{run:?}"));
    plan["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["customer"]["id"].as_str().unwrap().to_string(),
                m["customer"]["email"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Four shard processes and a rogue repeat of one share a PostgreSQL ledger
/// and send a campaign to smtp-sink; one shard is killed with SIGKILL and
/// run again; `xsell listen` (on the same database) records unsubscribes
/// before and during the sends.
#[test]
fn shards_on_postgresql_send_once_through_a_kill_and_unsubscribes() {
    use xsell::shard::Shard;
    let cluster = Cluster::start();
    let url = cluster.database("shop");
    let server = peers::smtp_sink();
    let workspace = crate::send_cli::workspace();
    let config = workspace
        .read("xsell.toml")
        .replace("path = \"state/xsell.db\"", &format!("url = \"{url}\""));
    assert!(config.contains(&url));
    workspace.write("xsell.toml", &config);
    let now = crate::send_cli::SPRING_NOW;
    let campaign = "spring-seasonal";
    let recipients = planned(&workspace, campaign, now);
    assert!(recipients.len() >= 2_000, "{}", recipients.len());

    let listen = crate::listen::Listen::start_with(&workspace, &["--rate-per-client", "1000"], &[]);
    let key = xsell::signing::SigningKey::new("xsell-tests-signing-key");
    let http = reqwest::blocking::Client::new();
    let one_click = |customer: &str| {
        let token = xsell::render::unsubscribe::token(&key, customer, campaign);
        let response = http
            .post(format!("{}/unsubscribe?token={token}", listen.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{customer}");
    };
    // Unsubscribed before any send: never mailed.
    let before: Vec<&(String, String)> = recipients.iter().rev().take(15).collect();
    for (customer, _) in &before {
        one_click(customer);
    }

    let send = |shard: &str| {
        workspace
            .command(&[
                "--now",
                now,
                "send",
                campaign,
                "--shard",
                shard,
                "--transport",
                &server.url(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let shards = ["1/4", "2/4", "3/4", "4/4", "2/4"];
    let mut children: Vec<_> = shards.iter().map(|s| send(s)).collect();
    // Unsubscribes while the shards send: mailed once at most.
    let during: Vec<&(String, String)> = recipients.iter().rev().skip(15).take(15).collect();
    for (customer, _) in &during {
        one_click(customer);
    }
    // Kill shard 3/4 mid-way, then run it again.
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.count() < 300 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = children[2].try_wait().unwrap().is_none();
    children[2].kill().unwrap(); // SIGKILL
    children[2].wait().unwrap();
    for (shard, child) in shards.iter().zip(children).filter(|(s, _)| **s != "3/4") {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "shard {shard}: {}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let rerun = send("3/4").wait_with_output().unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    std::thread::sleep(Duration::from_millis(500));

    let ids = server.message_ids();
    let twice = crate::send_cli::duplicates(&ids);
    assert!(twice.is_empty(), "{twice:?}");
    let ledger = Ledger::open_postgres(&url, None).unwrap();
    let sent = ledger
        .messages_in_state(Some(campaign), State::Sent)
        .unwrap();
    let unconfirmed = ledger.unconfirmed(Some(campaign)).unwrap();
    let unsubscribed: BTreeSet<&str> = before
        .iter()
        .chain(&during)
        .map(|(customer, _)| customer.as_str())
        .collect();
    let handled: BTreeSet<&str> = sent
        .iter()
        .chain(&unconfirmed)
        .map(|r| r.key.customer.as_str())
        .collect();
    for (customer, _) in &recipients {
        assert!(
            handled.contains(customer.as_str()) || unsubscribed.contains(customer.as_str()),
            "{customer} was planned, and neither sent nor unsubscribed"
        );
    }
    let received: BTreeSet<String> = ids.iter().cloned().collect();
    for row in &sent {
        assert!(
            received.contains(row.message_id.as_ref().unwrap()),
            "{row:?}"
        );
    }
    assert!(received.len() <= sent.len() + unconfirmed.len());
    // Unsubscribed before: nothing reached them.
    let addresses: Vec<String> = server
        .messages()
        .iter()
        .filter_map(|m| peers::header(m, "To"))
        .collect();
    for (customer, email) in &before {
        assert!(!handled.contains(customer.as_str()), "{customer}");
        assert!(
            !addresses.iter().any(|a| a.contains(email.as_str())),
            "{email} was mailed"
        );
    }
    // Unsubscribed during: at most once.
    for (_, email) in &during {
        let mailed = addresses
            .iter()
            .filter(|a| a.contains(email.as_str()))
            .count();
        assert!(mailed <= 1, "{email}: {mailed}");
    }
    // No customer got two messages (the campaign's cap), and each belongs to one shard.
    let mut per_customer: BTreeMap<&str, usize> = BTreeMap::new();
    for row in sent.iter().chain(&unconfirmed) {
        *per_customer.entry(row.key.customer.as_str()).or_default() += 1;
    }
    assert!(per_customer.values().all(|n| *n == 1));
    let quarters: Vec<Shard> = (1..=4).map(|index| Shard { index, count: 4 }).collect();
    for customer in per_customer.keys() {
        assert_eq!(quarters.iter().filter(|s| s.contains(customer)).count(), 1);
    }
    assert!(killed, "shard 3/4 was still sending when killed");
}
