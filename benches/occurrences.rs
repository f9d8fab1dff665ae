//! Benchmark: the open occurrences of every example campaign, and the whole
//! plan of each, on a large generated store. Prints figures; asserts nothing.
//!
//! ```sh
//! cargo run --release -- generate --customers 1000000 --out /tmp/xsell-1m
//! cargo bench --bench occurrences -- /tmp/xsell-1m
//! ```
//!
//! The campaigns and templates are the repository's; `now` is the
//! generator's default end (2026-11-16T09:00:00Z), and March 2027 for the
//! seasonal campaign. Plans use the recommender (models built once per
//! `now`, timed apart) and an empty history.

use std::path::{Path, PathBuf};
use std::time::Instant;

use xsell::campaign::Campaign;
use xsell::history::MemoryHistory;
use xsell::plan::{PlanInputs, plan_campaign};
use xsell::recommend::Recommender;
use xsell::signing::SigningKey;
use xsell::trigger;
use xsell::workspace::Workspace;

const NOW: &str = "2026-11-16T09:00:00Z";
const SPRING: &str = "2027-03-05T09:00:00Z";

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
    let workspace_dir = tempfile::tempdir().expect("temp dir");
    write_config(workspace_dir.path(), &data);

    let started = Instant::now();
    let workspace = Workspace::open(workspace_dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let store = &*workspace.store;
    println!(
        "load: {} customers, {} events, {} orders in {:.2} s",
        store.customers().len(),
        store.events().len(),
        store.orders().len(),
        started.elapsed().as_secs_f64()
    );
    let at_now = models(store, at(NOW));
    let in_spring = models(store, at(SPRING));
    println!();
    println!(
        "{:<30} {:>10} {:>14} {:>9} {:>12}",
        "campaign", "moments", "occurrences s", "planned", "plan s"
    );
    let key = SigningKey::new("bench");
    let inputs = PlanInputs {
        store,
        caps: &workspace.config.caps,
        signing_key: &key,
    };
    let history = MemoryHistory::new();
    let mut total_occurrences = 0.0;
    for campaign in &workspace.campaigns {
        let now = at(if campaign.id == "spring-seasonal" {
            SPRING
        } else {
            NOW
        });
        let started = Instant::now();
        let found = occurrences(store, campaign, now);
        let occurrence_seconds = started.elapsed().as_secs_f64();
        total_occurrences += occurrence_seconds;

        let resolver = if campaign.id == "spring-seasonal" {
            &in_spring
        } else {
            &at_now
        };
        let started = Instant::now();
        let plan = plan_campaign(&inputs, campaign, now, Some(now), &history, resolver);
        let plan_seconds = started.elapsed().as_secs_f64();
        println!(
            "{:<30} {:>10} {:>14.3} {:>9} {:>12.3}",
            campaign.id,
            found,
            occurrence_seconds,
            plan.planned.len(),
            plan_seconds
        );
    }
    println!();
    println!("occurrences of all campaigns: {total_occurrences:.3} s");
}

/// The recommender learned before `now`, timed.
fn models(store: &xsell::data::Store, now: i64) -> Recommender {
    let started = Instant::now();
    let recommender = Recommender::build_before(store, now);
    println!(
        "recommender models before {}: {:.2} s",
        xsell::calendar::rfc3339(now),
        started.elapsed().as_secs_f64()
    );
    recommender
}

fn occurrences(store: &xsell::data::Store, campaign: &Campaign, now: i64) -> usize {
    match &campaign.trigger {
        Some(trigger) => trigger::occurrences(store, trigger, now).len(),
        None => trigger::newsletter(store, &trigger::newsletter_key(Some(now)), now).len(),
    }
}

fn at(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .timestamp()
}

fn write_config(dir: &Path, data: &Path) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = format!(
        r#"
campaigns = "{campaigns}"
templates = "{templates}"

[sender]
from = "Bench <bench@shop.example>"

[unsubscribe]
url = "https://shop.example/unsubscribe?token={{token}}"

[data]
catalog = {{ path = "{data}/catalog.csv" }}
customers = {{ path = "{data}/customers.csv" }}
events = {{ path = "{data}/events.csv" }}

[caps]
max = "2/7d"
min_gap = "16h"
quiet_hours = {{ start = "21:00", end = "08:00" }}
"#,
        campaigns = repo.join("campaigns").display(),
        templates = repo.join("templates").display(),
        data = data.display(),
    );
    std::fs::write(dir.join("xsell.toml"), config).expect("write xsell.toml");
}
