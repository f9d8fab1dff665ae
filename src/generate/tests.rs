//! Tests of the generated files as a whole: determinism, referential
//! integrity, order shape, the story families, and moments at `end`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::*;

fn small(seed: u64, customers: usize) -> GenerateOptions {
    GenerateOptions {
        seed,
        customers,
        ..GenerateOptions::default()
    }
}

fn read(dir: &Path, file: &str) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_path(dir.join(file)).expect("file exists");
    reader.records().map(|r| r.expect("valid csv")).collect()
}

fn headers(dir: &Path, file: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_path(dir.join(file)).expect("file exists");
    reader
        .headers()
        .expect("header row")
        .iter()
        .map(str::to_string)
        .collect()
}

/// Column `name` of every row, by header.
struct Table {
    columns: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn load(dir: &Path, file: &str) -> Table {
        Table {
            columns: headers(dir, file),
            rows: read(dir, file),
        }
    }

    fn col(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    ["catalog.csv", "customers.csv", "events.csv"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).expect("file exists"))
        .collect()
}

fn ts(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad timestamp {s}: {e}"))
        .timestamp()
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_does_not() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let first = generate(&small(7, 150), a.path()).unwrap();
    let second = generate(&small(7, 150), b.path()).unwrap();
    generate(&small(8, 150), c.path()).unwrap();
    assert_eq!(first, second);
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    assert_eq!(fa, fb);
    for (x, y) in fa.iter().zip(&fc) {
        assert_ne!(x, y);
    }
}

/// FNV-1a, enough to notice any change in a file.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The fixtures must not change by accident (a reordered draw changes every
/// byte after it). When a change to the generator is intended, update these.
#[test]
fn the_output_for_a_given_seed_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    generate(&small(42, 50), dir.path()).unwrap();
    let prints: Vec<u64> = files(dir.path()).iter().map(|f| fingerprint(f)).collect();
    assert_eq!(
        prints,
        [
            7_277_679_559_141_859_648,
            4_351_588_042_629_598_391,
            10_166_813_752_054_013_773
        ]
    );
}

#[test]
fn headers_follow_the_data_contract() {
    let dir = tempfile::tempdir().unwrap();
    generate(&small(1, 5), dir.path()).unwrap();
    assert_eq!(
        headers(dir.path(), "catalog.csv").join(","),
        "id,name,category,manufacturer,price,currency,rating,rating_count,stock,created_at,url,image_url,family,level,compare_at_price,prices"
    );
    assert_eq!(
        headers(dir.path(), "customers.csv").join(","),
        "id,email,first_name,locale,timezone,tier,consent,created_at,tags,currency"
    );
    assert_eq!(
        headers(dir.path(), "events.csv").join(","),
        "ts,customer_id,kind,product_id,order_id,quantity,unit_price,value,metric,gift"
    );
}

#[test]
fn events_reference_existing_customers_and_products_and_orders_are_whole() {
    check_integrity(3);
}

fn check_integrity(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let opts = small(seed, 300);
    let summary = generate(&opts, dir.path()).unwrap();
    let catalog = Table::load(dir.path(), "catalog.csv");
    let customers = Table::load(dir.path(), "customers.csv");
    let events = Table::load(dir.path(), "events.csv");
    assert_eq!(summary.products, catalog.rows.len());
    assert_eq!(summary.customers, customers.rows.len());
    assert_eq!(summary.events, events.rows.len());

    let product_ids: BTreeSet<&str> = catalog.rows.iter().map(|r| &r[0]).collect();
    let product_created: BTreeMap<&str, i64> = catalog
        .rows
        .iter()
        .map(|r| (&r[0], ts(&r[catalog.col("created_at")])))
        .collect();
    let customer_ids: BTreeSet<&str> = customers.rows.iter().map(|r| &r[0]).collect();
    let end = opts.end.timestamp();
    let start = end - i64::from(opts.days) * DAY;

    let (c_ts, c_customer, c_kind, c_product, c_order, c_qty, c_price, c_gift) = (
        events.col("ts"),
        events.col("customer_id"),
        events.col("kind"),
        events.col("product_id"),
        events.col("order_id"),
        events.col("quantity"),
        events.col("unit_price"),
        events.col("gift"),
    );
    // order id → (ts, customer, lines, gift)
    let mut orders: BTreeMap<&str, (&str, &str, usize, &str)> = BTreeMap::new();
    for r in &events.rows {
        let t = ts(&r[c_ts]);
        assert!(t >= start && t < end, "event outside the window: {r:?}");
        assert!(
            customer_ids.contains(&r[c_customer]),
            "unknown customer: {r:?}"
        );
        let product = &r[c_product];
        if !product.is_empty() {
            assert!(product_ids.contains(product), "unknown product: {r:?}");
            assert!(product_created[product] <= t, "event before launch: {r:?}");
        }
        if &r[c_kind] == "order" {
            assert!(!product.is_empty());
            assert!(r[c_qty].parse::<u32>().unwrap() >= 1);
            let price = &r[c_price];
            assert!(
                price
                    .split_once('.')
                    .is_some_and(|(_, cents)| cents.len() == 2)
            );
            let entry =
                orders
                    .entry(&r[c_order])
                    .or_insert((&r[c_ts], &r[c_customer], 0, &r[c_gift]));
            assert_eq!(
                (entry.0, entry.1, entry.3),
                (&r[c_ts], &r[c_customer], &r[c_gift]),
                "order lines disagree: {r:?}"
            );
            entry.2 += 1;
        } else {
            assert!(r[c_order].is_empty());
        }
    }
    assert_eq!(summary.orders, orders.len());
    assert!(orders.values().all(|o| o.2 >= 1));
    let multi_line = orders.values().filter(|o| o.2 >= 2).count();
    assert!(
        multi_line * 100 / orders.len() >= 25,
        "{multi_line} of {} orders have several lines",
        orders.len()
    );
    assert!(orders.keys().all(|id| id.len() == 8 && id.starts_with('O')));
}

#[test]
fn catalog_has_the_story_families_and_prices() {
    let dir = tempfile::tempdir().unwrap();
    generate(&small(5, 1), dir.path()).unwrap();
    let catalog = Table::load(dir.path(), "catalog.csv");
    let (name, family, level, prices, rating, count) = (
        catalog.col("name"),
        catalog.col("family"),
        catalog.col("level"),
        catalog.col("prices"),
        catalog.col("rating"),
        catalog.col("rating_count"),
    );
    assert!(
        (250..=350).contains(&catalog.rows.len()),
        "{} products",
        catalog.rows.len()
    );
    let levels = |fam: &str| -> BTreeSet<String> {
        catalog
            .rows
            .iter()
            .filter(|r| &r[family] == fam && !r[level].is_empty())
            .map(|r| r[level].to_string())
            .collect()
    };
    let set = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(levels("stride-road"), set(&["1", "2", "3"]));
    assert_eq!(levels("lumen"), set(&["1", "2"]));
    assert_eq!(levels("fittrack"), set(&["1", "2", "3"]));
    assert_eq!(levels("ravenmoor-saga"), set(&["1", "2", "3", "4", "5"]));
    for wanted in [
        "Gentle Cleansing Body Soap",
        "Daily Hydrating Moisturiser",
        "Shea Butter Hand Cream",
        "Stride Road Running Shoe",
        "Merino Running Socks (3 pack)",
        "Stride Marathon Distance Shoe",
        "Foam Recovery Roller",
        "Lumen Starter Kit (3 bulbs + bridge)",
        "Lumen Light Strip 2m",
        "Lumen Outdoor Path Lights",
        "Lumen Bridge Pro",
        "The Iron Crown (Ravenmoor Saga, Book 1)",
        "FitTrack Monthly Membership",
    ] {
        assert!(
            catalog.rows.iter().any(|r| &r[name] == wanted),
            "missing {wanted}"
        );
    }
    for r in &catalog.rows {
        assert!(
            r[prices].starts_with("EUR=") && r[prices].contains("|GBP="),
            "{r:?}"
        );
        if r[rating].is_empty() {
            assert_eq!(&r[count], "0");
        }
    }
    let end = GenerateOptions::default().end.timestamp();
    let new = catalog
        .rows
        .iter()
        .filter(|r| ts(&r[catalog.col("created_at")]) >= end - 14 * DAY)
        .count();
    assert!((5..=25).contains(&new), "{new} new arrivals");
}

#[test]
fn a_small_shop_has_every_kind_of_event_and_moments_at_end() {
    check_moments(11);
}

fn check_moments(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let opts = small(seed, 300);
    generate(&opts, dir.path()).unwrap();
    let customers = Table::load(dir.path(), "customers.csv");
    let events = Table::load(dir.path(), "events.csv");
    let end = opts.end.timestamp();
    let (c_ts, c_customer, c_kind, c_value, c_metric, c_gift) = (
        events.col("ts"),
        events.col("customer_id"),
        events.col("kind"),
        events.col("value"),
        events.col("metric"),
        events.col("gift"),
    );
    let kinds: BTreeSet<&str> = events.rows.iter().map(|r| &r[c_kind]).collect();
    assert_eq!(
        kinds,
        [
            "cart",
            "order",
            "support_resolved",
            "tier_changed",
            "usage",
            "view"
        ]
        .into_iter()
        .collect()
    );
    assert!(
        events.rows.iter().any(|r| &r[c_gift] == "true"),
        "no gift order"
    );
    let recent = |kind: &str, within: i64| {
        events
            .rows
            .iter()
            .filter(|r| &r[c_kind] == kind && ts(&r[c_ts]) >= end - within)
            .count()
    };
    for (kind, within) in [
        ("order", 2 * DAY),
        ("cart", DAY),
        ("view", 3 * DAY),
        ("tier_changed", 7 * DAY),
        ("support_resolved", 2 * DAY),
    ] {
        assert!(
            recent(kind, within) > 0,
            "no {kind} in the last {} h",
            within / HOUR
        );
    }

    // New arrivals are being looked at.
    let catalog = Table::load(dir.path(), "catalog.csv");
    let created = catalog.col("created_at");
    let new_arrivals: BTreeSet<&str> = catalog
        .rows
        .iter()
        .filter(|r| ts(&r[created]) >= end - 14 * DAY)
        .map(|r| &r[0])
        .collect();
    let c_product = events.col("product_id");
    assert!(
        events
            .rows
            .iter()
            .any(|r| &r[c_kind] == "view" && new_arrivals.contains(&r[c_product]))
    );

    // Workouts count 1, 2, 3… within a calendar month, and some members pass
    // 20 this month.
    let mut last: BTreeMap<(&str, &str), u32> = BTreeMap::new();
    let mut over_20_this_month = 0;
    for r in events.rows.iter().filter(|r| &r[c_metric] == "workouts") {
        let value: u32 = r[c_value].parse().unwrap();
        let month = &r[c_ts][..7];
        let previous = last.insert((&r[c_customer], month), value).unwrap_or(0);
        assert_eq!(value, previous + 1, "{r:?}");
        if month == "2026-11" && value == 21 {
            over_20_this_month += 1;
        }
    }
    assert!(over_20_this_month > 0);

    // The tier in customers.csv is the last tier reached.
    let tiers: BTreeMap<&str, &str> = customers.rows.iter().map(|r| (&r[0], &r[5])).collect();
    let mut last_tier: BTreeMap<&str, &str> = BTreeMap::new();
    for r in events.rows.iter().filter(|r| &r[c_kind] == "tier_changed") {
        last_tier.insert(&r[c_customer], &r[c_metric]);
    }
    for (customer, tier) in last_tier {
        assert_eq!(tiers[customer], tier);
    }

    // Some customers have been quiet for 90 days or more.
    let mut last_seen: BTreeMap<&str, i64> = BTreeMap::new();
    for r in &events.rows {
        last_seen.insert(&r[c_customer], ts(&r[c_ts]));
    }
    let inactive = last_seen.values().filter(|&&t| t < end - 90 * DAY).count();
    assert!(inactive > 10, "{inactive} inactive customers");
}

/// `cargo test --release -- --ignored --nocapture one_million`: the large-store
/// figures (time, sizes, counts). Never asserts on time.
#[test]
#[ignore]
fn one_million_customers() {
    let dir = std::path::PathBuf::from("/tmp/xsell-big");
    let opts = GenerateOptions {
        customers: 1_000_000,
        ..GenerateOptions::default()
    };
    let started = std::time::Instant::now();
    let summary = generate(&opts, &dir).unwrap();
    let elapsed = started.elapsed();
    println!("{summary:?} in {elapsed:.1?}");
    for file in ["catalog.csv", "customers.csv", "events.csv"] {
        let size = std::fs::metadata(dir.join(file)).unwrap().len();
        println!("{file}: {:.1} MB", size as f64 / 1e6);
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines().filter(|l| l.starts_with("VmHWM")) {
            println!("{line}");
        }
    }
}
