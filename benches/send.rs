//! Sending benchmark: messages per second into Postfix's `smtp-sink` on
//! loopback, three ways in one run, with the same message size and number of
//! connections:
//!
//! 1. Postfix's own load generator `smtp-source` — the reference;
//! 2. xsell's send loop with pre-rendered messages (ledger claims included);
//! 3. the whole xsell pipeline: plan, recommend, render, claim, send.
//!
//! `cargo bench --bench send [-- --messages 20000 --connections 16]`
//! (needs `smtp-sink` and `smtp-source`: `apt-get install postfix`).

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use xsell::ledger::{CapVerdict, Ledger, MessageKey, PastSend};
use xsell::send::TransportSpec;
use xsell::send::campaign::{Request, Sender};
use xsell::send::engine::{NotPrepared, Prepared, SendOptions, deliver_all};

fn main() {
    let messages = argument("--messages").unwrap_or(20_000);
    let connections = argument("--connections").unwrap_or(16);
    let sink = support::Sink::start();
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let work = tempfile::tempdir().expect("temp dir");

    // The pipeline's workspace also gives the message size the other two use.
    let workspace = pipeline_workspace(work.path(), messages, connections, &url);
    let sample = sample_message(&workspace);
    println!(
        "{messages} messages of {} bytes over {connections} connections to smtp-sink on 127.0.0.1\n",
        sample.len()
    );

    let reference = smtp_source(sink.port, messages, connections, sample.len());
    println!("{:<40} {:>9.0} msgs/s", "smtp-source (Postfix)", reference);

    let messages_to_send = prepared(&sample, messages);
    let cpu = cpu_seconds();
    let prerendered = prerendered(&url, work.path(), messages_to_send, connections);
    let cpu_prerendered = (cpu_seconds() - cpu) / messages as f64;
    println!(
        "{:<40} {:>9.0} msgs/s  {:>5.1}% of smtp-source  ({:.0} µs of xsell CPU per message)",
        "xsell, pre-rendered (claims included)",
        prerendered,
        100.0 * prerendered / reference,
        cpu_prerendered * 1e6
    );

    let cpu = cpu_seconds();
    let (pipeline, sent) = whole_pipeline(&workspace);
    let cpu_pipeline = (cpu_seconds() - cpu) / sent as f64;
    println!(
        "{:<40} {:>9.0} msgs/s  {:>5.1}% of pre-rendered  ({:.0} µs of xsell CPU per message; {sent} messages)",
        "xsell, whole pipeline",
        pipeline,
        100.0 * pipeline / prerendered,
        cpu_pipeline * 1e6
    );
}

fn smtp_source(port: u16, messages: usize, connections: usize, size: usize) -> f64 {
    let started = Instant::now();
    let status = Command::new(support::program("smtp-source"))
        .args([
            "-d",
            "-s",
            &connections.to_string(),
            "-m",
            &messages.to_string(),
            "-l",
            &size.to_string(),
        ])
        .args(["-f", "shop@shop.example", "-t", "customer@example.com"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .status()
        .expect("smtp-source");
    assert!(status.success(), "smtp-source failed");
    messages as f64 / started.elapsed().as_secs_f64()
}

fn prepared(sample: &[u8], messages: usize) -> Vec<Prepared> {
    (0..messages)
        .map(|i| Prepared {
            key: MessageKey {
                campaign: "bench".into(),
                customer: format!("C{i:07}"),
                occurrence: "newsletter:bench".into(),
            },
            email: format!("c{i}@example.com"),
            return_path: None,
            message_id: format!("<bench.{i}@xsell.test>"),
            bytes: sample.to_vec(),
            file_name: String::new(),
            contents: None,
        })
        .collect()
}

fn prerendered(url: &str, dir: &Path, prepared: Vec<Prepared>, connections: usize) -> f64 {
    let messages = prepared.len();
    let ledger = Arc::new(Mutex::new(
        Ledger::open(&dir.join("prerendered.db")).unwrap(),
    ));
    let transport = Arc::new(
        TransportSpec::parse(url, dir)
            .unwrap()
            .open(connections)
            .unwrap(),
    );
    let options = SendOptions {
        envelope_from: "shop@shop.example".into(),
        concurrency: connections,
        rate: None,
        burst: 1,
        attempts: 1,
        backoff: Duration::from_millis(10),
        max_consecutive_failures: 100,
        limit: None,
        resend_unconfirmed: false,
        now: 1_794_819_600,
        cap_window: 7 * 86_400,
        progress: false,
        domains: Default::default(),
    };
    let caps = Arc::new(|_: &MessageKey, _: &[PastSend]| CapVerdict::Allowed);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            std::env::var("W")
                .ok()
                .and_then(|w| w.parse().ok())
                .unwrap_or(2),
        )
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let summary = runtime
        .block_on(deliver_all(
            prepared.into_iter().map(Ok::<_, NotPrepared>),
            ledger,
            transport,
            caps,
            options,
        ))
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(summary.sent, messages, "{summary:?}");
    messages as f64 / seconds
}

/// A generated shop with enough customers for about `messages` newsletter recipients.
fn pipeline_workspace(dir: &Path, messages: usize, connections: usize, url: &str) -> PathBuf {
    let root = dir.join("shop");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_tree(&repo.join("templates"), &root.join("templates"));
    std::fs::create_dir_all(root.join("campaigns")).unwrap();
    // About 85% of generated customers consent to marketing.
    let customers = messages * 100 / 84;
    let options = xsell::generate::GenerateOptions {
        customers,
        ..Default::default()
    };
    xsell::generate::generate(&options, &root.join("fixtures")).unwrap();
    std::fs::write(
        root.join("xsell.toml"),
        format!(
            "[sender]\nfrom = \"Maison Demo <hello@shop.example>\"\n[unsubscribe]\nurl = \"https://shop.example/unsubscribe?token={{token}}\"\n\
             [send]\nconcurrency = {connections}\n[transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
            url.rsplit(':').next().unwrap()
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("campaigns/bench.yaml"),
        "id: bench\ntemplate: post_purchase.mjml\nsubject: \"Picked for you, {{ customer.first_name }}\"\npreheader: \"Save 15% this week\"\n\
         lists:\n  complete:\n    source: bestsellers\n    scope: most_represented_category\n    limit: 3\n    fallback: [ { source: bestsellers } ]\n\
         offer: { percent_off: 15, code: unique, expires_in: 7d }\n",
    )
    .unwrap();
    root
}

fn sender(root: &Path) -> Sender {
    let workspace = xsell::workspace::Workspace::open(root).expect("workspace");
    let now = 1_794_819_600;
    let key = xsell::signing::SigningKey::new("bench-key");
    let renderer =
        xsell::render::Renderer::load(&workspace.config, &workspace.campaigns).expect("templates");
    let ledger = Ledger::open(&workspace.config.ledger_path).unwrap();
    let transport = TransportSpec::from_config(&workspace.config.transport)
        .open(workspace.config.send.concurrency)
        .unwrap();
    Sender {
        recommender: Arc::new(xsell::recommend::Recommender::build_before(
            &workspace.store,
            now,
        )),
        store: workspace.store.clone(),
        config: Arc::new(workspace.config),
        renderer: Arc::new(renderer),
        key,
        ledger: Arc::new(Mutex::new(ledger)),
        transport: Arc::new(transport),
    }
}

/// One real message of the bench campaign (its size is what the other two send).
fn sample_message(root: &Path) -> Vec<u8> {
    let sender = sender(root);
    let campaign = xsell::workspace::Workspace::open(root)
        .unwrap()
        .campaigns
        .remove(0);
    let plan = sender
        .plan(&campaign, 1_794_819_600, Some(1_794_819_600))
        .unwrap();
    sender
        .prepare(&campaign, &plan.planned[0], 1_794_819_600)
        .expect("render")
        .bytes
}

fn whole_pipeline(root: &Path) -> (f64, usize) {
    let sender = sender(root);
    let campaign = xsell::workspace::Workspace::open(root)
        .unwrap()
        .campaigns
        .remove(0);
    let request = Request {
        now: 1_794_819_600,
        due: Some(1_794_819_600),
        dry_run: false,
        limit: None,
        resend_unconfirmed: false,
        progress: false,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let report = runtime.block_on(sender.send(&campaign, &request)).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.failed, 0, "{report:?}");
    (report.sent as f64 / seconds, report.sent)
}

/// CPU time (user + system) this process used so far, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat[stat.rfind(')').map_or(0, |i| i + 2)..]
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn argument(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

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
