//! Loading benchmark: how fast a large store loads and how much memory it
//! takes. Generates the 1M-customer store on first use (into
//! `target/bench-data/`, not committed), then loads it and prints rows/s and
//! peak RSS next to the size of the files.
//!
//! `cargo bench --bench load` (or `-- --customers N` for another size).

use std::path::{Path, PathBuf};
use std::time::Instant;

use xsell::config::Config;
use xsell::generate::{GenerateOptions, generate};

#[path = "support/mod.rs"]
mod support;
use support::peak_rss_kib;

fn main() {
    let customers = argument("--customers").unwrap_or(1_000_000);
    let dir = large_store(customers);
    let config = Config::parse(&dir, CONFIG).expect("config");
    let bytes: u64 = ["catalog.csv", "customers.csv", "events.csv"]
        .iter()
        .map(|f| {
            std::fs::metadata(dir.join("data").join(f))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    let before = peak_rss_kib();
    let started = Instant::now();
    let loaded = xsell::data::load(&config.data, &dir).expect("load");
    let seconds = started.elapsed().as_secs_f64();
    let store = &loaded.store;
    let rows = store.products().len() + store.customers().len() + store.events().len();
    let peak = peak_rss_kib();
    println!(
        "store: {} products, {} customers, {} events, {} orders",
        store.products().len(),
        store.customers().len(),
        store.events().len(),
        store.orders().len()
    );
    println!("files: {:.0} MiB", bytes as f64 / 1048576.0);
    println!(
        "load:  {seconds:.1} s, {:.2} M rows/s ({:.0} MiB/s)",
        rows as f64 / seconds / 1e6,
        bytes as f64 / 1048576.0 / seconds
    );
    println!(
        "peak RSS: {:.0} MiB (before loading {:.0} MiB), {:.2}× the size of the files",
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        peak as f64 * 1024.0 / bytes as f64
    );
}

const CONFIG: &str = r#"
[sender]
from = "Bench <bench@shop.example>"
[unsubscribe]
url = "https://shop.example/u?token={token}"
[data]
catalog = { path = "data/catalog.csv" }
customers = { path = "data/customers.csv" }
events = { path = "data/events.csv" }
"#;

fn argument(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

/// The generated store for `customers` customers, made once.
fn large_store(customers: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-data")
        .join(format!("store-{customers}"));
    if !dir.join("data/events.csv").exists() {
        eprintln!(
            "generating a {customers}-customer store in {} (once)…",
            dir.display()
        );
        let options = GenerateOptions {
            customers,
            ..GenerateOptions::default()
        };
        generate(&options, &dir.join("data")).expect("generate");
    }
    dir
}
