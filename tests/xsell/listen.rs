//! `xsell listen` over real HTTP: the one-click POST (RFC 8058), the page
//! and its buttons in headless Chromium, undo, forged tokens, limits, and a
//! committed unsubscribe seen by the next send in another process.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use xsell::ledger::Ledger;

use crate::browser::Browser;
use crate::peers::free_port;
use crate::support::*;

const NOW: &str = "2026-11-16T09:00:00Z";
const CAMPAIGN: &str = "post-purchase-completion";

/// A running `xsell listen`; killed when dropped.
pub(crate) struct Listen {
    pub(crate) child: Child,
    pub(crate) base: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Listen {
    fn start(workspace: &Workspace, extra: &[&str]) -> Listen {
        Listen::start_with(workspace, extra, &[])
    }

    pub(crate) fn start_with(
        workspace: &Workspace,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Listen {
        Listen::start_on(workspace, free_port(), extra, env)
    }

    fn start_on(workspace: &Workspace, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Listen {
        // reqwest (the tests' client) uses rustls with the ring provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = port.to_string();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("listen.log");
        let mut args = vec!["listen", "--port", &port];
        args.extend_from_slice(extra);
        let child = workspace
            .command(&args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let listen = Listen {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while reqwest::blocking::get(format!("{}/healthz", listen.base)).is_err() {
            assert!(
                Instant::now() < deadline,
                "xsell listen did not start: {}",
                listen.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        listen
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The example workspace after one send: (customer id, unsubscribe URL path+query) of each message.
fn sent_workspace() -> (Workspace, Vec<(String, String)>) {
    let workspace = Workspace::example();
    let run = workspace.xsell(&["--now", NOW, "send", CAMPAIGN]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut links = Vec::new();
    for entry in std::fs::read_dir(workspace.path().join("outbox").join(CAMPAIGN)).unwrap() {
        let path = entry.unwrap().path();
        let eml = std::fs::read_to_string(&path).unwrap();
        let header = eml
            .lines()
            .find(|l| l.starts_with("List-Unsubscribe: <"))
            .unwrap()
            .to_string();
        let url = header
            .trim_start_matches("List-Unsubscribe: <")
            .split('>')
            .next()
            .unwrap();
        let customer = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .split('_')
            .next()
            .unwrap()
            .to_string();
        links.push((
            customer,
            url.trim_start_matches("https://shop.example").to_string(),
        ));
    }
    links.sort();
    (workspace, links)
}

fn ledger(workspace: &Workspace) -> Ledger {
    Ledger::open(&workspace.path().join("state/xsell.db")).unwrap()
}

fn email_of(workspace: &Workspace, customer: &str) -> String {
    workspace
        .read("fixtures/customers.csv")
        .lines()
        .find(|l| l.starts_with(&format!("{customer},")))
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_string()
}

fn locale_of(workspace: &Workspace, customer: &str) -> String {
    workspace
        .read("fixtures/customers.csv")
        .lines()
        .find(|l| l.starts_with(&format!("{customer},")))
        .unwrap()
        .split(',')
        .nth(3)
        .unwrap()
        .to_string()
}

fn one_click(http: &reqwest::blocking::Client, url: &str) -> (u16, String) {
    let response = http
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

#[test]
fn one_click_unsubscribes_once_get_never_does_and_forged_tokens_write_nothing() {
    let (workspace, links) = sent_workspace();
    let listen = Listen::start(&workspace, &[]);
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (customer, link) = &links[0];
    let url = format!("{}{link}", listen.base);

    // GET shows a page and writes nothing, however often (link scanners).
    for _ in 0..3 {
        let page = http.get(&url).send().unwrap();
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.headers().get("set-cookie").is_none());
        let body = page.text().unwrap();
        assert!(
            body.contains(r#"<form method="post""#) && !body.contains("<script"),
            "{body}"
        );
    }
    assert!(ledger(&workspace).suppression_list().unwrap().is_empty());

    // One-click: 200 after the commit, recorded with its campaign and source; a repeat changes nothing.
    let (status, body) = one_click(&http, &url);
    assert_eq!((status, body.as_str()), (200, "unsubscribed\n"));
    let list = ledger(&workspace).suppression_list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].email, email_of(&workspace, customer).to_lowercase());
    assert_eq!(list[0].reason, "unsubscribed");
    assert_eq!(list[0].source.as_deref(), Some("one-click"));
    assert_eq!(list[0].campaign.as_deref(), Some(CAMPAIGN));
    let (status, _) = one_click(&http, &url);
    assert_eq!(status, 200);
    assert_eq!(
        ledger(&workspace).suppression_list().unwrap(),
        list,
        "idempotent"
    );

    // Forged, truncated, foreign tokens: the same plain 400, nothing written.
    let token = link.split("token=").nth(1).unwrap();
    let (_, rest) = token.split_once('.').unwrap();
    let forged_signature = format!("{}.{}", &token[..token.len() - 2], "AA");
    let other_customer = format!("{}.{rest}", base64_url("C000002"));
    let foreign = {
        let key = xsell::signing::SigningKey::new("another-shops-key");
        xsell::render::unsubscribe::token(&key, "C000002", CAMPAIGN)
    };
    for bad in [
        forged_signature.as_str(),
        &token[..token.len() - 5],
        other_customer.as_str(),
        foreign.as_str(),
        "",
        "....",
    ] {
        let bad_url = format!("{}/unsubscribe?token={bad}", listen.base);
        let (status, body) = one_click(&http, &bad_url);
        assert_eq!(
            (status, body.as_str()),
            (400, "This unsubscribe link is not valid.\n"),
            "{bad}"
        );
        let page = http.get(&bad_url).send().unwrap();
        assert_eq!(page.status().as_u16(), 400);
    }
    assert_eq!(ledger(&workspace).suppression_list().unwrap(), list);

    // Limits: an oversized body, oversized headers; the log has no token or address.
    // (Announced, so the answer comes before the body: a client still
    // writing a body the server refused would see a reset instead.)
    let big = {
        use std::io::{Read, Write};
        let address = listen.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(
            stream,
            "POST {} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 70000\r\n\r\nList-Unsubscribe=One-Click",
            links[1].1
        )
        .unwrap();
        let mut answer = [0u8; 64];
        let n = stream.read(&mut answer).unwrap();
        String::from_utf8_lossy(&answer[..n]).to_string()
    };
    assert!(big.starts_with("HTTP/1.1 413"), "{big}");
    let headers = http
        .get(&url)
        .header("X-Padding", "y".repeat(16 * 1024))
        .send()
        .unwrap();
    assert_eq!(headers.status().as_u16(), 431);
    assert_eq!(ledger(&workspace).suppression_list().unwrap().len(), 1);
    let health = http.get(format!("{}/healthz", listen.base)).send().unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let log = listen.log();
    assert!(log.contains("POST /unsubscribe 200"), "{log}");
    assert!(!log.contains(token) && !log.contains('@'), "{log}");
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// The page in the customer's language, with the shop's name and colours.
#[test]
fn the_page_speaks_the_customers_language() {
    let (workspace, links) = sent_workspace();
    let listen = Listen::start(&workspace, &[]);
    let mut seen = std::collections::BTreeSet::new();
    for (customer, link) in &links {
        let locale = locale_of(&workspace, customer);
        if !seen.insert(locale.clone()) {
            continue;
        }
        let page = reqwest::blocking::get(format!("{}{link}", listen.base))
            .unwrap()
            .text()
            .unwrap();
        let (lang, words) = match &locale[..2] {
            "fr" => ("fr", "Me désabonner de « Complete your routine »"),
            "de" => ("de", "Von „Complete your routine“ abmelden"),
            _ => ("en", "Unsubscribe from “Complete your routine”"),
        };
        assert!(
            page.contains(&format!(r#"<html lang="{lang}">"#)),
            "{locale}: {page}"
        );
        assert!(page.contains(words), "{locale}: {page}");
        assert!(
            page.contains("Maison Demo") && page.contains("#1f3d36"),
            "{page}"
        );
    }
    assert!(seen.len() >= 3, "{seen:?}");
}

/// In Chromium: the buttons post (no script on the page), undo works within
/// the window, and the next send in another process skips the address.
#[test]
fn the_page_buttons_and_undo_work_in_chromium_and_the_next_send_skips() {
    let (workspace, links) = sent_workspace();
    let listen = Listen::start(&workspace, &["--undo-within", "1h"]);
    let browser = Browser::start(600, 800);
    let (customer, link) = links
        .iter()
        .find(|(c, _)| locale_of(&workspace, c).starts_with("en"))
        .unwrap();
    let email = email_of(&workspace, customer).to_lowercase();
    browser.goto(&format!("{}{link}", listen.base));
    assert!(
        browser
            .text("main")
            .contains("Which emails from Maison Demo should stop?")
    );
    // "Unsubscribe from “Complete your routine”" is the first button.
    browser.click(&browser.find("form:nth-of-type(1) button"));
    browser.wait_until("the campaign unsubscribe", Duration::from_secs(10), |b| {
        b.text("main")
            .contains("You will no longer receive “Complete your routine” emails.")
            .then_some(())
    });
    let (everything, this_one) = ledger(&workspace)
        .is_unsubscribed(&email, CAMPAIGN)
        .unwrap();
    assert!(!everything && this_one);
    // Undo.
    browser.click(&browser.find("form:nth-of-type(1) button"));
    browser.wait_until("the undo", Duration::from_secs(10), |b| {
        b.text("main")
            .contains("Done: you are subscribed again.")
            .then_some(())
    });
    assert_eq!(
        ledger(&workspace)
            .is_unsubscribed(&email, CAMPAIGN)
            .unwrap(),
        (false, false)
    );
    // From everything.
    browser.click(&browser.find("form:nth-of-type(2) button"));
    browser.wait_until("the full unsubscribe", Duration::from_secs(10), |b| {
        b.text("main")
            .contains("You will no longer receive marketing email from Maison Demo.")
            .then_some(())
    });
    assert_eq!(
        ledger(&workspace)
            .is_unsubscribed(&email, CAMPAIGN)
            .unwrap(),
        (true, false)
    );

    // Another campaign's send, another process: the address is skipped.
    let spring = workspace.xsell(&[
        "--now",
        "2027-03-02T17:00:00Z",
        "--format",
        "json",
        "send",
        "spring-seasonal",
    ]);
    assert_eq!(spring.code, 0, "{spring:?}");
    let report: serde_json::Value = serde_json::from_str(&spring.stdout).unwrap();
    assert!(
        report["skipped"]["suppressed: unsubscribed"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{spring:?}"
    );
    let outbox = workspace.path().join("outbox/spring-seasonal");
    for entry in std::fs::read_dir(outbox).unwrap() {
        let eml = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !eml.to_lowercase().contains(&format!("<{email}>")),
            "sent to {email} after the unsubscribe"
        );
    }
}

/// Undo only works for a while; a rate limit holds per client; SIGTERM
/// stops the service cleanly.
#[test]
fn undo_expires_the_rate_limit_holds_and_sigterm_stops_cleanly() {
    let (workspace, links) = sent_workspace();
    let mut listen = Listen::start(
        &workspace,
        &["--undo-within", "1s", "--rate-per-client", "5"],
    );
    let http = reqwest::blocking::Client::new();
    let (_, link) = links
        .iter()
        .find(|(c, _)| locale_of(&workspace, c).starts_with("en"))
        .unwrap();
    let url = format!("{}{link}", listen.base);
    let post = |action: &str| {
        let response = http
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("action={action}"))
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    let (status, _) = post("all");
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(2_100));
    let (status, body) = post("undo-all");
    assert_eq!(status, 200);
    assert!(body.contains("This can no longer be undone here"), "{body}");
    assert_eq!(ledger(&workspace).suppression_list().unwrap().len(), 1);

    // 5 per second, 10 at once: a burst of 30 is cut.
    std::thread::sleep(Duration::from_secs(2));
    let statuses: Vec<u16> = (0..30)
        .map(|_| http.get(&url).send().unwrap().status().as_u16())
        .collect();
    assert!(
        statuses.iter().filter(|s| **s == 200).count() <= 12,
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    // The load balancer's health check is never limited.
    assert_eq!(
        http.get(format!("{}/healthz", listen.base))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    let pid = listen.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = listen.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "{}", listen.log());
    assert!(
        listen
            .log()
            .contains("stopping: finishing the requests in flight")
    );
}

/// Providers' webhooks: each payload as the provider documents it, with its
/// own authentication; a request that fails it writes nothing.
#[test]
fn provider_webhooks_suppress_with_their_own_authentication() {
    use hmac::{Hmac, KeyInit, Mac};
    let (workspace, links) = sent_workspace();
    let listen = Listen::start_with(
        &workspace,
        &[],
        &[
            ("XSELL_POSTMARK_WEBHOOK_AUTH", "shop:hook-secret"),
            ("XSELL_MAILGUN_SIGNING_KEY", "mg-signing-key"),
        ],
    );
    let http = reqwest::blocking::Client::new();
    let emails: Vec<String> = links
        .iter()
        .take(8)
        .map(|(c, _)| email_of(&workspace, c))
        .collect();
    let post = |provider: &str, auth: Option<&str>, body: String| {
        let mut request = http
            .post(format!("{}/webhooks/{provider}", listen.base))
            .header("Content-Type", "application/json")
            .body(body);
        if let Some((user, password)) = auth.and_then(|a| a.split_once(':')) {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    let reason = |email: &str| {
        ledger(&workspace)
            .suppression_list()
            .unwrap()
            .into_iter()
            .find(|s| s.email == email.to_lowercase())
            .map(|s| (s.reason, s.source.unwrap_or_default()))
    };
    let postmark_bounce = |email: &str, kind: &str| {
        format!(
            r#"{{"RecordType":"Bounce","ID":4323372036854775807,"Type":"{kind}","TypeCode":1,"Name":"Hard bounce","Tag":"","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","ServerID":23,"MessageStream":"outbound","Description":"The server was unable to deliver your message (ex: unknown user, mailbox not found).","Details":"Test bounce details","Email":"{email}","From":"hello@shop.example","BouncedAt":"2026-11-16T09:33:54.9070259Z","DumpAvailable":true,"Inactive":true,"CanActivate":true,"Subject":"Love your new candle?"}}"#
        )
    };

    // Postmark: wrong or missing credentials write nothing.
    for auth in [None, Some("shop:wrong"), Some("other:hook-secret")] {
        let (status, _) = post("postmark", auth, postmark_bounce(&emails[0], "HardBounce"));
        assert_eq!(status, 401);
    }
    assert!(reason(&emails[0]).is_none());
    let auth = Some("shop:hook-secret");
    assert_eq!(
        post("postmark", auth, postmark_bounce(&emails[0], "HardBounce")).0,
        200
    );
    assert_eq!(
        reason(&emails[0]),
        Some(("bounced".into(), "webhook postmark".into()))
    );
    let complaint = format!(
        r#"{{"RecordType":"SpamComplaint","MessageStream":"outbound","ID":42,"Type":"SpamComplaint","TypeCode":512,"Name":"Spam complaint","Tag":"","MessageID":"00000000-0000-0000-0000-000000000000","ServerID":1234,"Description":"","Details":"Test spam complaint details","Email":"{}","From":"hello@shop.example","BouncedAt":"2026-11-16T10:00:00Z","DumpAvailable":true,"Inactive":true,"CanActivate":false,"Subject":"Love your new candle?"}}"#,
        emails[1]
    );
    assert_eq!(post("postmark", auth, complaint).0, 200);
    assert_eq!(reason(&emails[1]).unwrap().0, "complained");
    let change = format!(
        r#"{{"RecordType":"SubscriptionChange","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","ServerID":123456,"MessageStream":"outbound","ChangedAt":"2026-11-16T16:33:54.9070259Z","Recipient":"{}","Origin":"Recipient","SuppressSending":true,"SuppressionReason":"ManualSuppression","Tag":"","Metadata":{{}}}}"#,
        emails[2]
    );
    assert_eq!(post("postmark", auth, change).0, 200);
    assert_eq!(reason(&emails[2]).unwrap().0, "unsubscribed");
    for (i, expected) in ["counted", "counted", "suppressed"].iter().enumerate() {
        let (status, body) = post("postmark", auth, postmark_bounce(&emails[3], "SoftBounce"));
        assert_eq!(status, 200);
        assert!(
            body.contains(&format!("({} in the window): {expected}", i + 1)),
            "{body}"
        );
    }
    // An address xsell never mailed: acknowledged, ignored.
    let (status, body) = post(
        "postmark",
        auth,
        postmark_bounce("stranger@elsewhere.example", "HardBounce"),
    );
    assert_eq!(
        (status, body.trim()),
        (200, "ignored: an address xsell has not mailed")
    );
    assert!(reason("stranger@elsewhere.example").is_none());

    // Mailgun: the signature of timestamp + token with the signing key.
    let mailgun = |email: &str, event: &str, severity: &str, key: &str| {
        let (timestamp, token) = (
            "1794820000",
            "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
        );
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{timestamp}{token}").as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        format!(
            r#"{{"signature":{{"timestamp":"{timestamp}","token":"{token}","signature":"{signature}"}},"event-data":{{"event":"{event}","severity":"{severity}","id":"G9Bn5sl1TC6nu79C8C0bwg","timestamp":1794820000.0,"recipient":"{email}","reason":"bounce","delivery-status":{{"code":550,"message":"5.1.1 The email account that you tried to reach does not exist","attempt-no":1}},"message":{{"headers":{{"to":"{email}","message-id":"20261116091204.1.abc@shop.example","from":"hello@shop.example","subject":"Love your new candle?"}}}}}}}}"#
        )
    };
    let (status, _) = post(
        "mailgun",
        None,
        mailgun(&emails[4], "failed", "permanent", "not-the-key"),
    );
    assert_eq!(status, 401);
    assert!(reason(&emails[4]).is_none());
    assert_eq!(
        post(
            "mailgun",
            None,
            mailgun(&emails[4], "failed", "permanent", "mg-signing-key")
        )
        .0,
        200
    );
    assert_eq!(
        reason(&emails[4]),
        Some(("bounced".into(), "webhook mailgun".into()))
    );
    assert_eq!(
        post(
            "mailgun",
            None,
            mailgun(&emails[5], "complained", "", "mg-signing-key")
        )
        .0,
        200
    );
    assert_eq!(reason(&emails[5]).unwrap().0, "complained");
    assert_eq!(
        post(
            "mailgun",
            None,
            mailgun(&emails[6], "failed", "temporary", "mg-signing-key")
        )
        .0,
        200
    );
    assert!(
        reason(&emails[6]).is_none(),
        "one temporary failure only counts"
    );

    // A provider without its secret configured, or unknown: not served.
    assert_eq!(post("sendgrid", None, "[]".into()).0, 404);
}

/// Amazon SES through SNS: the subscription is confirmed, bounces and
/// complaints land in the ledger, and only messages whose SNS signature
/// (version 2, RSA-SHA256, the certificate fetched from the signing URL)
/// holds, from a configured topic, are taken.
#[test]
fn ses_notifications_through_sns_are_verified_and_recorded() {
    use std::io::{Read, Write};
    let (workspace, links) = sent_workspace();
    let emails: Vec<String> = links
        .iter()
        .take(3)
        .map(|(c, _)| email_of(&workspace, c))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let openssl = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-subj",
        "/CN=sns.test",
    ]);
    let certificate = std::fs::read(dir.path().join("cert.pem")).unwrap();

    // A stand-in for SNS's certificate and subscription URLs, on loopback.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = server.local_addr().unwrap().to_string();
    let confirmations = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = confirmations.clone();
    std::thread::spawn(move || {
        for stream in server.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 2048];
            let n = stream.read(&mut request).unwrap_or(0);
            let request = String::from_utf8_lossy(&request[..n]).to_string();
            let body: Vec<u8> = if request.starts_with("GET /cert.pem") {
                certificate.clone()
            } else {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                b"<ConfirmSubscriptionResponse/>".to_vec()
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    let topic = "arn:aws:sns:eu-west-1:123456789012:ses-events";
    let listen = Listen::start_with(
        &workspace,
        &[],
        &[
            ("XSELL_SES_TOPIC_ARNS", topic),
            ("XSELL_SES_TEST_HOST", &host),
        ],
    );
    let sign = |fields: &[(&str, &str)]| -> String {
        let canonical: String = fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect();
        std::fs::write(dir.path().join("canonical.txt"), canonical).unwrap();
        openssl(&[
            "dgst",
            "-sha256",
            "-sign",
            "key.pem",
            "-out",
            "signature.bin",
            "canonical.txt",
        ]);
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(std::fs::read(dir.path().join("signature.bin")).unwrap())
    };
    let cert_url = format!("http://{host}/cert.pem");
    let notification =
        |message: &str, topic: &str, version: &str, cert_url: &str, signed_message: &str| {
            let fields = [
                ("Message", signed_message),
                ("MessageId", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"),
                ("Timestamp", "2026-11-16T09:30:00.000Z"),
                ("TopicArn", topic),
                ("Type", "Notification"),
            ];
            serde_json::json!({
                "Type": "Notification",
                "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
                "TopicArn": topic,
                "Message": message,
                "Timestamp": "2026-11-16T09:30:00.000Z",
                "SignatureVersion": version,
                "Signature": sign(&fields),
                "SigningCertURL": cert_url,
                "UnsubscribeURL": format!("http://{host}/unsubscribe"),
            })
            .to_string()
        };
    let http = reqwest::blocking::Client::new();
    let post = |body: String| {
        let response = http
            .post(format!("{}/webhooks/ses", listen.base))
            .header("Content-Type", "text/plain; charset=UTF-8")
            .header("x-amz-sns-message-type", "Notification")
            .body(body)
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    let reason = |email: &str| {
        ledger(&workspace)
            .suppression_list()
            .unwrap()
            .into_iter()
            .find(|s| s.email == email.to_lowercase())
            .map(|s| s.reason)
    };

    // The subscription confirmation is confirmed by fetching its URL.
    let subscribe_url = format!("http://{host}/confirm?Token=abc");
    let confirmation_fields = [
        ("Message", "You have chosen to subscribe to the topic."),
        ("MessageId", "165545c9-2a5c-472c-8df2-7ff2be2b3b1b"),
        ("SubscribeURL", subscribe_url.as_str()),
        ("Timestamp", "2026-11-16T09:00:00.000Z"),
        ("Token", "abc"),
        ("TopicArn", topic),
        ("Type", "SubscriptionConfirmation"),
    ];
    let confirmation = serde_json::json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "abc",
        "TopicArn": topic,
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2026-11-16T09:00:00.000Z",
        "SignatureVersion": "2",
        "Signature": sign(&confirmation_fields),
        "SigningCertURL": cert_url,
    })
    .to_string();
    assert_eq!(
        post(confirmation),
        (200, "subscription confirmed\n".to_string())
    );
    assert_eq!(confirmations.load(std::sync::atomic::Ordering::SeqCst), 1);

    let bounce = serde_json::json!({
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": emails[0], "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2026-11-16T09:29:00.000Z", "feedbackId": "0102017f0e0b"
        },
        "mail": {"timestamp": "2026-11-16T09:12:00.000Z", "source": "hello@shop.example", "messageId": "0102017f0e0a", "destination": [emails[0]]}
    })
    .to_string();
    let complaint = serde_json::json!({
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": emails[1]}], "complaintFeedbackType": "abuse", "timestamp": "2026-11-16T09:40:00.000Z", "feedbackId": "0102017f0e0c"},
        "mail": {"timestamp": "2026-11-16T09:12:00.000Z", "source": "hello@shop.example", "messageId": "0102017f0e0d", "destination": [emails[1]]}
    })
    .to_string();

    // Refused, nothing written: a message changed after signing, another
    // topic, signature version 1, a certificate from a host that is not SNS.
    let tampered = bounce.replace(&emails[0], &emails[2]);
    for body in [
        notification(&tampered, topic, "2", &cert_url, &bounce),
        notification(
            &bounce,
            "arn:aws:sns:eu-west-1:999999999999:other",
            "2",
            &cert_url,
            &bounce,
        ),
        notification(&bounce, topic, "1", &cert_url, &bounce),
        notification(
            &bounce,
            topic,
            "2",
            &cert_url.replace("127.0.0.1", "localhost"),
            &bounce,
        ),
    ] {
        let (status, _) = post(body);
        assert_eq!(status, 401);
    }
    assert!(reason(&emails[0]).is_none() && reason(&emails[2]).is_none());

    assert_eq!(
        post(notification(&bounce, topic, "2", &cert_url, &bounce)).0,
        200
    );
    assert_eq!(reason(&emails[0]).as_deref(), Some("bounced"));
    assert_eq!(
        post(notification(&complaint, topic, "2", &cert_url, &complaint)).0,
        200
    );
    assert_eq!(reason(&emails[1]).as_deref(), Some("complained"));
}

/// Under load, nothing is lost: while a send of ~2,300 messages goes to
/// smtp-sink, four clients post one-click unsubscribes for customers of
/// that campaign (bounded: each customer once, a few retries), and the
/// listener is killed with SIGKILL once and restarted. Every request that
/// got a 200 is in the ledger, and no message reached an address after its
/// unsubscribe was acknowledged (a message claimed just before the commit
/// may still be finishing its SMTP transaction and smtp-sink storing it: two
/// seconds are allowed for that, as a loaded 2-core machine running the
/// whole suite took more than 250 ms once. The exact rule — a committed
/// unsubscribe stops every later claim — is the claim transaction's, tested
/// with the ledger itself).
#[test]
fn nothing_is_lost_under_load_and_a_kill_9_of_the_listener() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::SystemTime;
    const SPRING: &str = "2027-03-02T17:00:00Z";
    let workspace = Workspace::example();
    let sink = crate::peers::smtp_sink();
    let plan = workspace.xsell(&[
        "--now",
        SPRING,
        "--format",
        "json",
        "plan",
        "spring-seasonal",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let planned: Vec<(String, String)> = plan["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["customer"]["id"].as_str().unwrap().to_string(),
                m["customer"]["email"].as_str().unwrap().to_lowercase(),
            )
        })
        .collect();
    assert!(planned.len() > 2_000);
    // The send needs a ledger before the listener opens it.
    assert_eq!(workspace.xsell(&["ledger", "init"]).code, 0);
    let port = free_port();
    let mut listen = Listen::start_on(&workspace, port, &["--rate-per-client", "1000000"], &[]);
    let send = workspace
        .command(&[
            "--now",
            SPRING,
            "--format",
            "json",
            "send",
            "spring-seasonal",
            "--transport",
            &sink.url(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // In the send's own order, a little ahead of it and a little slower
    // (the send goes at `rate = 200`/s): it catches up after a few seconds
    // and then sends where they unsubscribe, message by message.
    let key = xsell::signing::SigningKey::new("xsell-tests-signing-key");
    let mut ahead = planned[100..].to_vec();
    ahead.reverse();
    let queue: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(ahead));
    let acked: Arc<Mutex<Vec<(String, SystemTime)>>> = Arc::default();
    let failed = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (queue, acked, failed, key) =
                (queue.clone(), acked.clone(), failed.clone(), key.clone());
            let base = format!("http://127.0.0.1:{port}");
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                loop {
                    std::thread::sleep(Duration::from_millis(22));
                    let Some((customer, email)) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let token =
                        xsell::render::unsubscribe::token(&key, &customer, "spring-seasonal");
                    // A few tries: the listener may be down for its restart.
                    for attempt in 0..50 {
                        let answer = http
                            .post(format!("{base}/unsubscribe?token={token}"))
                            .header("Content-Type", "application/x-www-form-urlencoded")
                            .body("List-Unsubscribe=One-Click")
                            .send();
                        match answer {
                            Ok(response) if response.status().as_u16() == 200 => {
                                acked
                                    .lock()
                                    .unwrap()
                                    .push((email.clone(), SystemTime::now()));
                                break;
                            }
                            _ if attempt == 49 => {
                                failed.fetch_add(1, Ordering::SeqCst);
                            }
                            _ => std::thread::sleep(Duration::from_millis(20)),
                        }
                    }
                }
            })
        })
        .collect();
    // Once a few hundred are acknowledged: kill -9, restart on the same port.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 300 {
        assert!(
            Instant::now() < deadline,
            "the load did not start: {}",
            listen.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = std::process::Command::new("kill")
        .args(["-9", &listen.child.id().to_string()])
        .status();
    let _ = listen.child.wait();
    let killed_at = acked.lock().unwrap().len();
    listen = Listen::start_on(&workspace, port, &["--rate-per-client", "1000000"], &[]);
    for client in clients {
        client.join().unwrap();
    }
    let send = send.wait_with_output().unwrap();
    assert_eq!(
        send.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&send.stderr)
    );
    let acked = acked.lock().unwrap().clone();
    println!(
        "under load: {} unsubscribes acknowledged ({killed_at} before the kill -9), {} given up, send: {}",
        acked.len(),
        failed.load(Ordering::SeqCst),
        String::from_utf8_lossy(&send.stdout)
            .lines()
            .filter(|l| l.contains("\"sent\""))
            .collect::<String>()
    );
    assert!(
        acked.len() > killed_at,
        "requests were acknowledged after the restart too"
    );

    // Every 200 is in the ledger.
    let suppressed: std::collections::HashSet<String> = ledger(&workspace)
        .suppression_list()
        .unwrap()
        .into_iter()
        .filter(|s| s.reason == "unsubscribed")
        .map(|s| s.email)
        .collect();
    for (email, _) in &acked {
        assert!(
            suppressed.contains(email),
            "{email} got a 200 but is not in the ledger"
        );
    }
    // No message reached an address after its unsubscribe was acknowledged.
    let acked_at: std::collections::HashMap<&str, SystemTime> =
        acked.iter().map(|(e, t)| (e.as_str(), *t)).collect();
    let mut late = Vec::new();
    let mut delivered_to_unsubscribed = 0;
    for entry in std::fs::read_dir(&sink.store).unwrap() {
        let path = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Some(to) = crate::peers::header(&text, "To") else {
            continue;
        };
        let to = to
            .rsplit('<')
            .next()
            .unwrap_or(&to)
            .trim_end_matches('>')
            .trim()
            .to_lowercase();
        if let Some(at) = acked_at.get(to.as_str()) {
            delivered_to_unsubscribed += 1;
            let arrived = std::fs::metadata(&path).unwrap().modified().unwrap();
            if arrived > *at + Duration::from_secs(2) {
                late.push(to);
            }
        }
    }
    println!(
        "{delivered_to_unsubscribed} messages went to addresses that unsubscribed during the send, all before their acknowledgement"
    );
    assert!(
        late.is_empty(),
        "sent after the unsubscribe was committed: {late:?}"
    );
    drop(listen);
}

/// A broken campaign file in the workspace does not take unsubscribes down:
/// the listener starts, says what is broken, and answers.
#[test]
fn a_broken_neighbour_campaign_does_not_stop_unsubscribes() {
    let (workspace, links) = sent_workspace();
    workspace.write("campaigns/broken.yaml", "id: broken\nname: [unclosed\n");
    let listen = Listen::start(&workspace, &[]);
    let http = reqwest::blocking::Client::new();
    let (status, body) = one_click(&http, &format!("{}{}", listen.base, links[0].1));
    assert_eq!((status, body.as_str()), (200, "unsubscribed\n"));
    assert_eq!(ledger(&workspace).suppression_list().unwrap().len(), 1);
    assert!(
        listen.log().contains("campaigns/broken.yaml"),
        "{}",
        listen.log()
    );
}
