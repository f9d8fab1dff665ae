//! The ledger's backends under load: one campaign of a generated store sent
//! to Postfix's `smtp-sink` by 1, 2 and 4 shard processes at once, with the
//! ledger in SQLite and in PostgreSQL (a private cluster started here). Each
//! figure is the whole commands' wall time — load, plan, render, claim,
//! SMTP and confirm — from the first start to the last exit, and the
//! messages sent per second over it. Prints figures; asserts nothing.
//!
//! cargo bench --bench ledger [-- --customers 20000] [--backend sqlite|postgresql]
//! (needs `smtp-sink` from `postfix` and `postgresql`)

#[path = "support/mod.rs"]
mod support;

#[path = "../tests/peers/postgres_cluster.rs"]
mod cluster;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const NOW: &str = "2027-03-02T17:00:00Z";
const CAMPAIGN: &str = "spring-seasonal";

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn xsell(workspace: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xsell"));
    command
        .arg("--workspace")
        .arg(workspace)
        .env("XSELL_SECRET", "bench-signing-key");
    command
}

/// Sends the campaign with `shards` processes; (messages sent, seconds).
fn send(workspace: &Path, shards: u32, port: u16) -> (u64, f64) {
    let started = Instant::now();
    let children: Vec<_> = (1..=shards)
        .map(|index| {
            xsell(workspace)
                .args([
                    "--now", NOW, "--format", "json", "send", CAMPAIGN, "--shard",
                ])
                .arg(format!("{index}/{shards}"))
                .arg("--transport")
                .arg(format!("smtp://127.0.0.1:{port}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut sent = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        let summary: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("no JSON summary ({e}): {text}"));
        sent += summary["sent"].as_u64().unwrap_or(0);
    }
    (sent, started.elapsed().as_secs_f64())
}

fn main() {
    if Command::new("smtp-sink").arg("-h").output().is_err() {
        eprintln!("smtp-sink is not installed (apt-get install postfix); nothing measured");
        return;
    }
    let customers = argument("--customers").unwrap_or_else(|| "20000".to_string());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let generated = xsell(dir.path())
        .args(["generate", "--customers", &customers, "--out"])
        .arg(&data)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(generated.success());
    let cluster = cluster::Cluster::start();
    let sink = support::Sink::start();
    let port = sink.port;
    println!(
        "{CAMPAIGN} of a generated store of {customers} customers, to smtp-sink on 127.0.0.1, this machine's {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let only = argument("--backend");
    for backend in ["sqlite", "postgresql"]
        .into_iter()
        .filter(|b| only.as_deref().is_none_or(|o| o == *b))
    {
        for shards in [1, 2, 4] {
            let workspace = dir.path().join(format!("{backend}-{shards}"));
            std::fs::create_dir_all(&workspace).unwrap();
            support::write_config(&workspace, &data);
            if backend == "postgresql" {
                let name = format!("bench_{shards}");
                let url = cluster.database(&name);
                let mut config = std::fs::read_to_string(workspace.join("xsell.toml")).unwrap();
                config.push_str(&format!("\n[ledger]\nurl = \"{url}\"\n"));
                std::fs::write(workspace.join("xsell.toml"), config).unwrap();
            }
            let init = xsell(&workspace)
                .args(["ledger", "init"])
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(init.success());
            let (sent, seconds) = send(&workspace, shards, port);
            println!(
                "{backend:<10} {shards} shard process{}: {sent:>6} messages in {seconds:>5.1} s = {:>6.0} messages/s",
                if shards == 1 { "  " } else { "es" },
                sent as f64 / seconds
            );
        }
    }
    drop(sink);
}
