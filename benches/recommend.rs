//! Recommendation benchmark: build the models of a large store, then resolve
//! a campaign of three lists for every customer on all cores, and print the
//! wall time, the CPU time (how many cores were busy), the per-recipient
//! latency and the peak memory.
//!
//! `cargo bench --bench recommend -- --store /tmp/xsell-1m [--picks SOURCE]`
//! (the second list's source: `similar_customers` by default; `next_purchase`
//! or `auto` to time those), where the folder
//! holds `catalog.csv`, `customers.csv` and `events.csv` as written by
//! `xsell generate --customers 1000000 --out /tmp/xsell-1m` (generated there
//! first if missing; never commit it).

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use xsell::campaign::{self, CheckContext};
use xsell::config::Config;
use xsell::data::CustomerIx;
use xsell::generate::{GenerateOptions, generate};
use xsell::recommend::{ListResolver, Recommender};

/// Three lists, as a reactivation or newsletter campaign has them.
const CAMPAIGN: &str = "\
id: bench
name: Bench
template: reactivation.mjml
subject: Hello
lists:
  goes_with:
    source: cross_sell
    seed: recent_purchases
    limit: 3
    fallback:
      - { source: bestsellers, scope: most_represented_category }
      - { source: bestsellers }
  picks:
    source: similar_customers
    limit: 3
    fallback:
      - { source: bestsellers, scope: last_viewed_category }
  restock:
    source: order_reminders
    limit: 3
    on_empty: omit_block
";

#[path = "support/mod.rs"]
mod support;
use support::peak_rss_kib;

fn main() {
    let store_dir =
        argument("--store").map_or_else(|| PathBuf::from("/tmp/xsell-1m"), PathBuf::from);
    ensure_store(&store_dir);
    let config = Config::parse(&store_dir, CONFIG).expect("config");
    let started = Instant::now();
    let loaded = xsell::data::load(&config.data, &store_dir).expect("load");
    let store = &loaded.store;
    println!(
        "store: {} products, {} customers, {} events, {} orders (loaded in {:.1} s, not counted below)",
        store.products().len(),
        store.customers().len(),
        store.events().len(),
        store.orders().len(),
        started.elapsed().as_secs_f64()
    );
    let picks = argument("--picks").unwrap_or_else(|| "similar_customers".to_string());
    println!("second list: source {picks}");
    let campaign = bench_campaign(store, &picks);
    let now = store.last_event_ts().map_or(0, |t| t + 1);
    println!("threads: {}", rayon::current_num_threads());

    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let model = Recommender::build(store);
    let build = started.elapsed().as_secs_f64();
    let build_cpu = cpu_seconds() - cpu_before;
    println!(
        "models: {build:.1} s wall, {build_cpu:.1} s CPU ({:.2} cores busy)",
        build_cpu / build
    );

    let customers = store.customers().len() as CustomerIx;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let results: Vec<(u32, usize, bool)> = (0..customers)
        .into_par_iter()
        .map(|customer| {
            let one = Instant::now();
            let lists = model.resolve(store, &campaign, customer, None, now);
            let nanos = one.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32;
            let products = lists.iter().map(|l| l.items.len()).sum();
            let all_full = lists.iter().take(2).all(|l| l.items.len() == 3);
            (nanos, products, all_full)
        })
        .collect();
    let resolve = started.elapsed().as_secs_f64();
    let resolve_cpu = cpu_seconds() - cpu_before;
    let mut latencies: Vec<u32> = results.iter().map(|r| r.0).collect();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(latencies[i]) / 1000.0
    };
    let products: usize = results.iter().map(|r| r.1).sum();
    let full = results.iter().filter(|r| r.2).count();
    println!(
        "lists: {} customers × 3 lists in {resolve:.1} s wall, {resolve_cpu:.1} s CPU ({:.2} cores busy); {products} products picked; {full} customers got both 3-product lists full",
        customers,
        resolve_cpu / resolve
    );
    println!(
        "per recipient (3 lists): median {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        percentile(0.5),
        percentile(0.9),
        percentile(0.99),
        percentile(1.0)
    );
    println!(
        "total (models + every customer's lists): {:.1} s",
        build + resolve
    );
    println!("peak RSS: {:.0} MiB", peak_rss_kib() as f64 / 1024.0);
}

const CONFIG: &str = r#"
[sender]
from = "Bench <bench@shop.example>"
[unsubscribe]
url = "https://shop.example/u?token={token}"
[data]
catalog = { path = "catalog.csv" }
customers = { path = "customers.csv" }
events = { path = "events.csv" }
"#;

fn bench_campaign(store: &xsell::data::Store, picks: &str) -> campaign::Campaign {
    let display = Path::new("campaigns/bench.yaml");
    let text: std::sync::Arc<str> = CAMPAIGN
        .replace("source: similar_customers", &format!("source: {picks}"))
        .into();
    let raw = campaign::parse(display, &text).expect("campaign parses");
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let context = CheckContext {
        store: Some(store),
        templates_dir: &templates,
        shop_timezone: chrono_tz::Tz::UTC,
    };
    campaign::check::check_campaign(raw, display, &text, &context).expect("campaign checks")
}

fn ensure_store(dir: &Path) {
    if dir.join("events.csv").exists() {
        return;
    }
    eprintln!(
        "generating a 1,000,000-customer store in {} (once)…",
        dir.display()
    );
    let options = GenerateOptions {
        customers: 1_000_000,
        ..GenerateOptions::default()
    };
    generate(&options, dir).expect("generate the store");
}

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// User + system CPU time of this process so far, from /proc/self/stat (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
