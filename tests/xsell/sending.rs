//! The send loop against real peers: an outbox folder, Postfix's smtp-sink
//! and a misbehaving aiosmtpd server, with a real SQLite ledger.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use xsell::ledger::{CapVerdict, Ledger, MessageKey, State};
use xsell::send::TransportSpec;
use xsell::send::engine::{NotPrepared, Prepared, SendOptions, SendSummary, deliver_all};

use crate::peers::{self, Flaky};

fn message(campaign: &str, i: usize) -> Prepared {
    let message_id = format!("<{campaign}.{i}@xsell.test>");
    Prepared {
        key: MessageKey { campaign: campaign.into(), customer: format!("C{i:05}"), occurrence: "newsletter:2026-11-16".into() },
        email: format!("c{i}@example.com"),
        return_path: None,
        bytes: format!("From: shop@shop.example\r\nTo: c{i}@example.com\r\nMessage-ID: {message_id}\r\nSubject: Hello {i}\r\n\r\nBody {i}\r\n.a line that starts with a dot\r\n").into_bytes(),
        message_id,
        file_name: format!("C{i:05}.eml"),
        contents: None,
    }
}

fn options(concurrency: usize) -> SendOptions {
    SendOptions {
        envelope_from: "bounces@shop.example".into(),
        concurrency,
        rate: None,
        burst: 100,
        attempts: 3,
        backoff: Duration::from_millis(10),
        max_consecutive_failures: 50,
        limit: None,
        resend_unconfirmed: false,
        now: 1_794_819_600,
        cap_window: 7 * 86_400,
        progress: false,
        domains: Default::default(),
    }
}

fn send(
    ledger_path: &Path,
    transport: &TransportSpec,
    messages: Vec<Prepared>,
    options: SendOptions,
) -> SendSummary {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::open(ledger_path).unwrap()));
    let transport = Arc::new(transport.open(options.concurrency).unwrap());
    let caps = Arc::new(|_: &MessageKey, _: &[xsell::ledger::PastSend]| CapVerdict::Allowed);
    let items = messages.into_iter().map(Ok::<_, NotPrepared>);
    runtime
        .block_on(deliver_all(items, ledger, transport, caps, options))
        .unwrap()
}

fn counts(ids: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for id in ids {
        *counts.entry(id.clone()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_outbox_gets_one_whole_file_per_message_and_a_rerun_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("state/xsell.db");
    let outbox = TransportSpec::Outbox {
        dir: dir.path().join("outbox"),
    };
    let messages: Vec<Prepared> = (0..5).map(|i| message("spring", i)).collect();
    let summary = send(&ledger, &outbox, messages.clone(), options(2));
    assert_eq!((summary.sent, summary.failed), (5, 0));
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("outbox/spring"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec![
            "C00000.eml",
            "C00001.eml",
            "C00002.eml",
            "C00003.eml",
            "C00004.eml"
        ]
    );
    assert_eq!(
        std::fs::read(dir.path().join("outbox/spring/C00003.eml")).unwrap(),
        messages[3].bytes
    );

    let again = send(&ledger, &outbox, messages, options(2));
    assert_eq!(again.sent, 0);
    assert_eq!(
        again.skipped,
        BTreeMap::from([("already sent".to_string(), 5)])
    );
}

#[test]
fn every_message_arrives_once_at_smtp_sink() {
    let server = peers::smtp_sink();
    let dir = tempfile::tempdir().unwrap();
    let ledger_path = dir.path().join("xsell.db");
    let transport = TransportSpec::parse(&server.url(), dir.path()).unwrap();
    let messages: Vec<Prepared> = (0..300).map(|i| message("newsletter", i)).collect();
    let summary = send(&ledger_path, &transport, messages.clone(), options(8));
    assert_eq!((summary.sent, summary.failed, summary.bounced), (300, 0, 0));
    assert_eq!(server.wait_for(300), 300);
    let received = counts(&server.message_ids());
    assert_eq!(received.len(), 300);
    assert!(
        received.values().all(|n| *n == 1),
        "a message arrived twice"
    );
    let expected: Vec<String> = messages.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(
        received
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        expected.into_iter().collect()
    );

    let ledger = Ledger::open(&ledger_path).unwrap();
    assert_eq!(
        ledger.state_counts("newsletter").unwrap(),
        vec![(State::Sent, 300)]
    );
    // Byte-checked: the body the server stored is the one we sent.
    assert!(
        server
            .messages()
            .iter()
            .any(|m| m.contains("Subject: Hello 42\r\n\r\nBody 42")
                || m.contains("Subject: Hello 42\n\nBody 42"))
    );
}

#[test]
fn transient_failures_and_dropped_connections_are_retried_and_a_refused_address_is_suppressed() {
    let server = peers::flaky_server(Flaky {
        transient_every: 7,
        drop_every: 11,
        bounce: &["c13@example.com"],
        ..Flaky::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let ledger_path = dir.path().join("xsell.db");
    let transport = TransportSpec::parse(&server.url(), dir.path()).unwrap();
    let messages: Vec<Prepared> = (0..60).map(|i| message("flaky", i)).collect();
    let mut total = send(&ledger_path, &transport, messages.clone(), options(3));
    // What still failed after the in-run retries is retried by a later run.
    for _ in 0..5 {
        if total.sent == 59 {
            break;
        }
        let again = send(&ledger_path, &transport, messages.clone(), options(3));
        total.sent += again.sent;
    }
    assert_eq!(total.sent, 59, "{total:?}");
    assert_eq!(total.bounced, 1, "{total:?}");
    let received = counts(&server.message_ids());
    assert_eq!(received.len(), 59);
    assert!(
        received.values().all(|n| *n == 1),
        "a message arrived twice: {received:?}"
    );
    assert!(!received.contains_key("<flaky.13@xsell.test>"));
    let ledger = Ledger::open(&ledger_path).unwrap();
    assert_eq!(
        ledger.suppression_of("c13@example.com").unwrap().as_deref(),
        Some("bounced")
    );
    let bounced = ledger.message(&message("flaky", 13).key).unwrap().unwrap();
    assert_eq!(bounced.state, State::Failed);
    assert!(
        bounced
            .reason
            .unwrap()
            .starts_with("permanent: RCPT TO: permanent error (550): 5.1.1 no such user")
    );
}

#[test]
fn a_dead_server_stops_the_run_cleanly_after_consecutive_failures() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let transport = TransportSpec::parse(&format!("smtp://127.0.0.1:{port}"), dir.path()).unwrap();
    let messages: Vec<Prepared> = (0..100).map(|i| message("down", i)).collect();
    let summary = send(
        &dir.path().join("xsell.db"),
        &transport,
        messages,
        SendOptions {
            max_consecutive_failures: 5,
            attempts: 2,
            ..options(1)
        },
    );
    assert_eq!(summary.sent, 0);
    assert_eq!(summary.failed, 5);
    let stopped = summary.stopped.unwrap();
    assert!(
        stopped
            .starts_with("stopped after 5 failures in a row (last: cannot connect to 127.0.0.1:"),
        "{stopped}"
    );
    let ledger = Ledger::open(&dir.path().join("xsell.db")).unwrap();
    assert_eq!(
        ledger.state_counts("down").unwrap(),
        vec![(State::Failed, 5)],
        "the rest is untouched"
    );
}

#[test]
fn limit_sends_a_first_small_batch() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = TransportSpec::Outbox {
        dir: dir.path().join("outbox"),
    };
    let messages: Vec<Prepared> = (0..50).map(|i| message("batch", i)).collect();
    let summary = send(
        &dir.path().join("xsell.db"),
        &outbox,
        messages.clone(),
        SendOptions {
            limit: Some(10),
            ..options(4)
        },
    );
    assert_eq!(summary.sent, 10);
    let rest = send(&dir.path().join("xsell.db"), &outbox, messages, options(4));
    assert_eq!(rest.sent, 40);
    assert_eq!(rest.skipped.get("already sent"), Some(&10));
}

/// smtp-sink offers PIPELINING, so the envelope goes in one write and its
/// three replies come back together; a 5xx to RCPT must still read as a hard
/// bounce, and the session must stay usable for the next message.
#[test]
fn a_refused_recipient_in_a_pipelined_envelope_is_a_bounce() {
    let server = peers::smtp_sink_with(&["-f", "RCPT"]);
    let dir = tempfile::tempdir().unwrap();
    let transport = TransportSpec::parse(&server.url(), dir.path()).unwrap();
    let messages: Vec<Prepared> = (0..5).map(|i| message("refused", i)).collect();
    let summary = send(
        &dir.path().join("xsell.db"),
        &transport,
        messages,
        options(1),
    );
    assert_eq!(
        (summary.sent, summary.bounced, summary.failed),
        (0, 5, 0),
        "{summary:?}"
    );
    assert!(summary.stopped.is_none());
    let ledger = Ledger::open(&dir.path().join("xsell.db")).unwrap();
    assert_eq!(ledger.suppression_list().unwrap().len(), 5);
}

/// STARTTLS (required by the server) and implicit TLS, with the server's
/// private CA trusted through `ca_file`; the messages arrive intact.
#[test]
fn starttls_and_implicit_tls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (authority, certificate, key) = peers::private_ca_certificate(dir.path());
    for implicit_tls in [false, true] {
        let server = peers::flaky_server(Flaky {
            tls: Some((&certificate, &key)),
            implicit_tls,
            ..Flaky::default()
        });
        let config = format!(
            "[sender]\nfrom = \"Shop <shop@shop.example>\"\n[unsubscribe]\nurl = \"https://shop.example/u?token={{token}}\"\n\
             [transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"{}\"\nca_file = \"{}\"\n",
            server.port,
            if implicit_tls { "tls" } else { "starttls" },
            authority.display()
        );
        let config = xsell::config::Config::parse(dir.path(), &config).unwrap();
        let transport = TransportSpec::from_config(&config.transport);
        let messages: Vec<Prepared> = (0..3).map(|i| message("tls", i)).collect();
        let ledger = dir.path().join(format!("tls-{implicit_tls}.db"));
        let summary = send(&ledger, &transport, messages, options(2));
        let reasons: Vec<Option<String>> = Ledger::open(&ledger)
            .unwrap()
            .messages_in_state(None, State::Failed)
            .unwrap()
            .into_iter()
            .map(|r| r.reason)
            .collect();
        assert_eq!(
            (summary.sent, summary.failed),
            (3, 0),
            "implicit TLS {implicit_tls}: {reasons:?}"
        );
        assert_eq!(server.message_ids().len(), 3);
    }
    // Without the CA, the certificate is refused: nothing is sent in clear.
    let server = peers::flaky_server(Flaky {
        tls: Some((&certificate, &key)),
        ..Flaky::default()
    });
    let config = format!(
        "[sender]\nfrom = \"Shop <shop@shop.example>\"\n[unsubscribe]\nurl = \"https://shop.example/u?token={{token}}\"\n\
         [transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\n",
        server.port
    );
    let config = xsell::config::Config::parse(dir.path(), &config).unwrap();
    let summary = send(
        &dir.path().join("untrusted.db"),
        &TransportSpec::from_config(&config.transport),
        vec![message("tls", 9)],
        SendOptions {
            attempts: 1,
            ..options(1)
        },
    );
    assert_eq!((summary.sent, summary.failed), (0, 1), "{summary:?}");
    assert!(server.message_ids().is_empty());
}

/// `message` for a recipient at `domain`.
fn message_to(campaign: &str, i: usize, domain: &str) -> Prepared {
    let mut message = message(campaign, i);
    message.email = format!("c{i}@{domain}");
    let text = String::from_utf8(message.bytes).unwrap();
    message.bytes = text
        .replace(&format!("c{i}@example.com"), &message.email)
        .into_bytes();
    message
}

/// `[send.domains]`: a domain held to one delivery at a time and one held
/// to a rate, beside a free one, at a server that keeps every DATA 150 ms
/// (so deliveries overlap) and notes the most in DATA at once per domain.
#[test]
fn domain_limits_hold_one_domain_and_leave_the_others_free() {
    let dir = tempfile::tempdir().unwrap();
    let most_file = dir.path().join("most.json");
    let server = peers::flaky_server(Flaky {
        hold_ms: 150,
        concurrency_file: Some(&most_file),
        ..Flaky::default()
    });
    let transport = TransportSpec::parse(&server.url(), dir.path()).unwrap();
    let domains = ["narrow.example", "rated.example", "free.example"];
    let messages: Vec<Prepared> = (0..24)
        .map(|i| message_to("domains", i, domains[i % 3]))
        .collect();
    let limits = BTreeMap::from([
        (
            "narrow.example".to_string(),
            xsell::config::DomainLimit {
                concurrency: Some(1),
                rate: None,
            },
        ),
        (
            "rated.example".to_string(),
            xsell::config::DomainLimit {
                concurrency: None,
                rate: Some(10.0),
            },
        ),
    ]);
    let summary = send(
        &dir.path().join("xsell.db"),
        &transport,
        messages,
        SendOptions {
            domains: limits,
            ..options(6)
        },
    );
    assert_eq!((summary.sent, summary.failed), (24, 0));
    let most: BTreeMap<String, u32> =
        serde_json::from_str(&std::fs::read_to_string(&most_file).unwrap()).unwrap();
    assert_eq!(most["narrow.example"], 1, "{most:?}");
    assert!(
        most["free.example"] >= 2,
        "the free domain went in parallel: {most:?}"
    );
    // The rated domain's deliveries start at most 10 a second: 8 of them
    // span at least 0.7 s (7 gaps of 0.1 s; their DATA all last 150 ms).
    let mut accepted: Vec<f64> = server
        .messages()
        .iter()
        .filter(|m| m.contains("X-Envelope-To: c") && m.contains("@rated.example"))
        .map(|m| {
            peers::header(m, "X-Accepted-At")
                .unwrap()
                .parse::<f64>()
                .unwrap()
        })
        .collect();
    accepted.sort_by(f64::total_cmp);
    assert_eq!(accepted.len(), 8);
    let span = accepted[7] - accepted[0];
    assert!(span >= 0.65, "8 messages at 10/s took {span:.3} s");
}
