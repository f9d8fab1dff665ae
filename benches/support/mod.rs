//! What several benchmarks share: the peak memory of this process, and a
//! workspace over a generated store with the repository's campaigns and
//! templates. (Each benchmark uses a part of it.)
#![allow(dead_code)]

use std::path::Path;

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
