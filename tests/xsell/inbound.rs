//! Bounces and complaints by mail: each message is sent with its own
//! envelope sender (`bounces+{token}@…`, checked at a real SMTP server),
//! and `xsell inbound`, run as an MTA's pipe would, understands DSNs shaped
//! like Postfix's, Exim's, Microsoft's and Gmail's, ARF complaints and
//! mailed unsubscribes, records the rest as unrecognised, and exits with
//! sysexits codes (never 1).

use std::io::Write;
use std::process::Stdio;

use xsell::ledger::Ledger;
use xsell::render::unsubscribe;
use xsell::signing::SigningKey;

use crate::peers::{self, Flaky};
use crate::support::*;

const NOW: &str = "2026-11-16T09:00:00Z";
const CAMPAIGN: &str = "post-purchase-completion";

fn key() -> SigningKey {
    SigningKey::new("xsell-tests-signing-key")
}

/// A sent message: address, envelope sender, Message-ID, unsubscribe token.
struct Sent {
    email: String,
    verp: String,
    message_id: String,
    unsubscribe_token: String,
}

fn header<'a>(message: &'a str, name: &str) -> &'a str {
    message
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {}", &message[..message.len().min(400)]))
        .trim()
}

/// The example workspace with VERP return paths, after a send to aiosmtpd.
fn sent() -> (Workspace, Vec<Sent>) {
    let server = peers::flaky_server(Flaky::default());
    let workspace = Workspace::example();
    let config = workspace.read("xsell.toml").replace(
        "[sender]\n",
        "[sender]\nreturn_path = \"bounces+{token}@shop.example\"\n",
    );
    workspace.write("xsell.toml", &config);
    let run = workspace.xsell(&["--now", NOW, "send", CAMPAIGN, "--transport", &server.url()]);
    assert_eq!(run.code, 0, "{run:?}");
    let key = key();
    let mut sent = Vec::new();
    for message in server.messages() {
        let verp = header(&message, "X-Envelope-From").to_string();
        let email = header(&message, "X-Envelope-To").to_string();
        let token = verp
            .strip_prefix("bounces+")
            .and_then(|rest| rest.strip_suffix("@shop.example"))
            .unwrap_or_else(|| panic!("not a VERP envelope sender: {verp}"));
        let customer = unsubscribe::verify_bounce(&key, token).expect("a signed bounce token");
        let list = header(&message, "List-Unsubscribe");
        let unsubscribe_token = list
            .split("token=")
            .nth(1)
            .unwrap()
            .split('>')
            .next()
            .unwrap()
            .to_string();
        let (token_customer, _) = unsubscribe::verify(&key, &unsubscribe_token).unwrap();
        assert_eq!(token_customer, customer, "the envelope names the recipient");
        sent.push(Sent {
            email,
            verp,
            message_id: header(&message, "Message-ID").to_string(),
            unsubscribe_token,
        });
    }
    assert!(sent.len() > 20);
    (workspace, sent)
}

fn fixture(name: &str, sent: &Sent) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/inbound/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path)
        .unwrap()
        .replace("{{VERP}}", &sent.verp)
        .replace("{{EMAIL}}", &sent.email)
        .replace("{{MESSAGE_ID}}", &sent.message_id)
        .replace("{{UNSUBSCRIBE_TOKEN}}", &sent.unsubscribe_token)
        .replace('\n', "\r\n")
        .into_bytes()
}

fn inbound(workspace: &Workspace, message: &[u8], args: &[&str]) -> Run {
    let mut full = vec!["--now", NOW, "inbound"];
    full.extend_from_slice(args);
    let mut child = workspace
        .command(&full)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(message).unwrap();
    Run::from(child.wait_with_output().unwrap())
}

fn suppression(workspace: &Workspace, email: &str) -> Option<(String, Option<String>)> {
    Ledger::open(&workspace.path().join("state/xsell.db"))
        .unwrap()
        .suppression_list()
        .unwrap()
        .into_iter()
        .find(|s| s.email == email.to_lowercase())
        .map(|s| (s.reason, s.source))
}

#[test]
fn every_report_fixture_is_understood() {
    let (workspace, sent) = sent();
    let cases = [
        ("postfix-permanent.eml", true, "bounced"),
        ("exim-permanent.eml", false, "bounced"),
        ("microsoft-permanent.eml", false, "bounced"),
        ("gmail-permanent.eml", true, "bounced"),
        ("arf-complaint.eml", false, "complained"),
        ("mailto-unsubscribe.eml", false, "unsubscribed"),
    ];
    for (i, (name, with_recipient, reason)) in cases.iter().enumerate() {
        let who = &sent[i];
        let args: Vec<&str> = if *with_recipient {
            vec!["--recipient", &who.verp]
        } else {
            vec![]
        };
        let run = inbound(&workspace, &fixture(name, who), &args);
        assert_eq!(run.code, 0, "{name}: {run:?}");
        let (found, source) = suppression(&workspace, &who.email)
            .unwrap_or_else(|| panic!("{name}: not suppressed: {run:?}"));
        assert_eq!(found, *reason, "{name}: {run:?}");
        println!(
            "{name}: {} ({})",
            run.stdout.trim(),
            source.unwrap_or_default()
        );
        // A repeat (an MTA retrying) changes nothing and is still fine.
        let again = inbound(&workspace, &fixture(name, who), &args);
        assert_eq!(again.code, 0, "{name}: {again:?}");
    }

    // Temporary failures are counted, and suppress at the third in the window.
    let who = &sent[10];
    for (attempt, expected) in [(1, "counted"), (2, "counted"), (3, "suppressed")] {
        let run = inbound(&workspace, &fixture("postfix-delayed.eml", who), &[]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout
                .contains(&format!("({attempt} in the window): {expected}")),
            "{run:?}"
        );
    }
    assert_eq!(suppression(&workspace, &who.email).unwrap().0, "bounced");

    // What is not a report: recorded as unrecognised, exit 0, nothing suppressed.
    for (name, who) in [
        ("out-of-office.eml", &sent[11]),
        ("malformed-report.eml", &sent[12]),
    ] {
        let run = inbound(&workspace, &fixture(name, who), &[]);
        assert_eq!(run.code, 0, "{name}: {run:?}");
        assert!(run.stdout.starts_with("unrecognised"), "{name}: {run:?}");
        assert!(suppression(&workspace, &who.email).is_none(), "{name}");
    }
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    let run = inbound(&workspace, &garbage, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = inbound(&workspace, b"", &[]);
    assert_eq!(run.code, 0, "{run:?}");

    // A report about an address xsell never mailed, with no signed envelope: nothing suppressed.
    let stranger = Sent {
        email: "stranger@elsewhere.example".into(),
        verp: "postmaster@shop.example".into(),
        message_id: "<x@y>".into(),
        unsubscribe_token: String::new(),
    };
    let run = inbound(&workspace, &fixture("exim-permanent.eml", &stranger), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("an address xsell has not mailed"),
        "{run:?}"
    );
    assert!(suppression(&workspace, &stranger.email).is_none());

    // With VERP configured, a report whose envelope token is forged is not
    // believed, even when it names an address xsell mailed.
    let forged = Sent {
        email: sent[13].email.clone(),
        verp: "bounces+QzAwMDA2NQ.AAAAAAAAAAA@shop.example".into(),
        message_id: sent[13].message_id.clone(),
        unsubscribe_token: String::new(),
    };
    let run = inbound(&workspace, &fixture("exim-permanent.eml", &forged), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("without a signed envelope token"),
        "{run:?}"
    );
    assert!(suppression(&workspace, &forged.email).is_none());

    // The next plan (another process, reading the ledger) leaves them out.
    let plan = workspace.xsell(&[
        "--now",
        "2027-03-02T17:00:00Z",
        "--format",
        "json",
        "plan",
        "spring-seasonal",
    ]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let suppressed: u64 = plan["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason"].as_str().unwrap().starts_with("suppressed"))
        .map(|s| s["count"].as_u64().unwrap())
        .sum();
    assert!(suppressed >= 7, "{suppressed}");
}

/// A ledger busy beyond its timeout: 75, so the MTA keeps the message and tries later.
#[test]
fn a_busy_ledger_is_try_again_later() {
    let (workspace, sent) = sent();
    let config = workspace.read("xsell.toml").replace(
        "path = \"state/xsell.db\"",
        "path = \"state/xsell.db\"\nbusy_timeout = \"1s\"",
    );
    workspace.write("xsell.toml", &config);
    let mut locker = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(5)")
        .arg(workspace.path().join("state/xsell.db"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(locker.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let run = inbound(&workspace, &fixture("postfix-permanent.eml", &sent[0]), &[]);
    let _ = locker.kill();
    let _ = locker.wait();
    assert_eq!(run.code, 75, "{run:?}");
    assert!(suppression(&workspace, &sent[0].email).is_none());
    let run = inbound(&workspace, &fixture("postfix-permanent.eml", &sent[0]), &[]);
    assert_eq!(run.code, 0, "{run:?}");
}
