//! One-click unsubscribes per second and their latency (p50, p99) through
//! `xsell listen`, measured by wrk on loopback: alone, and while a send of
//! the spring campaign (~2,300 messages at 400/s to the outbox, claiming in
//! the same ledger) runs on the same machine. Prints figures; asserts nothing.
//!
//! `cargo bench --bench listen` (needs `wrk`: `apt-get install wrk`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "bench-signing-key";

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

fn xsell(workspace: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xsell"));
    command
        .arg("--workspace")
        .arg(workspace)
        .env("XSELL_SECRET", SECRET);
    command
}

/// wrk's figures: requests/s, p50 and p99 (ms), non-2xx answers, socket errors.
struct Figures {
    per_second: f64,
    p50: String,
    p99: String,
    non_2xx: u64,
    errors: String,
}

fn wrk(script: &Path, url: &str, seconds: u32) -> Figures {
    let output = Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{seconds}s"), "--latency", "-s"])
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

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed (apt-get install wrk); nothing measured");
        return;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path();
    for item in ["xsell.toml", "campaigns", "templates", "fixtures"] {
        copy_tree(&repo.join(item), &workspace.join(item));
    }
    let config = std::fs::read_to_string(workspace.join("xsell.toml"))
        .unwrap()
        // About six seconds of sending, so the load overlaps the whole send.
        .replace("rate = 200 ", "rate = 400 ");
    std::fs::write(workspace.join("xsell.toml"), config).unwrap();
    assert!(
        xsell(workspace)
            .args(["ledger", "init"])
            .status()
            .unwrap()
            .success()
    );

    // Tokens for every customer of the example shop, as their messages carry them.
    let key = xsell::signing::SigningKey::new(SECRET);
    let customers = std::fs::read_to_string(workspace.join("fixtures/customers.csv")).unwrap();
    let paths: Vec<String> = customers
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .map(|id| {
            format!(
                "/unsubscribe?token={}",
                xsell::render::unsubscribe::token(&key, id, "spring-seasonal")
            )
        })
        .collect();
    let script = workspace.join("one-click.lua");
    let list: Vec<String> = paths.iter().map(|p| format!("\"{p}\"")).collect();
    std::fs::write(
        &script,
        format!(
            "local paths = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"POST\", paths[(i % #paths) + 1], {{[\"Content-Type\"] = \"application/x-www-form-urlencoded\"}}, \"List-Unsubscribe=One-Click\")\nend\n",
            list.join(",")
        ),
    )
    .unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut listen = xsell(workspace)
        .args([
            "listen",
            "--port",
            &port.to_string(),
            "--rate-per-client",
            "10000000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "xsell listen did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    let alone = wrk(&script, &url, 10);
    println!(
        "one-click unsubscribes, alone:           {:>8.0} req/s   p50 {:>8}   p99 {:>8}   non-2xx {}   socket errors: {}",
        alone.per_second, alone.p50, alone.p99, alone.non_2xx, alone.errors
    );

    // The same while a campaign is sent on the same two cores.
    let mut send = xsell(workspace)
        .args(["--now", "2027-03-02T17:00:00Z", "send", "spring-seasonal"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Past the ~1 s the send takes to load and plan, into its sending.
    std::thread::sleep(Duration::from_millis(1_500));
    let during = wrk(&script, &url, 4);
    let sent = send.wait().unwrap();
    println!(
        "one-click unsubscribes, during a send:   {:>8.0} req/s   p50 {:>8}   p99 {:>8}   non-2xx {}   socket errors: {}   (send exit {:?} after {:.1} s)",
        during.per_second,
        during.p50,
        during.p99,
        during.non_2xx,
        during.errors,
        sent.code(),
        started.elapsed().as_secs_f64()
    );
    let _ = listen.kill();
    let _ = listen.wait();
}
