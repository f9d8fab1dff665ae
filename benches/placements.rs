//! The product-page placement served by `xsell listen` on a large
//! generated store: requests per second and latency (p50, p99) measured by
//! wrk on loopback (2 threads, 64 connections, on the same two cores as
//! the service), for anonymous visitors and for known customers (with the
//! API key), each request a random product (and customer); and the memory
//! the service holds. Prints figures; asserts nothing.
//!
//! cargo run --release -- generate --customers 1000000 --out /tmp/xsell-1m
//! cargo bench --bench placements -- /tmp/xsell-1m [--seconds 20]
//! (needs `wrk`: `apt-get install wrk`)

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "bench-api-key";

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// wrk's figures: requests/s, p50 and p99, answers that were not 2xx.
struct Figures {
    per_second: f64,
    p50: String,
    p99: String,
    non_2xx: u64,
    errors: String,
}

fn wrk(script: &Path, url: &str, seconds: u32) -> Figures {
    let output = Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(script)
        .arg(url)
        .output()
        .expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let find = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_string()))
    };
    Figures {
        per_second: find("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50: find("50%").unwrap_or_default(),
        p99: find("99%").unwrap_or_default(),
        non_2xx: find("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        errors: find("Socket errors:").unwrap_or_else(|| "none".into()),
    }
}

/// The first column of a CSV file, every `step`-th row.
fn ids(path: &Path, step: usize) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .step_by(step)
        .filter_map(|l| l.split(',').next().map(str::to_string))
        .collect()
}

fn lua_list(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(",")
}

/// Resident and peak memory of a process, in MiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed (apt-get install wrk); nothing measured");
        return;
    }
    let data = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--") && Path::new(a).is_dir())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/xsell-1m"));
    if !data.join("events.csv").exists() {
        eprintln!(
            "no generated store in {}: run `cargo run --release -- generate --customers 1000000 --out {}` first",
            data.display(),
            data.display()
        );
        return;
    }
    let seconds: u32 = argument("--seconds")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path();
    support::write_config(workspace, &data);
    let config = std::fs::read_to_string(workspace.join("xsell.toml")).unwrap();
    std::fs::write(
        workspace.join("xsell.toml"),
        format!(
            "placements = \"{}\"\n{config}",
            repo.join("placements").display()
        ),
    )
    .unwrap();

    let products = ids(&data.join("catalog.csv"), 1);
    let customers = ids(&data.join("customers.csv"), 100);
    let anonymous = workspace.join("anonymous.lua");
    std::fs::write(
        &anonymous,
        format!(
            "local products = {{{}}}\nrequest = function()\n  return wrk.format(\"GET\", \"/api/placements/product-page?product=\" .. products[math.random(#products)])\nend\n",
            lua_list(&products)
        ),
    )
    .unwrap();
    let known = workspace.join("known.lua");
    std::fs::write(
        &known,
        format!(
            "local products = {{{}}}\nlocal customers = {{{}}}\nwrk.headers[\"X-Api-Key\"] = \"{KEY}\"\nrequest = function()\n  return wrk.format(\"GET\", \"/api/placements/product-page?product=\" .. products[math.random(#products)] .. \"&customer=\" .. customers[math.random(#customers)])\nend\n",
            lua_list(&products),
            lua_list(&customers)
        ),
    )
    .unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let mut listen = Command::new(env!("CARGO_BIN_EXE_xsell"))
        .arg("--workspace")
        .arg(workspace)
        .args([
            "listen",
            "--port",
            &port.to_string(),
            "--rate-per-client",
            "10000000",
        ])
        .env("XSELL_SECRET", "bench-signing-key")
        .env("XSELL_API_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(600);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "xsell listen did not start");
        assert!(listen.try_wait().unwrap().is_none(), "xsell listen stopped");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (rss, _) = memory(listen.id());
    println!(
        "store {}: {} products, {} customers sampled; service ready in {:.1} s, holding {} MiB",
        data.display(),
        products.len(),
        customers.len(),
        started.elapsed().as_secs_f64(),
        rss
    );
    for (name, script) in [("anonymous", &anonymous), ("known customer", &known)] {
        let figures = wrk(script, &url, seconds);
        println!(
            "product-page, {name:<15} {:>8.0} req/s   p50 {:>8}   p99 {:>8}   non-2xx {}   socket errors: {}",
            figures.per_second, figures.p50, figures.p99, figures.non_2xx, figures.errors
        );
    }
    let (rss, peak) = memory(listen.id());
    println!("service memory after the load: {rss} MiB resident, peak {peak} MiB");
    let _ = listen.kill();
    let _ = listen.wait();
}
