//! `xsell serve`, driven by a real headless Chromium (see [`crate::browser`])
//! on a copy of the example workspace: the index lists the campaigns;
//! picking a customer shows their message (their name, the products the
//! recommender chose for them) on desktop and mobile, screenshotted and
//! checked for content; editing a template re-renders the open page by
//! itself; breaking it (or the campaign's YAML) shows the overlay with file,
//! line and column, fixing it recovers; "send test" delivers to a real SMTP
//! server and refuses addresses the config does not allow. Screenshots are
//! kept in `$XSELL_ARTIFACTS` (default: `xsell-artifacts` in the temp dir).

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::{Browser, pixel_summary};
use crate::peers::{free_port, header, smtp_sink};
use crate::preview::preview_json;
use crate::support::Workspace;

const NOW: &str = "2026-11-16T09:00:00Z";

/// A running `xsell serve`; stopped when dropped.
pub(crate) struct Serve {
    child: Child,
    pub(crate) base: String,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    pub(crate) fn start(workspace: &Workspace, extra: &[&str]) -> Serve {
        Serve::start_with(workspace, extra, &[])
    }

    fn start_with(workspace: &Workspace, extra: &[&str], env: &[(&str, &str)]) -> Serve {
        // reqwest (for the tests' own requests) uses rustls with the ring provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = free_port().to_string();
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("serve.log");
        let mut args = vec!["serve", "--port", &port, "--now", NOW];
        args.extend_from_slice(extra);
        let child = workspace
            .command(&args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start xsell serve");
        let serve = Serve {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _log_dir: log_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while reqwest::blocking::get(format!("{}/", serve.base)).is_err() {
            assert!(
                Instant::now() < deadline,
                "xsell serve did not start: {}",
                serve.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        serve
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Where screenshots are kept for people to look at.
fn artifacts() -> PathBuf {
    let dir = std::env::var_os("XSELL_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("xsell-artifacts"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a screenshot and checks it shows something: many colours, and
/// more than a sliver of the picture differs from the background.
pub(crate) fn keep_and_check_screenshot(name: &str, png: &[u8], expected_width: Option<u32>) {
    let path = artifacts().join(name);
    std::fs::write(&path, png).unwrap();
    let summary = pixel_summary(png);
    eprintln!("screenshot {}: {summary:?}", path.display());
    assert!(
        summary.colours > 50,
        "{name} looks blank: {summary:?} ({})",
        path.display()
    );
    assert!(
        summary.foreground_share > 0.05,
        "{name} looks blank: {summary:?} ({})",
        path.display()
    );
    if let Some(width) = expected_width {
        assert_eq!(summary.width, width, "{name}: {summary:?}");
    }
}

/// Waits up to 15 s for `done`; on time-out, fails with the page and the server's log.
fn wait_or_explain(browser: &Browser, serve: &Serve, what: &str, done: impl Fn(&Browser) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done(browser) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n--- page\n{}\n--- desktop frame\n{}\n--- server log\n{}",
            browser.text("body"),
            browser.frame_text("#desktop"),
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const TEMPLATE: &str = "templates/post_purchase.mjml";
const CAMPAIGN: &str = "campaigns/post-purchase-completion.yaml";

#[test]
fn designers_preview_in_chromium_with_live_reload_errors_and_test_sends() {
    let workspace = Workspace::example();
    let sink = smtp_sink();
    let serve = Serve::start(&workspace, &["--transport", &sink.url()]);
    let browser = Browser::start(1500, 1100);

    // The index lists every example campaign.
    browser.goto(&format!("{}/", serve.base));
    let listed: Vec<String> = serde_json::from_value(browser.execute(
        "return [...document.querySelectorAll('a.campaign')].map(a => a.textContent);",
        vec![],
    ))
    .unwrap();
    let mut names: Vec<String> = std::fs::read_dir(workspace.path().join("campaigns"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter_map(|yaml| {
            yaml.lines()
                .find_map(|l| l.strip_prefix("name: ").map(str::to_string))
        })
        .collect();
    names.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, names);
    assert_eq!(listed.len(), 9);

    // Open a campaign (it shows the first customer it would mail), search
    // another customer by name, pick them.
    browser.click(&browser.find(r#"a.campaign[href="/c/post-purchase-completion"]"#));
    browser.wait_until("the campaign page", Duration::from_secs(30), |b| {
        b.try_find("#view")
    });
    assert!(browser.current_url().contains("customer=C000065"));
    browser.type_into(&browser.find("#customer-search"), "Cécile");
    browser.click(&browser.find("form.picker button[type=submit]"));
    let link = browser.wait_until("search results", Duration::from_secs(30), |b| {
        b.try_find(r#"#found a[href*="customer=C000090"]"#)
    });
    browser.click(&link);
    // What `xsell preview` says the message holds (the engine the server uses).
    let expected = preview_json(&workspace, "C000090");
    let products: Vec<(String, String)> = expected["message"]["lists"][0]["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(products.len(), 3, "{expected}");
    let first_name = expected["customer"]["first_name"].as_str().unwrap();
    assert_eq!(first_name, "Cécile");
    for frame in ["#desktop", "#mobile"] {
        browser.wait_until(
            "the customer's message in the frame",
            Duration::from_secs(30),
            |b| {
                let text = b.frame_text(frame);
                (text.contains(&format!("Hi {first_name},"))
                    && products
                        .iter()
                        .all(|(_, name)| text.contains(name.as_str())))
                .then_some(())
            },
        );
    }
    assert!(browser.current_url().contains("customer=C000090"));
    assert_eq!(
        browser.text("#subject"),
        expected["subject"].as_str().unwrap()
    );
    let panel_products: Vec<String> = serde_json::from_value(browser.execute(
        "return [...document.querySelectorAll('#panel li.product')].map(li => li.dataset.product);",
        vec![],
    ))
    .unwrap();
    let expected_ids: Vec<String> = products.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(panel_products, expected_ids);
    assert!(browser.text("#status").contains("Would be sent now"));
    assert!(
        browser.text("#panel").contains("bestseller")
            || browser.text("#panel").contains("bought with")
    );

    // The plain-text part and the raw message are one click away.
    let part = |css: &str| {
        let href = browser
            .execute(
                "return document.querySelector(arguments[0]).href;",
                vec![serde_json::json!(css)],
            )
            .as_str()
            .unwrap()
            .to_string();
        reqwest::blocking::get(href).unwrap().text().unwrap()
    };
    let text = part("#text-link");
    assert!(text.contains(&format!("Hi {first_name},")), "{text}");
    let eml = part("#eml-link");
    assert_eq!(
        header(&eml, "Message-ID").as_deref(),
        expected["message_id"].as_str()
    );

    // The mobile frame is 375 px wide and nothing in the message overflows it.
    let widths: Vec<i64> = serde_json::from_value(browser.execute(
        "const d = document.querySelector('#mobile').contentDocument.documentElement;
         return [d.clientWidth, d.scrollWidth];",
        vec![],
    ))
    .unwrap();
    assert_eq!(widths[0], 375, "{widths:?}");
    assert!(
        widths[1] <= widths[0],
        "the message overflows 375 px: {widths:?}"
    );

    keep_and_check_screenshot("serve-page.png", &browser.screenshot(), None);
    keep_and_check_screenshot(
        "serve-desktop.png",
        &browser.element_screenshot(&browser.find("#desktop")),
        Some(680),
    );
    keep_and_check_screenshot(
        "serve-mobile.png",
        &browser.element_screenshot(&browser.find("#mobile")),
        Some(375),
    );

    // "Next eligible" and "Random" move to other customers the campaign would mail.
    browser.click(&browser.find("#next-eligible"));
    let next = browser.wait_until("the next customer", Duration::from_secs(30), |b| {
        let url = b.current_url();
        (!url.contains("customer=C000090") && !url.contains("customer=next")).then_some(url)
    });
    browser.wait_until("the next customer's page", Duration::from_secs(30), |b| {
        b.try_find("#status")
    });
    assert!(
        browser.text("#status").contains("Would be sent now"),
        "{next}"
    );
    browser.click(&browser.find("#random"));
    browser.wait_until("a random customer", Duration::from_secs(30), |b| {
        let url = b.current_url();
        (!url.contains("customer=random") && b.try_find("#status").is_some()).then_some(())
    });
    assert!(browser.text("#status").contains("Would be sent now"));
    browser.goto(&format!(
        "{}/c/post-purchase-completion?customer=C000090&now={NOW}",
        serve.base
    ));
    browser.wait_until("C000090 again", Duration::from_secs(30), |b| {
        b.frame_text("#desktop")
            .contains(&format!("Hi {first_name},"))
            .then_some(())
    });

    // Editing the template re-renders the open page, without reloading it.
    browser.execute("window.keptAcrossUpdates = true;", vec![]);
    let original = workspace.read(TEMPLATE);
    let edited = original.replace(
        r#"eyebrow="Thank you for your order""#,
        r#"eyebrow="Thank you, edited live""#,
    );
    assert_ne!(edited, original);
    let saved = Instant::now();
    workspace.write(TEMPLATE, &edited);
    browser.wait_until("the edited template", Duration::from_secs(15), |b| {
        // The hero component capitalises its eyebrow.
        b.frame_text("#desktop")
            .to_lowercase()
            .contains("thank you, edited live")
            .then_some(())
    });
    eprintln!("template edit shown after {:?}", saved.elapsed());
    assert_eq!(
        browser.execute("return window.keptAcrossUpdates === true;", vec![]),
        Value::Bool(true),
        "the page was reloaded instead of updated"
    );

    // Breaking it shows the overlay at the right line; fixing it recovers.
    let broken = edited.replace(
        "{%- if lists.complete.count > 0 %}",
        "{%- if lists.complete.count > %}",
    );
    assert_ne!(broken, edited);
    workspace.write(TEMPLATE, &broken);
    browser.wait_until("the error overlay", Duration::from_secs(15), |b| {
        b.try_find("#error-overlay .problem")
    });
    assert_eq!(
        browser.text("#error-overlay .problem .where"),
        "templates/post_purchase.mjml:11:31"
    );
    assert!(
        browser
            .text("#error-overlay .problem .source")
            .contains("11 | {%- if lists.complete.count > %}"),
        "{}",
        browser.text("#error-overlay")
    );
    assert!(
        serve.log().contains("templates/post_purchase.mjml:11:31"),
        "the terminal shows it too: {}",
        serve.log()
    );
    keep_and_check_screenshot("serve-error-overlay.png", &browser.screenshot(), None);
    workspace.write(TEMPLATE, &original);
    wait_or_explain(&browser, &serve, "the fixed template", |b| {
        b.try_find("#error-overlay").is_none()
            && b.frame_text("#desktop")
                .to_lowercase()
                .contains("thank you for your order")
    });

    // A campaign file error shows the same way.
    let campaign = workspace.read(CAMPAIGN);
    workspace.write(CAMPAIGN, &campaign.replace("  delay: 2h", "  delay: soon"));
    browser.wait_until("the YAML error overlay", Duration::from_secs(15), |b| {
        b.try_find("#error-overlay .problem")
    });
    assert_eq!(
        browser.text("#error-overlay .problem .where"),
        "campaigns/post-purchase-completion.yaml:12:10"
    );
    assert!(
        browser
            .text("#error-overlay")
            .contains("invalid duration `soon`")
    );
    workspace.write(CAMPAIGN, &campaign);
    browser.wait_until("the fixed campaign", Duration::from_secs(15), |b| {
        b.try_find("#error-overlay").is_none().then_some(())
    });

    // Send a test to an allowed address; a real SMTP server receives it.
    browser.wait_until("the test send form", Duration::from_secs(15), |b| {
        b.try_find("#test-to")
    });
    browser.type_into(&browser.find("#test-to"), "designer@shop.example");
    browser.click(&browser.find("#send-test-button"));
    let result = browser.wait_until("the test send", Duration::from_secs(30), |b| {
        let text = b.text("#send-result");
        (!text.is_empty() && text != "Sending…").then_some(text)
    });
    assert!(
        result.starts_with("Sent to designer@shop.example via smtp"),
        "{result}"
    );
    assert_eq!(sink.wait_for(1), 1);
    let received = &sink.messages()[0];
    assert_eq!(
        header(received, "Message-ID").as_deref(),
        expected["message_id"].as_str()
    );

    // An address outside `test_recipients` is refused, and nothing is sent.
    let to = browser.find("#test-to");
    browser.clear(&to);
    browser.type_into(&to, "someone@elsewhere.example");
    browser.click(&browser.find("#send-test-button"));
    let refused = browser.wait_until("the refusal", Duration::from_secs(30), |b| {
        let text = b.text("#send-result");
        text.contains("not a test recipient").then_some(text)
    });
    assert!(refused.contains("@shop.example"), "{refused}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn test_sends_need_the_config_and_our_own_pages() {
    let workspace = Workspace::example();
    let sink = smtp_sink();
    let serve = Serve::start(&workspace, &["--transport", &sink.url()]);
    assert!(
        serve
            .log()
            .contains(&format!("xsell serve: {}/", serve.base)),
        "listens on 127.0.0.1: {}",
        serve.log()
    );
    let http = reqwest::blocking::Client::new();
    let url = format!("{}/c/post-purchase-completion/send-test", serve.base);
    let form = "customer=C000065&now=2026-11-16T09%3A00%3A00Z&to=designer%40shop.example";
    let post = |origin: Option<&str>| {
        let mut request = http
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let response = request.send().unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };

    // Another site's page cannot make the server send.
    let (status, body) = post(Some("https://evil.example"));
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("requests from other sites&#39; pages are refused"),
        "{body}"
    );

    // Turning test sends off in xsell.toml takes effect without a restart.
    let config = workspace.read("xsell.toml");
    let off = config.replace("allow_test_send = true", "allow_test_send = false");
    assert_ne!(off, config);
    workspace.write("xsell.toml", &off);
    let deadline = Instant::now() + Duration::from_secs(15);
    let body = loop {
        let (status, body) = post(Some(&serve.base));
        if status == 403 {
            break body;
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            Instant::now() < deadline,
            "xsell.toml was not reloaded: {}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(body.contains("test sends are off"), "{body}");
    std::thread::sleep(Duration::from_millis(300));
    // Sends made before the change went out; none after it.
    let before = sink.messages().len();
    let (status, _) = post(Some(&serve.base));
    assert_eq!(status, 403);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), before);
}

#[test]
fn a_workspace_broken_at_start_shows_its_problems_until_fixed() {
    let workspace = Workspace::example();
    let original = workspace.read(TEMPLATE);
    workspace.write(
        TEMPLATE,
        &original.replace(
            "{%- if lists.complete.count > 0 %}",
            "{%- if lists.complete.count > %}",
        ),
    );
    let serve = Serve::start(&workspace, &[]);
    let page = reqwest::blocking::get(format!("{}/", serve.base))
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains(r#"id="error-overlay""#), "{page}");
    assert!(
        page.contains(r#"<div class="where">templates/post_purchase.mjml:11:31</div>"#),
        "{page}"
    );
    // The broken campaign is set aside; the other eight are served.
    assert_eq!(page.matches(r#"class="campaign""#).count(), 8, "{page}");
    assert!(
        !page.contains(r#"href="/c/post-purchase-completion""#),
        "{page}"
    );
    assert!(
        serve.log().contains("templates/post_purchase.mjml:11:31"),
        "{}",
        serve.log()
    );

    workspace.write(TEMPLATE, &original);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = reqwest::blocking::get(format!("{}/", serve.base))
            .unwrap()
            .text()
            .unwrap();
        if !page.contains("error-overlay") && page.matches(r#"class="campaign""#).count() == 9 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not recovered: {page}\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A panic while previewing (a bug, or data nobody foresaw) answers a 500
/// page that says so, and the server goes on serving.
#[test]
fn a_panic_while_previewing_is_a_500_page_and_the_server_goes_on() {
    let workspace = Workspace::example();
    let serve = Serve::start_with(&workspace, &[], &[("XSELL_FAULT", "render:C000065")]);
    let part = |customer: &str| {
        let response = reqwest::blocking::get(format!(
            "{}/c/post-purchase-completion/message.txt?customer={customer}",
            serve.base
        ))
        .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    let (status, body) = part("C000065");
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("internal error (a bug in xsell, please report it): injected fault in render for C000065"),
        "{body}"
    );
    let (status, body) = part("C000090");
    assert_eq!(status, 200, "{body}");
}

/// DNS rebinding: a page on another name that resolves to 127.0.0.1 gets
/// nothing — no customer search, no test send, no live-reload socket — and
/// a WebSocket from another site's page is refused. Messages are framed
/// in sandboxed iframes and served with a Content-Security-Policy.
#[test]
fn other_names_and_origins_are_refused_and_messages_are_sandboxed() {
    use std::io::{Read, Write};
    let workspace = Workspace::example();
    let serve = Serve::start(&workspace, &[]);
    let http = reqwest::blocking::Client::new();
    let port = serve.base.rsplit(':').next().unwrap().to_string();
    let search = format!("{}/c/post-purchase-completion?q=example.com", serve.base);
    let rebound = http
        .get(&search)
        .header("Host", format!("rebind.attacker.example:{port}"))
        .send()
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
    let body = rebound.text().unwrap();
    assert!(!body.contains("@example.com"), "{body}");
    let post = http
        .post(format!(
            "{}/c/post-purchase-completion/send-test",
            serve.base
        ))
        .header("Host", format!("rebind.attacker.example:{port}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("customer=C000065&to=designer%40shop.example")
        .send()
        .unwrap();
    assert_eq!(post.status().as_u16(), 403);
    // Our own names still work.
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let ok = http.get(&search).header("Host", host).send().unwrap();
        assert_eq!(ok.status().as_u16(), 200);
    }

    // The live-reload socket: our page's Origin upgrades, another's does not.
    let upgrade = |origin: &str| {
        let mut stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        write!(
            stream,
            "GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: {origin}\r\n\r\n"
        )
        .unwrap();
        let mut answer = [0u8; 64];
        let n = stream.read(&mut answer).unwrap();
        String::from_utf8_lossy(&answer[..n]).to_string()
    };
    assert!(upgrade(&format!("http://127.0.0.1:{port}")).starts_with("HTTP/1.1 101"));
    let foreign = upgrade("https://attacker.example");
    assert!(foreign.starts_with("HTTP/1.1 403"), "{foreign}");

    // Messages: sandboxed frames, no script.
    let page = http
        .get(format!(
            "{}/c/post-purchase-completion?customer=C000065",
            serve.base
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(
        page.matches(r#"sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox""#)
            .count(),
        2,
        "{page}"
    );
    let message = http
        .get(format!(
            "{}/c/post-purchase-completion/message.html?customer=C000065",
            serve.base
        ))
        .send()
        .unwrap();
    let policy = message.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.contains("script-src 'none'") && policy.contains("form-action 'none'"),
        "{policy}"
    );
}
