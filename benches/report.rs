//! Benchmark: `xsell report` on a large generated store after a full send
//! of every example campaign. Prints figures; asserts nothing.
//!
//! ```sh
//! cargo run --release -- generate --customers 1000000 --out /tmp/xsell-1m
//! cargo bench --bench report -- /tmp/xsell-1m
//! ```
//!
//! The send happens eight days before the data ends (2026-11-08T09:00Z), so
//! every attribution window closes inside the data and each message's
//! outcome is really computed from the customer's events. What a full send
//! leaves in the ledger is written directly — every planned message claimed
//! and marked sent with its contents, every held-out moment with what it
//! would have shown — through the same ledger calls the send loop makes,
//! without rendering a million messages to disk.

use std::path::{Path, PathBuf};
use std::time::Instant;

use xsell::history::MemoryHistory;
use xsell::ledger::{CapVerdict, ClaimRequest, Ledger, MessageKey, Write};
use xsell::plan::{PlanInputs, SkipReason, compose, plan_campaign};
use xsell::recommend::Recommender;
use xsell::report::{self, Period};
use xsell::send::campaign::contents;
use xsell::signing::SigningKey;
use xsell::workspace::Workspace;

const SENT_AT: &str = "2026-11-08T09:00:00Z";

#[path = "support/mod.rs"]
mod support;
use support::write_config;

fn main() {
    let data = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/xsell-1m"));
    if !data.join("events.csv").is_file() {
        eprintln!(
            "no generated store in {}: run `cargo run --release -- generate --customers 1000000 --out {}` first",
            data.display(),
            data.display()
        );
        std::process::exit(1);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(dir.path(), &data);
    let started = Instant::now();
    let workspace = Workspace::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let store = &*workspace.store;
    println!(
        "load: {} customers, {} events in {:.1} s",
        store.customers().len(),
        store.events().len(),
        started.elapsed().as_secs_f64()
    );

    let now = chrono::DateTime::parse_from_rfc3339(SENT_AT)
        .unwrap()
        .timestamp();
    let started = Instant::now();
    let recommender = Recommender::build_before(store, now);
    let key = SigningKey::new("bench");
    let inputs = PlanInputs {
        store,
        caps: &workspace.config.caps,
        signing_key: &key,
    };
    let mut ledger = Ledger::open(&dir.path().join("state/xsell.db")).expect("ledger");
    let (mut sent, mut held) = (0usize, 0usize);
    for campaign in &workspace.campaigns {
        let plan = plan_campaign(
            &inputs,
            campaign,
            now,
            Some(now),
            &MemoryHistory::new(),
            &recommender,
        );
        let mut writes = Vec::new();
        for message in &plan.planned {
            let key = MessageKey {
                campaign: campaign.id.clone(),
                customer: store.customer(message.occurrence.customer).id.to_string(),
                occurrence: message.occurrence.key.clone(),
            };
            writes.push(Write::Claim(
                ClaimRequest {
                    key: key.clone(),
                    email: store
                        .customer(message.occurrence.customer)
                        .email
                        .to_string(),
                    now,
                    cap_window: 1,
                    resend_unconfirmed: false,
                    contents: Some(contents(store, message).to_json()),
                },
                Box::new(|_: &[xsell::ledger::PastSend]| CapVerdict::Allowed),
            ));
            writes.push(Write::Sent {
                key,
                message_id: format!("<{sent}@bench>"),
                now,
            });
            sent += 1;
            if writes.len() >= 20_000 {
                ledger.write(std::mem::take(&mut writes)).expect("write");
            }
        }
        ledger.write(writes).expect("write");
        for skipped in plan
            .skipped
            .iter()
            .filter(|s| s.reason == SkipReason::HeldOut)
        {
            let customer = store.customer(skipped.occurrence.customer);
            let key = MessageKey {
                campaign: campaign.id.clone(),
                customer: customer.id.to_string(),
                occurrence: skipped.occurrence.key.clone(),
            };
            let shown = compose(
                &inputs,
                campaign,
                skipped.occurrence.clone(),
                now,
                &recommender,
            )
            .ok()
            .map(|m| contents(store, &m));
            ledger
                .record_held_out(&key, &customer.email, shown.as_ref(), now)
                .expect("held out");
            held += 1;
        }
    }
    println!(
        "full send of {} campaigns at {SENT_AT}, recorded: {sent} messages sent, {held} held out ({:.1} s)",
        workspace.campaigns.len(),
        started.elapsed().as_secs_f64()
    );

    for round in 1..=3 {
        let started = Instant::now();
        let period = Period {
            since: i64::MIN,
            until: i64::MAX,
            data_until: store.last_event_ts(),
        };
        let built = report::from_ledger(Some(&ledger), store, &workspace.campaigns, None, period)
            .expect("report");
        let seconds = started.elapsed().as_secs_f64();
        let measured: u64 = built
            .campaigns
            .iter()
            .map(|c| c.sent + c.held_out - c.pending)
            .sum();
        let html = report::html::render(&built);
        println!(
            "report {round}: {} campaigns, {measured} messages measured, {:.2} s ({:.0} messages/s), HTML {} KB",
            built.campaigns.len(),
            seconds,
            measured as f64 / seconds,
            html.len() / 1024
        );
    }
    // The whole command (loading included), as an analyst runs it.
    drop(ledger);
    let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/xsell");
    if binary.is_file() {
        let started = Instant::now();
        let status = std::process::Command::new(&binary)
            .arg("--workspace")
            .arg(dir.path())
            .args(["report", "--html"])
            .arg(dir.path().join("report.html"))
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run xsell report");
        println!(
            "`xsell report --html` as a command (load + report + page): {:.1} s, {status}",
            started.elapsed().as_secs_f64()
        );
    }
}
