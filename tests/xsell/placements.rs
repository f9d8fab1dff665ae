//! On-site placements and landing pages, over real HTTP from `xsell
//! listen`: every example placement for anonymous and known visitors, keys,
//! CORS, unknown placements, customers and products; a reload while
//! requests run; the landing page of sent messages (the email's products
//! first, in headless Chromium with JavaScript off) and forged tokens.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::Browser;
use crate::listen::Listen;
use crate::serve::keep_and_check_screenshot;
use crate::support::*;

const NOW: &str = "2026-11-16T09:00:00Z";
const KEY: &str = "placements-test-key";
const CAMPAIGN: &str = "post-purchase-completion";

/// `xsell listen` with the API key set; `now`: lists as of [`NOW`].
fn start(workspace: &Workspace, now: bool) -> Listen {
    let mut extra = vec!["--rate-per-client", "1000"];
    if now {
        extra.extend(["--now", NOW]);
    }
    Listen::start_with(workspace, &extra, &[("XSELL_API_KEY", KEY)])
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn get(url: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = http().get(url);
    if let Some(key) = key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let body = response.text().unwrap();
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"));
    (status, json)
}

fn product_ids(answer: &Value) -> Vec<String> {
    answer["lists"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["products"].as_array().unwrap().iter())
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// The first customer of the fixtures with at least `orders` order lines.
fn customer_with_orders(workspace: &Workspace, orders: usize) -> String {
    let events = workspace.read("fixtures/events.csv");
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let header: Vec<&str> = events.lines().next().unwrap().split(',').collect();
    let kind = header.iter().position(|h| *h == "kind").unwrap();
    let customer = header.iter().position(|h| *h == "customer_id").unwrap();
    for line in events.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.get(kind) == Some(&"order") {
            *counts.entry(fields[customer].to_string()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .find(|(_, n)| *n >= orders)
        .map(|(c, _)| c)
        .expect("a customer with orders")
}

#[test]
fn every_example_placement_answers_anonymous_and_known_visitors() {
    let workspace = Workspace::example();
    let listen = start(&workspace, true);
    let base = format!("{}/api/placements", listen.base);
    let customer = customer_with_orders(&workspace, 5);
    let product = "P0001";

    for (placement, query) in [
        ("product-page", format!("product={product}")),
        ("cart", "products=P0001,P0007".to_string()),
        ("home", String::new()),
    ] {
        // Anonymous (public placements): no key, a customer id is ignored.
        let (status, anonymous) = get(
            &format!("{base}/{placement}?{query}&customer={customer}"),
            None,
        );
        assert_eq!(status, 200, "{placement}: {anonymous}");
        assert_eq!(anonymous["personalised"], false, "{placement}: {anonymous}");
        assert_eq!(anonymous["currency"], "USD");
        let products = product_ids(&anonymous);
        assert!(!products.is_empty(), "{placement}: {anonymous}");
        for card in anonymous["lists"][0]["products"].as_array().unwrap() {
            let price = card["price"]["current"].as_str().unwrap();
            assert!(price.starts_with('$'), "{placement}: {card}");
            let url = card["url"].as_str().unwrap();
            assert!(url.contains("utm_medium=site"), "{url}");
            assert!(url.contains(&format!("utm_campaign={placement}")), "{url}");
            assert!(!card["reason"].as_str().unwrap().is_empty(), "{card}");
            assert!(card["image_url"].as_str().unwrap().starts_with("https://"));
            assert!(card["source"].is_string());
        }
        // The page's own products are never suggested back.
        if placement != "home" {
            assert!(
                !products.iter().any(|p| p == product),
                "{placement}: {products:?}"
            );
        }

        // Known customer with the key: personalised, in their currency.
        let (status, known) = get(
            &format!("{base}/{placement}?{query}&customer={customer}"),
            Some(KEY),
        );
        assert_eq!(status, 200, "{known}");
        assert_eq!(known["personalised"], true, "{placement}: {known}");
        assert!(!product_ids(&known).is_empty(), "{placement}: {known}");

        // Unknown customer with the key: the anonymous version, not an error.
        let (status, unknown) = get(
            &format!("{base}/{placement}?{query}&customer=NOBODY"),
            Some(KEY),
        );
        assert_eq!(status, 200, "{unknown}");
        assert_eq!(unknown["personalised"], false);
        assert_eq!(product_ids(&unknown), products, "{placement}");
    }

    // The home page of a customer with a history is theirs: personal sources lead.
    let (_, home) = get(&format!("{base}/home?customer={customer}"), Some(KEY));
    let sources: BTreeSet<&str> = home["lists"][0]["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"].as_str().unwrap())
        .collect();
    assert!(sources.contains("next_purchase"), "{home}");

    // Bad keys, unknown placements, bad parameters.
    let (status, answer) = get(&format!("{base}/home"), Some("wrong-key"));
    assert_eq!(status, 401, "{answer}");
    let (status, answer) = get(&format!("{base}/nowhere"), None);
    assert_eq!(status, 404, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("nowhere"));
    let (status, answer) = get(&format!("{base}/home?currency=XXQ"), None);
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = get(&format!("{base}/product-page?product=NOPE"), None);
    assert_eq!(status, 200);
    assert_eq!(answer["unknown_products"][0], "NOPE", "{answer}");
    // Anonymous visitors may choose the currency and locale prices are shown in.
    let (status, euros) = get(&format!("{base}/home?currency=EUR&locale=fr-FR"), None);
    assert_eq!(status, 200, "{euros}");
    if let Some(price) = euros["lists"][0]["products"][0]["price"]["current"].as_str() {
        assert!(price.contains('€'), "{price}");
    }

    // A cart by POST: its products seed the list and are not suggested back.
    let response = http()
        .post(format!("{base}/cart"))
        .header("X-Api-Key", KEY)
        .header("Content-Type", "application/json")
        .body(
            serde_json::json!({ "customer": customer, "products": ["P0001", "P0007"] }).to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cart: Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    assert_eq!(cart["personalised"], true);
    let ids = product_ids(&cart);
    assert!(
        !ids.is_empty() && !ids.iter().any(|p| p == "P0001" || p == "P0007"),
        "{cart}"
    );
    let response = http()
        .post(format!("{base}/cart"))
        .body("not json")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // CORS: the configured origin may read; another may not; preflight answered.
    let allowed = http()
        .get(format!("{base}/home"))
        .header("Origin", "https://shop.example")
        .send()
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let other = http()
        .get(format!("{base}/home"))
        .header("Origin", "https://evil.example")
        .send()
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let preflight = http()
        .request(reqwest::Method::OPTIONS, format!("{base}/cart"))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    assert!(
        preflight.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
}

#[test]
fn a_private_placement_needs_the_key_and_broken_ones_are_named_by_check() {
    let workspace = Workspace::example();
    workspace.write(
        "placements/account.yaml",
        "id: account\npage: home\nlists:\n  again:\n    source: order_reminders\n    limit: 4\n",
    );
    let listen = start(&workspace, true);
    let base = format!("{}/api/placements", listen.base);
    let (status, answer) = get(&format!("{base}/account"), None);
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("API key"));
    let (status, answer) = get(&format!("{base}/account?customer=C000001"), Some(KEY));
    assert_eq!(status, 200, "{answer}");
    drop(listen);

    // A public placement whose sources all need a history, and a typo: named
    // with file and line by check; sending is not affected.
    workspace.write(
        "placements/broken.yaml",
        "id: broken\npage: home\npublic: true\nlists:\n  again:\n    source: order_reminders\n",
    );
    workspace.write(
        "placements/typo.yaml",
        "id: typo\npage: product\nlists:\n  goes_with:\n    source: bestseller\n",
    );
    let check = workspace.xsell(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(
        check.stderr.contains("placements/broken.yaml:6:13")
            && check
                .stderr
                .contains("anonymous visitors would get nothing"),
        "{}",
        check.stderr
    );
    assert!(
        check
            .stderr
            .contains("placements/typo.yaml:5:13: unknown variant `bestseller`"),
        "{}",
        check.stderr
    );
    // A landing page template that does not compile is located too.
    let landing = workspace.read("templates/landing.html");
    workspace.write(
        "templates/landing.html",
        &format!("{landing}{{% if x %}}\n"),
    );
    let check = workspace.xsell(&["check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stderr.contains("templates/landing.html:")
            && check.stderr.contains("Unexpected end of input"),
        "{}",
        check.stderr
    );
    workspace.write("templates/landing.html", &landing);
    let send = workspace.xsell(&["--now", NOW, "send", CAMPAIGN, "--dry-run"]);
    assert_eq!(send.code, 0, "{send:?}");
    // And the service still answers the good placements.
    let service = start(&workspace, true);
    let (status, _) = get(&format!("{}/api/placements/home", service.base), None);
    assert_eq!(status, 200);
    assert!(
        service.log().contains("placements left out"),
        "{}",
        service.log()
    );
}

#[test]
fn a_reload_during_requests_fails_none_and_serves_the_new_data_after() {
    let workspace = Workspace::example();
    // Without --now: the lists follow the data's own time.
    let listen = start(&workspace, false);
    let health = |listen: &Listen| -> Value {
        let body = http()
            .get(format!("{}/healthz", listen.base))
            .send()
            .unwrap()
            .text()
            .unwrap();
        serde_json::from_str(&body).unwrap()
    };
    let before = health(&listen);
    assert_eq!(before["status"], "ok");
    let as_of = before["data_as_of"].as_str().unwrap().to_string();
    let newcomer = "C999001";
    let (_, answer) = get(
        &format!("{}/api/placements/home?customer={newcomer}", listen.base),
        Some(KEY),
    );
    assert_eq!(
        answer["personalised"], false,
        "not a customer yet: {answer}"
    );

    // Requests all along, from four threads.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, answered, failures) = (stop.clone(), answered.clone(), failures.clone());
            let url = format!("{}/api/placements/product-page?product=P0001", listen.base);
            std::thread::spawn(move || {
                let client = http();
                while !stop.load(Ordering::Relaxed) {
                    match client.get(&url).header("X-Api-Key", KEY).send() {
                        Ok(r) if r.status().is_success() => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => failures
                            .lock()
                            .unwrap()
                            .push(format!("status {}", r.status())),
                        Err(e) => failures.lock().unwrap().push(e.to_string()),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    // New data, written aside and renamed into place as an export job would:
    // a new customer and a later view.
    let customers = workspace.read("fixtures/customers.csv");
    let first = customers.lines().nth(1).unwrap();
    let newcomer_row = first
        .replacen(first.split(',').next().unwrap(), newcomer, 1)
        .replacen(first.split(',').nth(1).unwrap(), "newcomer@example.com", 1);
    workspace.write(
        "fixtures/customers.tmp",
        &format!("{customers}{newcomer_row}\n"),
    );
    let events = workspace.read("fixtures/events.csv");
    let header: Vec<&str> = events.lines().next().unwrap().split(',').collect();
    let mut row = vec![""; header.len()];
    for (i, name) in header.iter().enumerate() {
        row[i] = match *name {
            "ts" | "timestamp" => "2026-11-17T10:00:00Z",
            "customer_id" => newcomer,
            "kind" => "view",
            "product_id" => "P0001",
            _ => "",
        };
    }
    workspace.write(
        "fixtures/events.tmp",
        &format!("{events}{}\n", row.join(",")),
    );
    let fixtures = workspace.path().join("fixtures");
    std::fs::rename(
        fixtures.join("customers.tmp"),
        fixtures.join("customers.csv"),
    )
    .unwrap();
    std::fs::rename(fixtures.join("events.tmp"), fixtures.join("events.csv")).unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    while health(&listen)["data_as_of"] == as_of.as_str() {
        assert!(Instant::now() < deadline, "no reload: {}", listen.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        answered.load(Ordering::Relaxed) > 20,
        "too few requests to tell"
    );
    let after = health(&listen);
    assert_eq!(after["data_as_of"], "2026-11-17T10:00:00Z", "{after}");
    let (_, answer) = get(
        &format!("{}/api/placements/home?customer={newcomer}", listen.base),
        Some(KEY),
    );
    assert_eq!(
        answer["personalised"], true,
        "the new customer is known: {answer}"
    );
    assert_eq!(answer["as_of"], "2026-11-17T10:00:01Z");

    // A broken file keeps the data in use; SIGHUP reloads the good one.
    let good = workspace.read("fixtures/events.csv");
    workspace.write("fixtures/events.csv", &format!("{good}not,a,valid,row\n"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !listen.log().contains("reload failed") {
        assert!(Instant::now() < deadline, "{}", listen.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(health(&listen)["data_as_of"], "2026-11-17T10:00:00Z");
    let (status, _) = get(&format!("{}/api/placements/home", listen.base), None);
    assert_eq!(status, 200);
    workspace.write("fixtures/events.csv", &good);
    let reloads = listen.log().matches("reloaded").count();
    let pid = listen.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while listen.log().matches("reloaded").count() <= reloads {
        assert!(Instant::now() < deadline, "{}", listen.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Product ids of an email's cards, in order (each card links twice).
fn email_products(eml: &[u8]) -> (Vec<String>, String) {
    let message = mail_parser::MessageParser::default().parse(eml).unwrap();
    let html = message.body_html(0).unwrap().to_string();
    let mut ids: Vec<String> = Vec::new();
    for part in html.split("href=\"https://shop.example/p/").skip(1) {
        let id: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let more = html
        .split("href=\"")
        .skip(1)
        .map(|h| h.split('"').next().unwrap().replace("&amp;", "&"))
        .find(|h| h.starts_with("https://shop.example/more/"))
        .expect("a see-more link");
    (ids, more)
}

/// The product ids of a landing page's blocks: (in the email, more).
fn landing_products(html: &str) -> (Vec<String>, Vec<String>) {
    let (mut in_email, mut more) = (Vec::new(), Vec::new());
    for article in html
        .split("<article class=\"product\" data-product=\"")
        .skip(1)
    {
        let id = article.split('"').next().unwrap().to_string();
        if article.split('>').next().unwrap().contains("data-in-email") {
            in_email.push(id);
        } else {
            more.push(id);
        }
    }
    (in_email, more)
}

#[test]
fn the_landing_page_shows_the_emails_products_first_and_more_from_its_lists() {
    let workspace = Workspace::example();
    let send = workspace.xsell(&["--now", NOW, "send", CAMPAIGN]);
    assert_eq!(send.code, 0, "{send:?}");
    let listen = start(&workspace, true);
    let outbox = workspace.path().join("outbox").join(CAMPAIGN);
    let mut files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut first_link = None;
    for path in &files {
        let (emailed, more_url) = email_products(&std::fs::read(path).unwrap());
        assert!(!emailed.is_empty(), "{}", path.display());
        let local = more_url.replace("https://shop.example", &listen.base);
        let response = http().get(&local).send().unwrap();
        assert_eq!(response.status().as_u16(), 200, "{local}");
        let html = response.text().unwrap();
        let (in_email, more) = landing_products(&html);
        assert_eq!(
            in_email,
            emailed,
            "{}: the page's first block is the email's",
            path.display()
        );
        assert!(!more.is_empty(), "{}: more picks", path.display());
        assert!(
            more.iter().all(|p| !emailed.contains(p)),
            "{more:?} repeats {emailed:?}"
        );
        first_link.get_or_insert(local);
    }
    let link = first_link.unwrap();

    // Forged: another customer's id under the same signature; a broken token.
    let token = link.rsplit('/').next().unwrap().split('?').next().unwrap();
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[0] = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("C000001")
    };
    for forged in [parts.join("."), format!("{token}x"), "nothing".to_string()] {
        let response = http()
            .get(format!("{}/more/{forged}", listen.base))
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{forged}");
        assert!(!response.text().unwrap().contains("data-product"));
    }

    // In headless Chromium with JavaScript off: the products are there.
    let browser = Browser::start_with(900, 1200, false);
    browser.goto("data:text/html,<p id=x>off</p><script>document.getElementById('x').textContent='on'</script>");
    assert_eq!(browser.text("#x"), "off", "JavaScript is not off");
    browser.goto(&link);
    let badge = browser.text("#in-email .badge");
    assert_eq!(badge, "In your email");
    let cards = browser.execute(
        "return document.querySelectorAll('article.product').length",
        vec![],
    );
    assert!(cards.as_u64().unwrap() >= 4, "{cards}");
    keep_and_check_screenshot("landing-page.png", &browser.screenshot(), Some(900));
}

#[test]
fn the_committed_schemas_are_what_xsell_schema_prints() {
    let workspace = Workspace::example();
    for (kind, file) in [
        ("campaign", "schema/campaign.schema.json"),
        ("placement", "schema/placement.schema.json"),
    ] {
        let printed = workspace.xsell(&["schema", kind]);
        assert_eq!(printed.code, 0, "{printed:?}");
        let printed: Value = serde_json::from_str(&printed.stdout).unwrap();
        let committed: Value =
            serde_json::from_str(&std::fs::read_to_string(repo().join(file)).unwrap()).unwrap();
        assert_eq!(
            printed, committed,
            "{file} is stale: xsell schema {kind} > {file}"
        );
    }
}

/// Designers see the landing page of the previewed message in `xsell
/// serve`: the message's products first, and each save of the template.
#[test]
fn serve_previews_the_landing_page_of_a_message() {
    let workspace = Workspace::example();
    let serve = crate::serve::Serve::start(&workspace, &[]);
    let customer = "C000065";
    let part = |file: &str| {
        let response = http()
            .get(format!(
                "{}/c/{CAMPAIGN}/{file}?customer={customer}",
                serve.base
            ))
            .send()
            .unwrap();
        (
            response.status().as_u16(),
            response.bytes().unwrap().to_vec(),
        )
    };
    let (status, eml) = part("message.eml");
    assert_eq!(status, 200);
    let (emailed, _) = email_products(&eml);
    let (status, page) = part("landing.html");
    let page = String::from_utf8(page).unwrap();
    assert_eq!(status, 200, "{page}");
    let (in_email, more) = landing_products(&page);
    assert_eq!(in_email, emailed);
    assert!(!more.is_empty());
    // A designer's edit shows on the next request.
    let template = workspace.read("templates/landing.html");
    workspace.write(
        "templates/landing.html",
        &template.replace("More picks for you", "Also loved by our customers"),
    );
    let (_, page) = part("landing.html");
    assert!(
        String::from_utf8(page)
            .unwrap()
            .contains("Also loved by our customers")
    );
}
