//! The planning pipeline on a hand-made shop: each reason a message is not
//! sent, the order of the checks, caps across one run, holdout, empty
//! lists, newsletters, and the same output whatever the thread count.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, TimeDelta};
use chrono_tz::Tz;

use super::*;
use crate::campaign::{self, CheckContext};
use crate::data::{ProductIx, store_from_csv};
use crate::history::{MemoryHistory, Outcome, SuppressionReason};
use crate::recommend::Recommendation;
use crate::units::parse_rate;

const CATALOG: &str = "\
id,name,category,manufacturer,price,currency,rating,rating_count,stock,created_at,url,image_url,prices
P1,Gentle Body Soap,Body Care,Maison Douce,12.00,USD,4.6,120,50,2026-01-01T00:00:00Z,https://shop.example/p/P1,https://shop.example/i/P1.jpg,EUR=11.00
P2,Hydrating Moisturiser,Body Care,Maison Douce,24.00,USD,4.8,80,10,2026-01-01T00:00:00Z,https://shop.example/p/P2,https://shop.example/i/P2.jpg,EUR=22.00
";

const CUSTOMERS: &str = "\
id,email,first_name,locale,timezone,tier,consent,created_at,tags,currency
C1,c1@example.com,Ana,en-US,Europe/Paris,gold,false,2025-01-01T00:00:00Z,,USD
C2,c2@example.com,Ben,en-US,Europe/Paris,gold,true,2025-01-01T00:00:00Z,,USD
C3,c3@example.com,Cy,en-US,Europe/Paris,gold,true,2025-01-01T00:00:00Z,,USD
C4,c4@example.com,Di,en-US,Europe/Paris,gold,true,2025-01-01T00:00:00Z,,USD
C5,c5@example.com,Ed,en-US,Europe/Paris,gold,true,2025-01-01T00:00:00Z,,USD
C6,c6@example.com,Flo,en-US,Europe/Paris,gold,true,2025-01-01T00:00:00Z,,USD
C7,c7@example.com,Gus,fr-FR,Europe/Paris,gold,true,2025-01-01T00:00:00Z,,EUR
C8,c8@example.com,Hal,en-US,Europe/Paris,gold,true,2025-01-01T00:00:00Z,,USD
C9,c9@example.com,Ida,en-US,America/New_York,gold,true,2025-01-01T00:00:00Z,,USD
";

const NOW: &str = "2026-11-16T12:00:00Z";

fn at(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text).unwrap().timestamp()
}

fn order_line(customer: &str, order: &str, hours_ago: i64) -> String {
    let ts = crate::calendar::rfc3339(at(NOW) - hours_ago * 3_600);
    format!("{ts},{customer},order,P1,{order},1,12.00")
}

fn store() -> Store {
    let mut events = String::from("ts,customer_id,kind,product_id,order_id,quantity,unit_price\n");
    for (customer, order, hours_ago) in [
        ("C1", "O1", 5),
        ("C2", "O2", 5),
        ("C3", "O3", 5),
        ("C4", "O4a", 30),
        ("C4", "O4b", 5),
        ("C5", "O5", 5),
        ("C6", "O6", 5),
        ("C7", "O7", 5),
        ("C8", "O8", 5),
        ("C9", "O9", 5),
    ] {
        events.push_str(&order_line(customer, order, hours_ago));
        events.push('\n');
    }
    store_from_csv(CATALOG, CUSTOMERS, &events).unwrap()
}

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

fn campaign(store: &Store, yaml: &str) -> Campaign {
    let text: Arc<str> = Arc::from(yaml);
    let display = Path::new("campaigns/test.yaml");
    let raw = campaign::parse(display, &text).unwrap();
    let context = CheckContext {
        store: Some(store),
        templates_dir: &templates(),
        shop_timezone: Tz::Europe__Paris,
    };
    campaign::check::check_campaign(raw, display, &text, &context)
        .unwrap_or_else(|problems| panic!("{problems}"))
}

const POST_PURCHASE: &str = "
id: complete
name: Complete your routine
template: post_purchase.mjml
subject: Hi
trigger: { kind: post_purchase, within: 48h }
lists:
  complete: { source: manual, ids: [P2], limit: 3 }
offer: { amount_off: { USD: 5 }, applies_to: complete, code: unique, expires_in: 7d }
caps: { per_customer: 1/7d }
";

/// Gives every customer the products listed for them (none when absent).
struct FixedResolver(HashMap<&'static str, Vec<ProductIx>>);

impl ListResolver for FixedResolver {
    fn resolve(
        &self,
        store: &Store,
        campaign: &Campaign,
        customer: CustomerIx,
        _occurrence: Option<&Occurrence>,
        _now: i64,
    ) -> Vec<ResolvedList> {
        let id: &str = &store.customer(customer).id;
        let products = self.0.get(id).cloned().unwrap_or_default();
        campaign
            .lists
            .iter()
            .map(|spec| ResolvedList {
                name: spec.name.clone(),
                items: products
                    .iter()
                    .map(|p| Recommendation {
                        product: *p,
                        source: crate::campaign::SourceKind::Manual,
                        reason: "fixed".into(),
                        score: 1.0,
                    })
                    .collect(),
                on_empty: spec.on_empty,
            })
            .collect()
    }
}

fn resolver_for_all_but(store: &Store, left_out: &[&'static str]) -> FixedResolver {
    let ids = ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"];
    FixedResolver(
        ids.into_iter()
            .filter(|id| !left_out.contains(id))
            .map(|id| (id, vec![store.product_ix("P2").unwrap()]))
            .collect(),
    )
}

fn global_caps() -> GlobalCaps {
    GlobalCaps {
        max: Some(parse_rate("2/7d").unwrap()),
        min_gap: Some(TimeDelta::hours(16)),
        on_cap: OnCap::Skip,
        quiet_hours: None,
    }
}

/// (customer id, occurrence key, outcome) per occurrence, planned first.
fn outcomes(store: &Store, plan: &CampaignPlan) -> Vec<(String, String, String)> {
    let id = |o: &Occurrence| store.customer(o.customer).id.to_string();
    let planned = plan.planned.iter().map(|m| {
        (
            id(&m.occurrence),
            m.occurrence.key.clone(),
            "planned".to_string(),
        )
    });
    let skipped = plan.skipped.iter().map(|s| {
        (
            id(&s.occurrence),
            s.occurrence.key.clone(),
            s.reason.summary(),
        )
    });
    planned.chain(skipped).collect()
}

fn row(customer: &str, key: &str, outcome: &str) -> (String, String, String) {
    (customer.into(), key.into(), outcome.into())
}

fn history() -> MemoryHistory {
    let mut history = MemoryHistory::new();
    history.suppress(
        "C2@example.com",
        SuppressionReason::Unsubscribed,
        at(NOW) - 1_000,
    );
    history.record("complete", "C3", "order:O3", Outcome::Sent, at(NOW) - 3_600);
    history.record_send("C5", "another-campaign", at(NOW) - 3_600);
    history
}

#[test]
fn every_reason_in_pipeline_order() {
    let store = store();
    let campaign = campaign(&store, POST_PURCHASE);
    let caps = global_caps();
    let key = SigningKey::new("test");
    let inputs = PlanInputs {
        store: &store,
        caps: &caps,
        signing_key: &key,
    };
    let resolver = resolver_for_all_but(&store, &["C6"]);
    let plan = plan_campaign(&inputs, &campaign, at(NOW), None, &history(), &resolver);
    assert_eq!(plan.occurrences, 10);
    assert_eq!(
        outcomes(&store, &plan),
        [
            row("C4", "order:O4a", "planned"),
            row("C8", "order:O8", "planned"),
            row("C9", "order:O9", "planned"),
            row("C1", "order:O1", "no consent"),
            row("C2", "order:O2", "suppressed: unsubscribed"),
            row("C3", "order:O3", "already sent for this moment"),
            row("C4", "order:O4b", "capped: campaign rate"),
            row("C5", "order:O5", "capped: global gap"),
            row("C6", "order:O6", "empty list complete"),
            row("C7", "order:O7", "no offer in EUR"),
        ]
    );
    let c8 = &plan.planned[1];
    let offer = c8.offer.as_ref().unwrap();
    assert_eq!(offer.amount.unwrap().to_string(), "5.00");
    assert_eq!(
        offer.code.as_deref(),
        Some(crate::offer::code::unique_code(&key, "complete", "C8", "order:O8").as_str())
    );
    assert_eq!(
        c8.lists[0].items[0].product,
        store.product_ix("P2").unwrap()
    );
    let gap = plan
        .skipped
        .iter()
        .find(|s| matches!(s.reason, SkipReason::Capped { .. }) && s.occurrence.key == "order:O5")
        .unwrap();
    assert_eq!(
        gap.reason,
        SkipReason::Capped {
            cap: Cap::MinGap { gap: "16h".into() },
            allowed_at: Some(at(NOW) + 15 * 3_600),
            on_cap: OnCap::Skip,
        }
    );
}

#[test]
fn quiet_hours_defer_and_campaign_on_cap_overrides() {
    let store = store();
    let yaml = POST_PURCHASE.replace(
        "caps: { per_customer: 1/7d }",
        "caps: { per_customer: 1/7d, on_cap: defer }",
    );
    let campaign = campaign(&store, &yaml);
    let mut caps = global_caps();
    caps.quiet_hours = Some(crate::config::QuietHours {
        start: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
    });
    let key = SigningKey::new("test");
    let inputs = PlanInputs {
        store: &store,
        caps: &caps,
        signing_key: &key,
    };
    // 12:00 UTC is 07:00 in New York: quiet.
    let plan = plan_campaign(
        &inputs,
        &campaign,
        at(NOW),
        None,
        &history(),
        &resolver_for_all_but(&store, &[]),
    );
    let summary: Vec<(String, String)> = outcomes(&store, &plan)
        .into_iter()
        .filter(|(c, _, _)| ["C4", "C5", "C9"].contains(&c.as_str()))
        .map(|(c, k, o)| (format!("{c} {k}"), o))
        .collect();
    assert_eq!(
        summary,
        [
            ("C4 order:O4a".to_string(), "planned".to_string()),
            ("C4 order:O4b".into(), "deferred: campaign rate".into()),
            ("C5 order:O5".into(), "deferred: global gap".into()),
            ("C9 order:O9".into(), "deferred: quiet hours".into()),
        ]
    );
    // With on_cap = skip (the global default here), quiet hours still defer.
    let campaign = self::campaign(&store, POST_PURCHASE);
    let plan = plan_campaign(
        &inputs,
        &campaign,
        at(NOW),
        None,
        &history(),
        &resolver_for_all_but(&store, &[]),
    );
    let c9 = plan
        .skipped
        .iter()
        .find(|s| s.occurrence.key == "order:O9")
        .unwrap();
    assert_eq!(
        c9.reason,
        SkipReason::Capped {
            cap: Cap::QuietHours {
                start: "21:00".into(),
                end: "08:00".into()
            },
            allowed_at: Some(at("2026-11-16T13:00:00Z")),
            on_cap: OnCap::Defer,
        }
    );
}

#[test]
fn omit_block_sends_without_the_empty_list() {
    let store = store();
    let yaml = POST_PURCHASE.replace("limit: 3 }", "limit: 3, on_empty: omit_block }");
    let campaign = campaign(&store, &yaml);
    let caps = global_caps();
    let key = SigningKey::new("test");
    let inputs = PlanInputs {
        store: &store,
        caps: &caps,
        signing_key: &key,
    };
    let plan = plan_campaign(
        &inputs,
        &campaign,
        at(NOW),
        None,
        &MemoryHistory::new(),
        &resolver_for_all_but(&store, &["C6"]),
    );
    let c6 = plan
        .planned
        .iter()
        .find(|m| m.occurrence.key == "order:O6")
        .expect("C6 is planned");
    assert_eq!(c6.lists.len(), 1);
    assert!(c6.lists[0].items.is_empty());
}

#[test]
fn holdout_is_recorded_not_sent() {
    let store = store();
    let yaml = format!("{POST_PURCHASE}holdout: 50%\n");
    let campaign = campaign(&store, &yaml);
    let caps = GlobalCaps {
        max: None,
        min_gap: None,
        on_cap: OnCap::Skip,
        quiet_hours: None,
    };
    let key = SigningKey::new("test");
    let inputs = PlanInputs {
        store: &store,
        caps: &caps,
        signing_key: &key,
    };
    let plan = plan_campaign(
        &inputs,
        &campaign,
        at(NOW),
        None,
        &MemoryHistory::new(),
        &resolver_for_all_but(&store, &[]),
    );
    let held: Vec<String> = plan
        .skipped
        .iter()
        .filter(|s| s.reason == SkipReason::HeldOut)
        .map(|s| store.customer(s.occurrence.customer).id.to_string())
        .collect();
    let expected: Vec<String> = ["C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"]
        .iter()
        .filter(|c| crate::audience::in_holdout("complete", c, 5_000))
        .map(|c| c.to_string())
        .collect();
    assert!(
        !expected.is_empty() && expected.len() < 8,
        "the split is not degenerate: {expected:?}"
    );
    // C4's two orders are both held out.
    let expected_rows = expected
        .iter()
        .map(|c| if c == "C4" { 2 } else { 1 })
        .sum::<usize>();
    assert_eq!(held.len(), expected_rows);
    let mut unique = held.clone();
    unique.dedup();
    assert_eq!(unique, expected);
    assert!(
        plan.planned
            .iter()
            .all(|m| !expected.contains(&store.customer(m.occurrence.customer).id.to_string()))
    );
}

#[test]
fn a_newsletter_is_one_occurrence_per_customer_keyed_by_the_run() {
    let store = store();
    let yaml = "
id: news
name: News
template: new_arrivals.mjml
subject: News
audience: { min_orders: 1 }
lists:
  picks: { source: manual, ids: [P2] }
";
    let campaign = campaign(&store, yaml);
    let caps = global_caps();
    let key = SigningKey::new("test");
    let inputs = PlanInputs {
        store: &store,
        caps: &caps,
        signing_key: &key,
    };
    let due = at("2026-11-16T08:00:00Z");
    let plan = plan_campaign(
        &inputs,
        &campaign,
        at(NOW),
        Some(due),
        &history(),
        &resolver_for_all_but(&store, &[]),
    );
    assert_eq!(plan.occurrences, 9);
    assert!(
        plan.planned
            .iter()
            .all(|m| m.occurrence.key == "newsletter:2026-11-16T08:00:00Z")
    );
    let planned: Vec<String> = plan
        .planned
        .iter()
        .map(|m| store.customer(m.occurrence.customer).id.to_string())
        .collect();
    // C3 was sent another campaign an hour ago (global gap); C5 too.
    assert_eq!(planned, ["C4", "C6", "C7", "C8", "C9"]);
}

#[test]
fn the_same_plan_whatever_the_thread_count() {
    let store = store();
    let campaign = campaign(&store, POST_PURCHASE);
    let caps = global_caps();
    let key = SigningKey::new("test");
    let inputs = PlanInputs {
        store: &store,
        caps: &caps,
        signing_key: &key,
    };
    let history = history();
    let resolver = resolver_for_all_but(&store, &["C6"]);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let plan =
            pool.install(|| plan_campaign(&inputs, &campaign, at(NOW), None, &history, &resolver));
        serde_json::to_string(&plan).unwrap()
    };
    assert_eq!(run(1), run(4));
}
