//! Each trigger kind at the edges of its window: one second inside, one
//! outside; local days and months in the customer's time zone; DST changes.

use chrono::{DateTime, TimeDelta};

use super::*;
use crate::campaign::{BrowsePer, Period};
use crate::data::store_from_csv;

const CATALOG: &str = "\
id,name,category,manufacturer,price,currency,rating,rating_count,stock,created_at,url,image_url
P1,Gentle Body Soap,Body Care,Maison Douce,12.00,USD,4.6,120,50,2026-01-01T00:00:00Z,https://shop.example/p/P1,https://shop.example/i/P1.jpg
P2,Hydrating Moisturiser,Body Care,Maison Douce,24.00,USD,4.8,80,10,2026-01-01T00:00:00Z,https://shop.example/p/P2,https://shop.example/i/P2.jpg
P3,Road Runner 1,Running Shoes,Stride,90.00,USD,4.5,40,5,2026-01-01T00:00:00Z,https://shop.example/p/P3,https://shop.example/i/P3.jpg
P4,The Winter Queen,Historical Fiction,Quill,15.00,USD,4.2,30,100,2026-01-01T00:00:00Z,https://shop.example/p/P4,https://shop.example/i/P4.jpg
P5,Velvet Hand Cream,Body Care,Maison Douce,16.00,USD,4.7,10,20,2026-11-09T09:00:01Z,https://shop.example/p/P5,https://shop.example/i/P5.jpg
P6,Silk Body Oil,Body Care,Maison Douce,30.00,USD,4.7,10,20,2026-11-09T09:00:00Z,https://shop.example/p/P6,https://shop.example/i/P6.jpg
";

const CUSTOMERS: &str = "\
id,email,first_name,locale,timezone,tier,consent,created_at
NY,ny@example.com,Ana,en-US,America/New_York,gold,true,2025-01-01T00:00:00Z
PA,pa@example.com,Paul,fr-FR,Europe/Paris,silver,true,2025-01-01T00:00:00Z
LA,la@example.com,Lea,en-US,America/Los_Angeles,bronze,true,2025-01-01T00:00:00Z
UT,ut@example.com,Uma,en-GB,UTC,bronze,true,2025-01-01T00:00:00Z
";

const HEADER: &str =
    "ts,customer_id,kind,product_id,order_id,quantity,unit_price,value,metric,gift\n";

/// The fixtures' `now`.
const NOW: &str = "2026-11-16T09:00:00Z";

fn at(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text).unwrap().timestamp()
}

fn time(ts: i64) -> String {
    crate::calendar::rfc3339(ts)
}

/// `now` shifted by a number of seconds, as RFC 3339.
fn before_now(seconds: i64) -> String {
    time(at(NOW) - seconds)
}

fn store(events: &[String]) -> Store {
    let mut text = HEADER.to_string();
    for line in events {
        text.push_str(line);
        text.push('\n');
    }
    store_from_csv(CATALOG, CUSTOMERS, &text).unwrap()
}

/// (customer id, key) of each occurrence.
fn keys(store: &Store, trigger: &Trigger, now: i64) -> Vec<(String, String)> {
    occurrences(store, trigger, now)
        .into_iter()
        .map(|o| (store.customer(o.customer).id.to_string(), o.key))
        .collect()
}

fn pair(customer: &str, key: &str) -> (String, String) {
    (customer.to_string(), key.to_string())
}

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

fn order(ts: &str, customer: &str, product: &str, id: &str, gift: bool) -> String {
    format!("{ts},{customer},order,{product},{id},1,10.00,,,{gift}")
}

fn event(ts: &str, customer: &str, kind: &str, product: &str) -> String {
    format!("{ts},{customer},{kind},{product},,,,,,")
}

#[test]
fn window_is_open_after_delay_and_before_within() {
    let now = at(NOW);
    let window = Window::new(now, TimeDelta::hours(48), TimeDelta::hours(2));
    assert!(window.contains(now - 48 * HOUR + 1));
    assert!(!window.contains(now - 48 * HOUR));
    assert!(window.contains(now - 2 * HOUR));
    assert!(!window.contains(now - 2 * HOUR + 1));
    let no_delay = Window::new(now, TimeDelta::hours(1), TimeDelta::zero());
    assert!(no_delay.contains(now - 1));
    assert!(!no_delay.contains(now), "only the past counts");
}

#[test]
fn post_purchase_from_delay_to_within_after_the_order() {
    let store = store(&[
        order(&before_now(48 * HOUR), "NY", "P1", "O-too-old", false),
        order(
            &before_now(48 * HOUR - 1),
            "NY",
            "P1",
            "O-oldest-open",
            false,
        ),
        order(&before_now(2 * HOUR), "PA", "P1", "O-just-ready", false),
        order(&before_now(2 * HOUR - 1), "PA", "P2", "O-too-new", false),
        order(&before_now(5 * HOUR), "LA", "P3", "O-gift", true),
    ]);
    let trigger = Trigger::PostPurchase {
        within: TimeDelta::hours(48),
        delay: TimeDelta::hours(2),
        categories: vec![],
    };
    assert_eq!(
        keys(&store, &trigger, at(NOW)),
        [
            pair("NY", "order:O-oldest-open"),
            pair("PA", "order:O-just-ready")
        ]
    );
    let gifts = Trigger::GiftPurchase {
        within: TimeDelta::hours(48),
    };
    assert_eq!(keys(&store, &gifts, at(NOW)), [pair("LA", "order:O-gift")]);
    let shoes_only = Trigger::PostPurchase {
        within: TimeDelta::hours(48),
        delay: TimeDelta::hours(2),
        categories: vec!["Running Shoes".into()],
    };
    assert_eq!(keys(&store, &shoes_only, at(NOW)), []);
}

#[test]
fn post_purchase_products_are_the_order_biggest_line_first() {
    let ts = before_now(3 * HOUR);
    let store = store(&[
        format!("{ts},NY,order,P1,O1,1,12.00,,,false"),
        format!("{ts},NY,order,P3,O1,1,90.00,,,false"),
        format!("{ts},NY,order,P2,O1,2,24.00,,,false"),
    ]);
    let trigger = Trigger::PostPurchase {
        within: TimeDelta::hours(48),
        delay: TimeDelta::zero(),
        categories: vec!["Body Care".into()],
    };
    let found = occurrences(&store, &trigger, at(NOW));
    assert_eq!(found.len(), 1);
    let ids: Vec<&str> = found[0]
        .products
        .iter()
        .map(|p| &*store.product(*p).id)
        .collect();
    assert_eq!(
        ids,
        ["P2", "P1"],
        "the category filter keeps Body Care lines"
    );
    assert_eq!(found[0].at, at(NOW) - 3 * HOUR);
    assert_eq!(found[0].category, store.categories().get("Body Care"));
}

fn browse(within_days: i64) -> Trigger {
    Trigger::Browse {
        min_views: 3,
        per: BrowsePer::Category,
        within: TimeDelta::days(within_days),
        categories: vec!["Historical Fiction".into()],
    }
}

#[test]
fn browse_crosses_the_threshold_once_and_keys_by_local_day() {
    // LA: the third view at 04:30 UTC on the 15th is the 14th in Los Angeles.
    let third = at("2026-11-15T04:30:00Z");
    let store = store(&[
        event(&time(third - 2 * DAY + 60), "LA", "view", "P4"),
        event(&time(third - 60), "LA", "view", "P4"),
        event(&time(third), "LA", "view", "P4"),
        event(&time(third + 600), "LA", "view", "P4"),
        event(&time(third + 700), "LA", "view", "P1"),
    ]);
    let expected = [pair("LA", "browse:Historical Fiction:2026-11-14")];
    assert_eq!(
        keys(&store, &browse(3), third),
        [],
        "the crossing view is not before now"
    );
    assert_eq!(keys(&store, &browse(3), third + 1), expected);
    assert_eq!(
        keys(&store, &browse(3), third + 3 * DAY - 1),
        expected,
        "same key later"
    );
    assert_eq!(keys(&store, &browse(3), third + 3 * DAY), []);
    let found = occurrences(&store, &browse(3), third + DAY);
    assert_eq!(found[0].at, third, "the fourth view does not cross again");
    assert_eq!(found[0].detail, Detail::Views { count: 4 });
    // Two views in the window are not enough.
    assert_eq!(keys(&store, &browse(1), third + 1), []);
}

#[test]
fn browse_is_cancelled_by_an_order() {
    let third = at("2026-11-15T12:00:00Z");
    let views = [
        event(&time(third - 120), "PA", "view", "P4"),
        event(&time(third - 60), "PA", "view", "P4"),
        event(&time(third), "PA", "view", "P4"),
    ];
    let mut with_order = views.to_vec();
    with_order.push(order(&time(third + HOUR), "PA", "P4", "O1", false));
    let store = store(&with_order);
    assert_eq!(
        keys(&store, &browse(3), third + HOUR),
        [pair("PA", "browse:Historical Fiction:2026-11-15")]
    );
    assert_eq!(keys(&store, &browse(3), third + HOUR + 1), []);
}

#[test]
fn browse_per_product() {
    let t = at("2026-11-15T12:00:00Z");
    let store = store(&[
        event(&time(t - 120), "UT", "view", "P1"),
        event(&time(t - 60), "UT", "view", "P2"),
        event(&time(t), "UT", "view", "P1"),
        event(&time(t + 60), "UT", "view", "P1"),
    ]);
    let trigger = Trigger::Browse {
        min_views: 3,
        per: BrowsePer::Product,
        within: TimeDelta::days(1),
        categories: vec![],
    };
    assert_eq!(
        keys(&store, &trigger, t + HOUR),
        [pair("UT", "browse:product:P1:2026-11-15")]
    );
}

fn cart_trigger() -> Trigger {
    Trigger::CartAbandoned {
        delay: TimeDelta::hours(1),
        within: TimeDelta::hours(24),
    }
}

#[test]
fn cart_abandoned_from_delay_to_within() {
    let store = store(&[
        event(&before_now(24 * HOUR), "NY", "cart", "P1"),
        event(&before_now(24 * HOUR - 1), "PA", "cart", "P1"),
        event(&before_now(HOUR), "LA", "cart", "P3"),
        event(&before_now(HOUR - 1), "UT", "cart", "P3"),
    ]);
    assert_eq!(
        keys(&store, &cart_trigger(), at(NOW)),
        [pair("PA", "cart:2026-11-15"), pair("LA", "cart:2026-11-16")]
    );
}

#[test]
fn cart_ordered_later_is_not_abandoned_and_one_day_is_one_moment() {
    let t = at(NOW) - 5 * HOUR;
    let store = store(&[
        event(&time(t - 30), "PA", "cart", "P1"),
        event(&time(t - 20), "PA", "cart", "P2"),
        event(&time(t - 10), "PA", "cart", "P3"),
        order(&time(t), "PA", "P3", "O1", false),
        // Ordered after now: not known yet at now.
        event(&time(t), "NY", "cart", "P1"),
        order(&time(at(NOW) + 1), "NY", "P1", "O2", false),
    ]);
    let found = occurrences(&store, &cart_trigger(), at(NOW));
    assert_eq!(found.len(), 2);
    assert_eq!(&*store.customer(found[0].customer).id, "NY");
    let pa = &found[1];
    assert_eq!(pa.key, "cart:2026-11-16");
    let ids: Vec<&str> = pa.products.iter().map(|p| &*store.product(*p).id).collect();
    assert_eq!(ids, ["P2", "P1"], "most recent first; P3 was ordered");
    assert_eq!(pa.at, t - 20);
}

#[test]
fn support_resolved_within() {
    let store = store(&[
        event(&before_now(48 * HOUR), "NY", "support_resolved", "P3"),
        event("2026-11-14T09:00:01Z", "PA", "support_resolved", "P3"),
        event(&before_now(HOUR), "LA", "support_resolved", "P1"),
    ]);
    let trigger = Trigger::SupportResolved {
        within: TimeDelta::hours(48),
        categories: vec!["Running Shoes".into()],
    };
    assert_eq!(
        keys(&store, &trigger, at(NOW)),
        [pair("PA", "support:P3:2026-11-14T09:00:01Z")]
    );
}

fn usage(ts: &str, customer: &str, value: &str) -> String {
    format!("{ts},{customer},usage,P3,,,,{value},workouts,")
}

fn workouts(period: Period) -> Trigger {
    Trigger::UsageMilestone {
        metric: "workouts".into(),
        threshold: 20.0,
        period,
        within: TimeDelta::hours(48),
    }
}

#[test]
fn usage_milestone_first_crossing_in_the_local_month() {
    // Paris: 22:30 UTC on 31 October is still October there; 23:30 UTC is 1 November.
    // Utc customer: both are October, so only the first counts.
    let store = store(&[
        usage("2026-10-31T22:30:00Z", "PA", "21"),
        usage("2026-10-31T23:30:00Z", "PA", "20"),
        usage("2026-10-31T22:30:00Z", "UT", "21"),
        usage("2026-10-31T23:30:00Z", "UT", "22"),
    ]);
    let now = at("2026-11-01T00:00:00Z");
    assert_eq!(
        keys(&store, &workouts(Period::Month), now),
        [
            pair("PA", "usage:workouts:20:2026-10"),
            pair("PA", "usage:workouts:20:2026-11"),
            pair("UT", "usage:workouts:20:2026-10"),
        ]
    );
    assert_eq!(
        keys(&store, &workouts(Period::Total), now),
        [
            pair("PA", "usage:workouts:20:total"),
            pair("UT", "usage:workouts:20:total")
        ]
    );
    let found = occurrences(&store, &workouts(Period::Month), now);
    assert_eq!(
        found[1].detail,
        Detail::Metric {
            name: "workouts".into(),
            value: 20.0,
            threshold: 20.0
        }
    );
}

#[test]
fn usage_milestone_window_edges_and_below_threshold() {
    let store = store(&[
        usage(&before_now(48 * HOUR), "NY", "20"),
        usage(&before_now(48 * HOUR - 1), "PA", "25"),
        usage(&before_now(HOUR), "LA", "19"),
    ]);
    assert_eq!(
        keys(&store, &workouts(Period::Month), at(NOW)),
        [pair("PA", "usage:workouts:20:2026-11")]
    );
}

#[test]
fn usage_milestone_per_local_day_across_a_dst_change() {
    // 29 March 2026 in Paris lasts 23 hours: 23:00 UTC on the 28th to 22:00 UTC on the 29th.
    let store = store(&[
        usage("2026-03-28T22:59:59Z", "PA", "20"),
        usage("2026-03-28T23:00:00Z", "PA", "20"),
        usage("2026-03-29T21:59:59Z", "PA", "21"),
        usage("2026-03-29T22:00:00Z", "PA", "22"),
    ]);
    assert_eq!(
        keys(&store, &workouts(Period::Day), at("2026-03-30T00:00:00Z")),
        [
            pair("PA", "usage:workouts:20:2026-03-28"),
            pair("PA", "usage:workouts:20:2026-03-29"),
            pair("PA", "usage:workouts:20:2026-03-30"),
        ]
    );
}

fn tier_event(ts: &str, customer: &str, tier: &str) -> String {
    format!("{ts},{customer},tier_changed,,,,,,{tier},")
}

#[test]
fn tier_reached_within_and_not_superseded() {
    let store = store(&[
        tier_event(&before_now(7 * DAY), "NY", "gold"),
        tier_event(&before_now(7 * DAY - 1), "PA", "gold"),
        tier_event(&before_now(3 * DAY), "LA", "gold"),
        tier_event(&before_now(DAY), "LA", "platinum"),
        tier_event(&before_now(DAY), "UT", "silver"),
    ]);
    let trigger = Trigger::TierReached {
        tiers: vec!["gold".into(), "platinum".into()],
        within: TimeDelta::days(7),
    };
    assert_eq!(
        keys(&store, &trigger, at(NOW)),
        [
            pair("PA", "tier:gold:2026-11-09T09:00:01Z"),
            pair("LA", "tier:platinum:2026-11-15T09:00:00Z"),
        ]
    );
    let found = occurrences(&store, &trigger, at(NOW));
    assert_eq!(
        found[1].detail,
        Detail::Tier {
            tier: "platinum".into()
        }
    );
}

fn inactive() -> Trigger {
    Trigger::Inactive {
        after: TimeDelta::days(90),
        within: TimeDelta::days(7),
    }
}

#[test]
fn inactive_from_after_until_within() {
    let store = store(&[
        order(&before_now(90 * DAY), "NY", "P1", "O1", false),
        order(&before_now(90 * DAY + 1), "PA", "P1", "O2", false),
        order(&before_now(97 * DAY - 1), "LA", "P1", "O3", false),
        order(&before_now(97 * DAY), "UT", "P1", "O4", false),
    ]);
    let found = occurrences(&store, &inactive(), at(NOW));
    let got: Vec<_> = found
        .iter()
        .map(|o| {
            (
                store.customer(o.customer).id.to_string(),
                o.key.clone(),
                o.at,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("PA".into(), "inactive:2026-11-16".into(), at(NOW) - 1),
            (
                "LA".into(),
                "inactive:2026-11-09".into(),
                at(NOW) - 7 * DAY + 1
            ),
        ]
    );
    assert_eq!(found[0].detail, Detail::Inactive { days: 90 });
}

#[test]
fn inactive_needs_the_last_order_to_be_that_old() {
    let store = store(&[
        order(&before_now(91 * DAY), "PA", "P1", "O1", false),
        order(&before_now(10 * DAY), "PA", "P1", "O2", false),
        order(&before_now(91 * DAY), "NY", "P1", "O3", false),
        // After now: unknown at now.
        order(&time(at(NOW) + 60), "NY", "P1", "O4", false),
    ]);
    assert_eq!(
        keys(&store, &inactive(), at(NOW)),
        [pair("NY", "inactive:2026-11-15")]
    );
}

#[test]
fn second_visit_after_thirty_minutes_away() {
    let first = at("2026-11-15T10:00:00Z");
    let store = store(&[
        event(&time(first), "UT", "view", "P1"),
        event(&time(first + 20 * 60), "UT", "view", "P2"),
        // 30 minutes exactly: still the first visit.
        event(&time(first + 50 * 60), "UT", "cart", "P2"),
        event(&time(first + 80 * 60 + 1), "UT", "view", "P3"),
        event(&time(first + 90 * 60), "UT", "view", "P1"),
        event(&time(first + 200 * 60), "UT", "view", "P4"),
    ]);
    let second = first + 80 * 60 + 1;
    let trigger = Trigger::SecondVisit {
        within: TimeDelta::hours(48),
    };
    assert_eq!(keys(&store, &trigger, second), []);
    let found = occurrences(&store, &trigger, second + 48 * HOUR - 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, "second_visit:2026-11-15T11:20:01Z");
    let ids: Vec<&str> = found[0]
        .products
        .iter()
        .map(|p| &*store.product(*p).id)
        .collect();
    assert_eq!(ids, ["P3", "P1"], "the products of the second visit");
    assert_eq!(keys(&store, &trigger, second + 48 * HOUR), []);
}

#[test]
fn new_arrival_in_an_engaged_category() {
    // P5 launched 2026-11-09T09:00:01Z (inside 7 days of now), P6 one second earlier.
    let store = store(&[
        event(&before_now(10 * DAY), "NY", "view", "P1"),
        event(&before_now(91 * DAY), "PA", "view", "P2"),
        event(&before_now(DAY), "LA", "view", "P3"),
        event(&before_now(DAY), "UT", "view", "P5"),
        order(&before_now(HOUR), "UT", "P5", "O1", false),
    ]);
    let trigger = Trigger::NewArrival {
        within: TimeDelta::days(7),
        categories: vec![],
    };
    assert_eq!(
        keys(&store, &trigger, at(NOW)),
        [pair("NY", "new_arrival:P5")]
    );
}

fn season(from: (u32, u32), to: (u32, u32)) -> Trigger {
    Trigger::DateWindow { from, to }
}

#[test]
fn date_window_in_each_customer_calendar() {
    let spring = season((3, 1), (3, 15));
    // Midnight of 1 March in Paris is 23:00 UTC on 28 February.
    assert_eq!(keys(&store(&[]), &spring, at("2026-02-28T22:59:59Z")), []);
    assert_eq!(
        keys(&store(&[]), &spring, at("2026-02-28T23:00:00Z")),
        [pair("PA", "date_window:2026")]
    );
    assert_eq!(
        keys(&store(&[]), &spring, at("2026-03-15T22:59:59Z")),
        [
            pair("NY", "date_window:2026"),
            pair("PA", "date_window:2026"),
            pair("LA", "date_window:2026"),
            pair("UT", "date_window:2026"),
        ]
    );
    assert_eq!(
        keys(&store(&[]), &spring, at("2026-03-16T03:59:59Z")),
        [
            pair("NY", "date_window:2026"),
            pair("LA", "date_window:2026")
        ]
    );
    let found = occurrences(&store(&[]), &spring, at("2026-03-10T12:00:00Z"));
    assert_eq!(found[1].at, at("2026-02-28T23:00:00Z"), "Paris's 1 March");
}

#[test]
fn date_window_on_a_dst_day_and_across_new_year() {
    // 29 March 2026 in Paris: 23:00 UTC on the 28th to 21:59:59 UTC on the 29th (23 hours).
    let dst_day = season((3, 29), (3, 29));
    let paris_only = |now: &str| {
        keys(&store(&[]), &dst_day, at(now))
            .into_iter()
            .any(|(c, _)| c == "PA")
    };
    assert!(!paris_only("2026-03-28T22:59:59Z"));
    assert!(paris_only("2026-03-28T23:00:00Z"));
    assert!(paris_only("2026-03-29T21:59:59Z"));
    assert!(!paris_only("2026-03-29T22:00:00Z"));
    let holidays = season((12, 20), (1, 5));
    assert_eq!(
        keys(&store(&[]), &holidays, at("2027-01-03T12:00:00Z"))[0],
        pair("NY", "date_window:2026")
    );
    assert_eq!(
        keys(&store(&[]), &holidays, at("2026-12-24T12:00:00Z"))[0],
        pair("NY", "date_window:2026")
    );
    assert_eq!(keys(&store(&[]), &holidays, at("2026-12-19T12:00:00Z")), []);
}

#[test]
fn newsletter_one_occurrence_per_customer() {
    let store = store(&[]);
    let due = at("2026-11-16T08:00:00Z");
    let key = newsletter_key(Some(due));
    assert_eq!(key, "newsletter:2026-11-16T08:00:00Z");
    assert_eq!(newsletter_key(None), "newsletter:once");
    let found = newsletter(&store, &key, due);
    assert_eq!(found.len(), 4);
    assert!(found.iter().all(|o| o.key == key && o.at == due));
}

#[test]
fn keys_do_not_move_with_now() {
    let t = at("2026-11-15T12:00:00Z");
    let store = store(&[
        order(&time(t), "NY", "P1", "O1", false),
        event(&time(t), "PA", "cart", "P1"),
        usage(&time(t), "LA", "20"),
        tier_event(&time(t), "UT", "gold"),
    ]);
    let triggers = [
        Trigger::PostPurchase {
            within: TimeDelta::hours(48),
            delay: TimeDelta::zero(),
            categories: vec![],
        },
        cart_trigger(),
        workouts(Period::Month),
        Trigger::TierReached {
            tiers: vec![],
            within: TimeDelta::days(7),
        },
    ];
    for trigger in &triggers {
        let early = keys(&store, trigger, t + 2 * HOUR);
        let late = keys(&store, trigger, t + 20 * HOUR);
        assert_eq!(early.len(), 1, "{trigger:?}");
        assert_eq!(early, late, "{trigger:?}");
    }
}
