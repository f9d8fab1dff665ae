//! What several benchmarks share: the peak memory of this process, a
//! workspace over a generated store with the repository's campaigns and
//! templates, and Postfix's smtp-sink. (Each benchmark uses a part of it.)
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Peak resident memory of this process so far (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Writes `dir/xsell.toml`: the store's CSV files in `data`, the
/// repository's campaigns and templates, the example caps.
pub fn write_config(dir: &Path, data: &Path) {
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

/// smtp-sink, discarding what it receives.
pub struct Sink {
    pub port: u16,
    child: Child,
}

impl Sink {
    pub fn start() -> Sink {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(program("smtp-sink"));
        if is_root() {
            command.args(["-u", "nobody"]);
        }
        let child = command
            .arg(format!("127.0.0.1:{port}"))
            .arg("1024")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "smtp-sink did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Sink { port, child }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Postfix program (`smtp-sink`, `smtp-source`).
pub fn program(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} not found: apt-get install postfix"))
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
