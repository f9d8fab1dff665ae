//! `xsell report` against a known truth: a real send of the example shop
//! (outbox transport, real SQLite ledger), then `xsell generate responses`
//! simulates what customers did — recipients buy a product shown to them
//! with a chosen probability, everyone (holdout included) orders at random
//! with a baseline probability — and the report must recover the effect
//! inside its interval, find none where there is none, and find the better
//! variant. Edge cases (no sends, everything held out, returns larger than
//! purchases, zero prices, several currencies) give sensible output; the
//! HTML page renders in headless Chromium with its charts; `xsell serve`
//! links to it.

use serde_json::Value;

use crate::browser::Browser;
use crate::serve::{Serve, keep_and_check_screenshot};
use crate::support::Workspace;

const SEND_AT: &str = "2026-11-20T10:00:00Z";

const CAMPAIGN: &str = "\
id: picked-for-you
name: Picked for you
template: new_arrivals.mjml
subject: \"Picked for you at {{ shop.name }}\"
audience:
  min_orders: 1
lists:
  new:
    source: bestsellers
    limit: 4
holdout: 30%
";

const VARIANTS: &str = "\
variants:
  - id: a
  - id: b
    subject: \"Our bestsellers, {{ customer.first_name }}\"
";

/// The example shop with the test campaign, sent at [`SEND_AT`].
fn sent(extra_yaml: &str) -> Workspace {
    let workspace = Workspace::example();
    workspace.write(
        "campaigns/picked-for-you.yaml",
        &format!("{CAMPAIGN}{extra_yaml}"),
    );
    let run = workspace.xsell(&["send", "picked-for-you", "--now", SEND_AT]);
    assert_eq!(run.code, 0, "{run:?}");
    workspace
}

fn respond(workspace: &Workspace, args: &[&str]) {
    let mut all = vec!["generate", "responses"];
    all.extend_from_slice(args);
    let run = workspace.xsell(&all);
    assert_eq!(run.code, 0, "{run:?}");
}

fn report_json(workspace: &Workspace, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json", "report"];
    all.extend_from_slice(args);
    let run = workspace.xsell(&all);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("NaN"), "{}", run.stdout);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn campaign(report: &Value) -> &Value {
    let campaigns = report["campaigns"].as_array().expect("campaigns");
    assert_eq!(campaigns.len(), 1, "{report:#}");
    &campaigns[0]
}

fn rate(value: &Value) -> f64 {
    value["rate"]
        .as_f64()
        .unwrap_or_else(|| panic!("no rate in {value}"))
}

fn interval(value: &Value) -> (f64, f64, f64) {
    (
        value["difference"].as_f64().expect("difference"),
        value["low"].as_f64().expect("low"),
        value["high"].as_f64().expect("high"),
    )
}

fn flag_kinds(campaign: &Value) -> Vec<String> {
    campaign["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_known_effect_is_recovered_within_its_interval() {
    let workspace =
        sent("offer:\n  percent_off: 10\n  applies_to: new\n  code: unique\n  expires_in: 7d\n");
    let (acceptance, baseline) = (0.3, 0.1);
    respond(
        &workspace,
        &[
            "--acceptance",
            "0.3",
            "--baseline",
            "0.1",
            "--redeem",
            "0.5",
            "--seed",
            "11",
        ],
    );
    let report = report_json(&workspace, &[]);
    let c = campaign(&report);
    assert!(c["sent"].as_u64().unwrap() > 300, "{c:#}");
    assert!(c["held_out"].as_u64().unwrap() > 100, "{c:#}");
    assert_eq!(c["pending"], 0);
    // Acceptance: the planted 30% (a random baseline order rarely hits a shown product).
    let accepted = rate(&c["acceptance"]);
    assert!(
        (accepted - acceptance).abs() < 0.06,
        "acceptance {accepted}"
    );
    assert!(rate(&c["holdout_acceptance"]) < 0.05, "{c:#}");
    // Half the suggested purchases came with the recipient's own code.
    let redeemed = &c["redemption"];
    assert_eq!(redeemed["of"], c["sent"], "every recipient had a code");
    let expected = accepted * 0.5;
    assert!(
        (rate(redeemed) - expected).abs() < 0.05,
        "{redeemed} against {expected}"
    );
    // Purchase rate: recipients order with 1-(1-a)(1-b), the holdout with b.
    let truth = acceptance * (1.0 - baseline);
    let (difference, low, high) = interval(&c["purchase_rate_uplift"]);
    assert!(
        low < truth && truth < high && low > 0.0,
        "uplift {difference} [{low}, {high}] should hold {truth}"
    );
    // Revenue per recipient, per currency: the interval holds the planted
    // effect (acceptance × the value of a suggested item bought), and the
    // largest group is clearly ahead of its holdout.
    let mut judged = Vec::new();
    for money in c["money"].as_array().unwrap() {
        if money["uplift"].is_null() {
            continue;
        }
        let (_, low, high) = interval(&money["uplift"]);
        let planted = acceptance * money["cross_sell_value_per_acceptor"].as_f64().unwrap();
        assert!(low < planted && planted < high, "{planted}: {money:#}");
        judged.push((money["recipients"].as_u64().unwrap(), low));
    }
    let (_, largest_low) = judged
        .iter()
        .max_by_key(|(n, _)| *n)
        .expect("a currency with enough people");
    assert!(*largest_low > 0.0, "{c:#}");
    assert!(flag_kinds(c).contains(&"scale".to_string()), "{c:#}");
    // Time to the secondary purchase: within the 7-day window.
    let timing = &c["time_to_purchase"];
    assert!(timing["median_hours"].as_f64().unwrap() < 7.0 * 24.0);
    assert_eq!(timing["by_day"].as_array().unwrap().len(), 7);
    // The same report twice: the interval is seeded.
    assert_eq!(report_json(&workspace, &[]), report);
    // And in words.
    let text = workspace.xsell(&["report", "picked-for-you"]);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout.contains("signs it's time to scale"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("95% CI"), "{}", text.stdout);
}

#[test]
fn no_effect_reports_no_significant_uplift() {
    let workspace = sent("");
    respond(
        &workspace,
        &["--acceptance", "0", "--baseline", "0.2", "--seed", "5"],
    );
    let c = &campaign(&report_json(&workspace, &[])).clone();
    let (difference, low, high) = interval(&c["purchase_rate_uplift"]);
    assert!(
        low < 0.0 && 0.0 < high,
        "uplift {difference} [{low}, {high}]"
    );
    for money in c["money"].as_array().unwrap() {
        if !money["uplift"].is_null() {
            let (_, low, high) = interval(&money["uplift"]);
            assert!(low < 0.0 && 0.0 < high, "{money:#}");
        }
    }
    let flags = flag_kinds(c);
    assert!(flags.contains(&"low_acceptance".to_string()), "{c:#}");
    assert!(!flags.contains(&"scale".to_string()), "{c:#}");
}

#[test]
fn a_better_variant_is_found_ahead_and_assignment_is_the_plans() {
    let workspace = Workspace::example();
    workspace.write(
        "campaigns/picked-for-you.yaml",
        &format!("{CAMPAIGN}{VARIANTS}"),
    );
    // The plan's assignment, before anything is sent…
    let plan = workspace.xsell(&[
        "--format",
        "json",
        "plan",
        "picked-for-you",
        "--now",
        SEND_AT,
    ]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let planned: std::collections::BTreeMap<String, String> = plan_assignments(&plan);
    assert!(planned.values().any(|v| v == "a") && planned.values().any(|v| v == "b"));
    // … is what the send records in the ledger.
    let run = workspace.xsell(&["send", "picked-for-you", "--now", SEND_AT]);
    assert_eq!(run.code, 0, "{run:?}");
    let ledger = rusqlite::Connection::open(workspace.path().join("state/xsell.db")).unwrap();
    let mut statement = ledger
        .prepare("SELECT c.customer, c.contents FROM message_contents c JOIN messages m USING (campaign, customer, occurrence) WHERE m.state = 'sent'")
        .unwrap();
    let recorded: std::collections::BTreeMap<String, String> = statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .unwrap()
        .map(|row| {
            let (customer, contents) = row.unwrap();
            let contents: Value = serde_json::from_str(&contents).unwrap();
            (customer, contents["variant"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(!recorded.is_empty());
    for (customer, variant) in &recorded {
        assert_eq!(planned.get(customer), Some(variant), "{customer}");
    }
    // Variant b's subject went out to b's customers.
    let b_customer = recorded.iter().find(|(_, v)| *v == "b").unwrap().0;
    let eml = std::fs::read_dir(workspace.path().join("outbox/picked-for-you"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{b_customer}_"))
        })
        .unwrap();
    assert!(
        std::fs::read_to_string(eml)
            .unwrap()
            .contains("Subject: Our bestsellers")
    );

    respond(
        &workspace,
        &[
            "--acceptance",
            "0.15",
            "--variant-acceptance",
            "b=0.45",
            "--baseline",
            "0.05",
            "--seed",
            "3",
        ],
    );
    let c = campaign(&report_json(&workspace, &["picked-for-you"])).clone();
    let variants = c["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2, "{c:#}");
    let verdict = &c["variant_verdict"];
    assert_eq!(verdict["leader"], "b", "{verdict:#}");
    let statement = verdict["statement"].as_str().unwrap();
    assert!(statement.contains("less than two weeks"), "{statement}");
    let (_, low, _) = interval(&verdict["difference"]);
    assert!(low > 0.0, "{verdict:#}");
}

fn plan_assignments(plan: &Value) -> std::collections::BTreeMap<String, String> {
    let campaigns = plan
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![plan.clone()]);
    let mut found = std::collections::BTreeMap::new();
    for campaign in campaigns {
        for message in campaign["planned"].as_array().into_iter().flatten() {
            let customer = message["customer"]["id"]
                .as_str()
                .or_else(|| message["customer"].as_str())
                .expect("customer id")
                .to_string();
            let variant = message["variant"].as_str().expect("variant").to_string();
            found.insert(customer, variant);
        }
    }
    found
}

#[test]
fn edge_cases_give_sensible_output() {
    // Nothing ever sent: no ledger, an empty report, exit 0.
    let empty = Workspace::example();
    let run = empty.xsell(&["report"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Nothing was sent"), "{run:?}");
    assert!(run.stderr.contains("no ledger"), "{run:?}");
    assert!(!empty.path().join("state/xsell.db").exists());
    assert_eq!(report_json(&empty, &[])["campaigns"], Value::Array(vec![]));

    // Everything held out: no NaN, and the report says nothing was sent.
    let held = Workspace::example();
    held.write(
        "campaigns/picked-for-you.yaml",
        &CAMPAIGN.replace("holdout: 30%", "holdout: 100%"),
    );
    let run = held.xsell(&["send", "picked-for-you", "--now", SEND_AT]);
    assert_eq!(run.code, 0, "{run:?}");
    respond(&held, &["--acceptance", "0.5", "--baseline", "0.1"]);
    let c = campaign(&report_json(&held, &[])).clone();
    assert_eq!(c["sent"], 0);
    assert!(c["held_out"].as_u64().unwrap() > 0);
    assert!(c["acceptance"]["rate"].is_null());
    assert!(c["notes"].to_string().contains("nothing was sent"), "{c:#}");
    let text = held.xsell(&["report"]);
    assert!(
        !text.stdout.contains("NaN") && !text.stdout.contains("inf"),
        "{}",
        text.stdout
    );

    // Sent, but no events after the send yet: every message is pending.
    let workspace = sent("");
    let c = campaign(&report_json(&workspace, &["--campaign", "picked-for-you"])).clone();
    assert_eq!(
        c["pending"],
        c["sent"].as_u64().unwrap() + c["held_out"].as_u64().unwrap()
    );
    assert!(c["acceptance"]["rate"].is_null() && c["purchase_rate_uplift"].is_null());
    assert!(
        c["notes"].to_string().contains("window is still open"),
        "{c:#}"
    );

    // Returns larger than purchases, zero-price lines, several currencies.
    respond(
        &workspace,
        &["--acceptance", "0.4", "--returns", "1", "--baseline", "0.1"],
    );
    let mut events = workspace.read("fixtures/events.csv");
    let returned: Vec<String> = events
        .lines()
        .filter(|l| l.contains(",return,"))
        .take(5)
        .map(|l| l.replacen(",1,", ",500,", 1))
        .collect();
    assert!(!returned.is_empty());
    let first_order = events
        .lines()
        .find(|l| l.contains(",order,") && l.contains("SIM"))
        .unwrap()
        .to_string();
    let mut fields: Vec<&str> = first_order.split(',').collect();
    fields[4] = "ZERO1";
    fields[6] = "0";
    let free = fields.join(",");
    for line in returned.iter().chain([&free]) {
        events.push_str(line);
        events.push('\n');
    }
    workspace.write("fixtures/events.csv", &events);
    let c = campaign(&report_json(&workspace, &[])).clone();
    let recommended = &c["returns"]["recommended"];
    assert!(rate(recommended) <= 1.0, "{c:#}");
    assert!(recommended["count"].as_u64().unwrap() <= recommended["of"].as_u64().unwrap());
    assert!(
        flag_kinds(&c).contains(&"more_returns".to_string()),
        "{c:#}"
    );
    let currencies: Vec<&str> = c["money"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["currency"].as_str().unwrap())
        .collect();
    assert!(currencies.len() >= 2, "money per currency: {currencies:?}");
    let mut sorted = currencies.clone();
    sorted.dedup();
    assert_eq!(sorted, currencies);

    // A period without sends.
    let later = report_json(&workspace, &["--since", "2026-11-21"]);
    assert_eq!(later["campaigns"], Value::Array(vec![]));
}

#[test]
fn a_broken_neighbour_campaign_does_not_stop_the_report() {
    let workspace = sent("");
    respond(&workspace, &["--acceptance", "0.3", "--baseline", "0.1"]);
    workspace.write("campaigns/broken.yaml", "id: broken\nsubject: [\n");
    let run = workspace.xsell(&["--format", "json", "report"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(campaign(&report)["campaign"], "picked-for-you");
    let warning: Value = serde_json::from_str(run.stderr.lines().next().unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    assert_eq!(warning["level"], "warning", "{warning}");
    assert!(warning["message"].as_str().unwrap().contains("xsell check"));
    // An unknown campaign is a usage error that names the known ones.
    let run = workspace.xsell(&["report", "nope"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("picked-for-you"), "{run:?}");
}

#[test]
fn the_html_report_renders_its_charts_in_chromium_and_serve_links_to_it() {
    let workspace = sent(VARIANTS);
    respond(
        &workspace,
        &[
            "--acceptance",
            "0.2",
            "--variant-acceptance",
            "b=0.4",
            "--baseline",
            "0.1",
        ],
    );
    let page = workspace.path().join("report.html");
    let run = workspace.xsell(&["report", "--html", page.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page loads nothing from elsewhere"
    );

    let browser = Browser::start(1200, 1600);
    browser.goto(&format!("file://{}", page.display()));
    let charts = browser.execute(
        "return Array.from(document.querySelectorAll('figure.chart')).map(f => [f.className, f.querySelectorAll('rect, circle').length]);",
        vec![],
    );
    let charts = charts.as_array().unwrap();
    for kind in ["acceptance", "uplift", "timing", "variants"] {
        let marks = charts
            .iter()
            .find(|c| c[0].as_str().unwrap().contains(kind))
            .unwrap_or_else(|| panic!("no {kind} chart: {charts:?}"))[1]
            .as_u64()
            .unwrap();
        assert!(marks > 0, "the {kind} chart draws nothing: {charts:?}");
    }
    assert!(browser.text("body").contains("variant `b` is ahead"));
    keep_and_check_screenshot("report.png", &browser.screenshot(), None);

    let serve = Serve::start(&workspace, &[]);
    let index = reqwest::blocking::get(format!("{}/", serve.base))
        .unwrap()
        .text()
        .unwrap();
    assert!(index.contains("href=\"/report/picked-for-you\""), "{index}");
    let served = reqwest::blocking::get(format!("{}/report/picked-for-you", serve.base)).unwrap();
    assert_eq!(served.status(), 200, "{}", serve.log());
    let served = served.text().unwrap();
    assert!(served.contains("What the messages did") && served.contains("<svg"));
    let missing = reqwest::blocking::get(format!("{}/report/nope", serve.base)).unwrap();
    assert_eq!(missing.status(), 404);
    // Each variant can be previewed.
    let b = reqwest::blocking::get(format!(
        "{}/c/picked-for-you/view?customer=C000003&variant=b",
        serve.base
    ))
    .unwrap()
    .text()
    .unwrap();
    assert!(b.contains("Our bestsellers"), "{b}");
    let bad = reqwest::blocking::get(format!(
        "{}/c/picked-for-you/view?customer=C000003&variant=zz",
        serve.base
    ))
    .unwrap();
    assert_eq!(bad.status(), 404);
}
