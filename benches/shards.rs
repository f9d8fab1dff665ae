//! Benchmark: memory per shard. Loads a large generated store whole and as
//! each shard of N (`--shard K/N`), builds the models and plans every example
//! campaign, each in its own process, and prints each process's peak RSS,
//! its time, and whether the shards' plans put together are exactly the
//! whole's (a digest of every planned message and every skip, lists,
//! reasons, prices and offers included).
//!
//! ```sh
//! cargo run --release -- generate --customers 1000000 --out /tmp/xsell-1m
//! cargo bench --bench shards -- /tmp/xsell-1m [--shards 4]
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use xsell::history::MemoryHistory;
use xsell::plan::{PlanInputs, plan_campaign};
use xsell::recommend::Recommender;
use xsell::shard::Shard;
use xsell::signing::SigningKey;

#[path = "support/mod.rs"]
mod support;
use support::{peak_rss_kib, write_config};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let shard = match args[i + 1].as_str() {
            "whole" => None,
            text => Some(text.parse::<Shard>().expect("shard")),
        };
        child(Path::new(&args[i + 2]), shard);
        return;
    }
    let shards: u32 = args
        .iter()
        .position(|a| a == "--shards")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(4);
    let data = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-') && Path::new(a).is_dir())
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

    println!(
        "{:<10} {:>12} {:>9} {:>10} {:>10} {:>8} {:>10} {:>10}",
        "process", "peak RSS", "of whole", "loaded", "+models", "time", "planned", "skipped"
    );
    let whole = run_child(dir.path(), "whole");
    whole.print("whole", &whole);
    let mut together = Figures::default();
    let mut largest = 0u64;
    for index in 1..=shards {
        let label = Shard {
            index,
            count: shards,
        }
        .label();
        let part = run_child(dir.path(), &label);
        part.print(&format!("shard {label}"), &whole);
        largest = largest.max(part.peak_kib);
        together.planned += part.planned;
        together.skipped += part.skipped;
        together.digest = together.digest.wrapping_add(part.digest);
    }
    println!(
        "largest shard: {:.0}% of the whole process's peak RSS",
        100.0 * largest as f64 / whole.peak_kib as f64
    );
    let identical = (together.planned, together.skipped, together.digest)
        == (whole.planned, whole.skipped, whole.digest);
    println!(
        "shards' plans put together {} the whole's ({} planned, {} skipped)",
        if identical {
            "are exactly"
        } else {
            "DIFFER from"
        },
        together.planned,
        together.skipped
    );
    if !identical {
        std::process::exit(1);
    }
}

#[derive(Debug, Default)]
struct Figures {
    peak_kib: u64,
    /// The peak once the store is loaded, and once the models are built.
    after_load_kib: u64,
    after_models_kib: u64,
    seconds: f64,
    planned: u64,
    skipped: u64,
    /// Wrapping sum of each message's digest: independent of the order.
    digest: u64,
}

impl Figures {
    fn print(&self, name: &str, whole: &Figures) {
        println!(
            "{:<10} {:>8.0} MiB {:>8.0}% {:>6.0} MiB {:>6.0} MiB {:>6.1} s {:>10} {:>10}",
            name,
            self.peak_kib as f64 / 1024.0,
            100.0 * self.peak_kib as f64 / whole.peak_kib as f64,
            self.after_load_kib as f64 / 1024.0,
            self.after_models_kib as f64 / 1024.0,
            self.seconds,
            self.planned,
            self.skipped
        );
    }
}

fn run_child(workspace: &Path, shard: &str) -> Figures {
    let output = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--child", shard])
        .arg(workspace)
        .output()
        .expect("child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{shard}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let fields: Vec<&str> = stdout.split_whitespace().collect();
    Figures {
        peak_kib: fields[0].parse().unwrap(),
        after_load_kib: fields[1].parse().unwrap(),
        after_models_kib: fields[2].parse().unwrap(),
        seconds: fields[3].parse().unwrap(),
        planned: fields[4].parse().unwrap(),
        skipped: fields[5].parse().unwrap(),
        digest: fields[6].parse().unwrap(),
    }
}

/// One process: what `xsell send --shard K/N` holds before it renders —
/// the store, the models, every campaign's plan.
fn child(root: &Path, shard: Option<Shard>) {
    let started = Instant::now();
    let inspection = xsell::workspace::inspect_shard(root, shard);
    assert!(inspection.problems.is_empty(), "{}", inspection.problems);
    let store = &inspection.loaded.expect("data").store;
    let config = inspection.config.expect("config");
    let now = store.last_event_ts().expect("events");
    let after_load = peak_rss_kib();
    let recommender = Recommender::build_before(store, now);
    let after_models = peak_rss_kib();
    let key = SigningKey::new("bench");
    let inputs = PlanInputs {
        store,
        caps: &config.caps,
        signing_key: &key,
    };
    let mut figures = Figures::default();
    for campaign in &inspection.campaigns {
        let plan = plan_campaign(
            &inputs,
            campaign,
            now,
            Some(now),
            &MemoryHistory::new(),
            &recommender,
        );
        figures.planned += plan.planned.len() as u64;
        figures.skipped += plan.skipped.len() as u64;
        for message in &plan.planned {
            figures.digest = figures
                .digest
                .wrapping_add(digest(&campaign.id, &serde_json::to_vec(message).unwrap()));
        }
        for skip in &plan.skipped {
            figures.digest = figures
                .digest
                .wrapping_add(digest(&campaign.id, &serde_json::to_vec(skip).unwrap()));
        }
    }
    println!(
        "{} {after_load} {after_models} {:.1} {} {} {}",
        peak_rss_kib(),
        started.elapsed().as_secs_f64(),
        figures.planned,
        figures.skipped,
        figures.digest
    );
}

fn digest(campaign: &str, message: &[u8]) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(campaign.as_bytes());
    hasher.update([0]);
    hasher.update(message);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hasher.finalize()[..8]);
    u64::from_be_bytes(first)
}
