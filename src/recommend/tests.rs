//! Each source, guard and composition rule pinned on small hand-made shops.

use std::fmt::Write as _;

use chrono::TimeDelta;
use rust_decimal::Decimal;

use super::*;
use crate::campaign::{ExcludePurchased, Filters, Pick, Scope, Seed, Source};
use crate::data::store_from_csv_for_shard;
use crate::recommend::backtest::Protocol;
use crate::trigger::Detail;

const DAY: i64 = 24 * 60 * 60;
/// 2026-01-01T00:00:00Z: day 0 of every test shop.
const DAY_ZERO: i64 = 1_767_225_600;

/// Noon of day `day`.
fn at(day: i64) -> i64 {
    DAY_ZERO + day * DAY + 12 * 60 * 60
}

fn rfc3339(ts: i64) -> String {
    crate::data::timestamp(ts)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A catalog row with sensible defaults, changed by the builder methods.
struct Item {
    id: &'static str,
    name: &'static str,
    category: &'static str,
    maker: &'static str,
    price: &'static str,
    rating: &'static str,
    stock: i64,
    launched: i64,
    family: &'static str,
    level: &'static str,
}

fn item(id: &'static str, name: &'static str, category: &'static str) -> Item {
    Item {
        id,
        name,
        category,
        maker: "Maison",
        price: "10.00",
        rating: "4.0",
        stock: 10,
        launched: -400,
        family: "",
        level: "",
    }
}

impl Item {
    fn maker(self, maker: &'static str) -> Item {
        Item { maker, ..self }
    }
    fn price(self, price: &'static str) -> Item {
        Item { price, ..self }
    }
    fn rating(self, rating: &'static str) -> Item {
        Item { rating, ..self }
    }
    fn stock(self, stock: i64) -> Item {
        Item { stock, ..self }
    }
    fn launched(self, day: i64) -> Item {
        Item {
            launched: day,
            ..self
        }
    }
    fn family(self, family: &'static str, level: &'static str) -> Item {
        Item {
            family,
            level,
            ..self
        }
    }
}

/// Behaviour, written as the events file.
#[derive(Default)]
struct Events {
    lines: Vec<String>,
    customers: Vec<String>,
    orders: u32,
}

impl Events {
    fn customer(&mut self, id: &str) -> &mut Events {
        if !self.customers.iter().any(|c| c == id) {
            self.customers.push(id.to_string());
        }
        self
    }

    fn order(&mut self, customer: &str, day: i64, products: &[&str]) -> &mut Events {
        self.customer(customer);
        self.orders += 1;
        for product in products {
            self.lines.push(format!(
                "{},{customer},order,{product},O{},1,10.00",
                rfc3339(at(day)),
                self.orders
            ));
        }
        self
    }

    fn view(&mut self, customer: &str, day: i64, product: &str) -> &mut Events {
        self.customer(customer);
        self.lines
            .push(format!("{},{customer},view,{product},,,", rfc3339(at(day))));
        self
    }
}

fn shop(items: Vec<Item>, events: &Events) -> Store {
    shop_for_shard(items, events, None)
}

fn shop_for_shard(items: Vec<Item>, events: &Events, shard: Option<crate::shard::Shard>) -> Store {
    let mut catalog = String::from(
        "id,name,category,manufacturer,price,rating,stock,created_at,url,family,level\n",
    );
    for i in &items {
        writeln!(
            catalog,
            "{},{},{},{},{},{},{},{},https://shop.example/{},{},{}",
            i.id,
            i.name,
            i.category,
            i.maker,
            i.price,
            i.rating,
            i.stock,
            rfc3339(at(i.launched)),
            i.id,
            i.family,
            i.level
        )
        .unwrap();
    }
    let mut customers =
        String::from("id,email,first_name,locale,timezone,tier,consent,created_at\n");
    for c in &events.customers {
        writeln!(
            customers,
            "{c},{c}@example.com,Sam,en-US,UTC,bronze,true,2025-01-01T00:00:00Z"
        )
        .unwrap();
    }
    let mut lines = String::from("ts,customer_id,kind,product_id,order_id,quantity,unit_price\n");
    for line in &events.lines {
        lines.push_str(line);
        lines.push('\n');
    }
    match store_from_csv_for_shard(&catalog, &customers, &lines, shard) {
        Ok(store) => store,
        Err(problems) => panic!("test shop does not load:\n{problems}"),
    }
}

fn open() -> Filters {
    Filters {
        in_stock: false,
        exclude_purchased: ExcludePurchased::Never,
        min_rating: None,
        min_price_ratio: None,
        max_per_category: None,
    }
}

fn list(source: Source, filters: Filters, limit: usize) -> ListSpec {
    ListSpec {
        name: "picks".to_string(),
        limit,
        primary: Pick { source, filters },
        fallback: Vec::new(),
        on_empty: OnEmpty::SkipRecipient,
    }
}

fn bestsellers(scope: Scope) -> Source {
    Source::Bestsellers {
        scope,
        window: TimeDelta::days(90),
    }
}

fn moment(store: &Store, customer: &str, day: i64, products: &[&str]) -> Occurrence {
    Occurrence {
        customer: store.customer_ix(customer).unwrap(),
        key: format!("test:{customer}"),
        at: at(day),
        products: products
            .iter()
            .map(|p| store.product_ix(p).unwrap())
            .collect(),
        category: None,
        order: None,
        detail: Detail::None,
    }
}

/// (product id, source, reason) of each picked product.
fn picked(store: &Store, list: &ResolvedList) -> Vec<(String, &'static str, String)> {
    list.items
        .iter()
        .map(|r| {
            (
                store.product(r.product).id.to_string(),
                r.source.name(),
                r.reason.clone(),
            )
        })
        .collect()
}

fn ids(store: &Store, list: &ResolvedList) -> Vec<String> {
    list.items
        .iter()
        .map(|r| store.product(r.product).id.to_string())
        .collect()
}

fn resolve(
    store: &Store,
    spec: &ListSpec,
    customer: &str,
    occurrence: Option<&Occurrence>,
    day: i64,
) -> ResolvedList {
    let model = Recommender::build(store);
    model.resolve_list(
        store,
        spec,
        store.customer_ix(customer).unwrap(),
        occurrence,
        at(day),
        &[],
    )
}

// ----- bestsellers

/// Sales of the bestseller shop: in the 90 days before day 100, P2 and P3
/// have 3 buyers, P1 and P4 one each (P4 five orders by one customer);
/// P1's older sales and P5's sales at and after day 100 do not count.
fn bestseller_shop() -> Store {
    let items = vec![
        item("P1", "Candle", "Home"),
        item("P2", "Mug", "Kitchen"),
        item("P3", "Kettle", "Kitchen").maker("Steam Co"),
        item("P4", "Tea", "Pantry"),
        item("P5", "Vase", "Home"),
    ];
    let mut events = Events::default();
    for c in ["c1", "c2", "c3", "c4"] {
        events.order(c, 5, &["P1"]);
    }
    events.order("c1", 50, &["P1"]);
    for c in ["c1", "c2", "c3"] {
        events.order(c, 50, &["P2"]);
    }
    for c in ["c4", "c5", "c6"] {
        events.order(c, 60, &["P3"]);
    }
    for day in [20, 30, 40, 50, 60] {
        events.order("c7", day, &["P4"]);
    }
    for c in ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"] {
        events.order(c, 100, &["P5"]).order(c, 101, &["P5"]);
    }
    events.customer("nobody");
    shop(items, &events)
}

#[test]
fn bestsellers_count_distinct_buyers_in_the_window_before_now_ties_by_catalog_order() {
    let store = bestseller_shop();
    let spec = list(bestsellers(Scope::Catalog), open(), 10);
    let resolved = resolve(&store, &spec, "nobody", None, 100);
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "P2".to_string(),
                "bestsellers",
                "bestseller (3 buyers in the last 90 days)".to_string()
            ),
            (
                "P3".to_string(),
                "bestsellers",
                "bestseller (3 buyers in the last 90 days)".to_string()
            ),
            (
                "P1".to_string(),
                "bestsellers",
                "bestseller (1 buyer in the last 90 days)".to_string()
            ),
            (
                "P4".to_string(),
                "bestsellers",
                "bestseller (1 buyer in the last 90 days)".to_string()
            ),
        ]
    );
}

#[test]
fn bestsellers_in_named_categories_and_manufacturers() {
    let store = bestseller_shop();
    let kitchen = list(
        bestsellers(Scope::Categories {
            categories: vec!["Kitchen".to_string()],
        }),
        open(),
        10,
    );
    let resolved = resolve(&store, &kitchen, "nobody", None, 100);
    assert_eq!(ids(&store, &resolved), ["P2", "P3"]);
    assert_eq!(
        resolved.items[0].reason,
        "bestseller in Kitchen (3 buyers in the last 90 days)"
    );
    let steam = list(
        bestsellers(Scope::Manufacturers {
            manufacturers: vec!["Steam Co".to_string()],
        }),
        open(),
        10,
    );
    let resolved = resolve(&store, &steam, "nobody", None, 100);
    assert_eq!(
        picked(&store, &resolved),
        vec![(
            "P3".to_string(),
            "bestsellers",
            "bestseller from Steam Co (3 buyers in the last 90 days)".to_string()
        )]
    );
}

/// In the 90 days before day 100: R1 has 4 buyers, K1 3, K2 2, H1 2, H2 1.
/// `viewer` looked at R1 (day 50), H2 (day 95) and K2 (day 97); `s4` bought
/// H1, H2 and R1.
fn scope_shop() -> Store {
    let items = vec![
        item("K1", "Mug", "Kitchen").price("10.00").rating("4.5"),
        item("K2", "Kettle", "Kitchen")
            .maker("Steam Co")
            .price("40.00")
            .rating(""),
        item("H1", "Candle", "Home").price("25.00").rating("3.9"),
        item("H2", "Vase", "Home").maker("Lumi").price("15.00"),
        item("R1", "Shoe", "Running")
            .maker("Stride")
            .price("100.00")
            .rating("4.8"),
    ];
    let mut events = Events::default();
    events
        .order("s1", 60, &["K1", "K2", "R1"])
        .order("s2", 61, &["K1", "K2", "R1"])
        .order("s3", 62, &["K1", "R1"])
        .order("s4", 63, &["H1", "H2"])
        .order("s4", 64, &["R1"])
        .order("s5", 65, &["H1"]);
    events
        .view("viewer", 50, "R1")
        .view("viewer", 95, "H2")
        .view("viewer", 97, "K2");
    events.customer("nobody");
    shop(items, &events)
}

#[test]
fn bestsellers_in_the_last_viewed_category() {
    let store = scope_shop();
    let spec = list(bestsellers(Scope::LastViewedCategory), open(), 10);
    let resolved = resolve(&store, &spec, "viewer", None, 100);
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "K1".to_string(),
                "bestsellers",
                "bestseller in Kitchen (3 buyers in the last 90 days), last viewed 3 days ago"
                    .to_string()
            ),
            (
                "K2".to_string(),
                "bestsellers",
                "bestseller in Kitchen (2 buyers in the last 90 days), last viewed 3 days ago"
                    .to_string()
            ),
        ]
    );
}

#[test]
fn bestsellers_in_visited_categories_and_manufacturers_within_the_window() {
    let store = scope_shop();
    let visited = list(
        bestsellers(Scope::VisitedCategory {
            window: TimeDelta::days(30),
        }),
        open(),
        10,
    );
    let resolved = resolve(&store, &visited, "viewer", None, 100);
    // Running was viewed 50 days ago: outside the window. K2 and H1 tie; K2 comes first in the catalog.
    assert_eq!(ids(&store, &resolved), ["K1", "K2", "H1", "H2"]);
    assert_eq!(
        resolved.items[2].reason,
        "bestseller in Home (2 buyers in the last 90 days), viewed 5 days ago"
    );
    let makers = list(
        bestsellers(Scope::VisitedManufacturer {
            window: TimeDelta::days(30),
        }),
        open(),
        10,
    );
    let resolved = resolve(&store, &makers, "viewer", None, 100);
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "K2".to_string(),
                "bestsellers",
                "bestseller from Steam Co (2 buyers in the last 90 days), viewed 3 days ago"
                    .to_string()
            ),
            (
                "H2".to_string(),
                "bestsellers",
                "bestseller from Lumi (1 buyer in the last 90 days), viewed 5 days ago".to_string()
            ),
        ]
    );
}

#[test]
fn bestsellers_in_the_most_represented_category_of_purchases() {
    let store = scope_shop();
    let spec = list(bestsellers(Scope::MostRepresentedCategory), open(), 10);
    let resolved = resolve(&store, &spec, "s4", None, 100);
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "H1".to_string(),
                "bestsellers",
                "bestseller in Home (2 buyers in the last 90 days), the category you buy most (2 of your 3 purchases)".to_string()
            ),
            (
                "H2".to_string(),
                "bestsellers",
                "bestseller in Home (1 buyer in the last 90 days), the category you buy most (2 of your 3 purchases)".to_string()
            ),
        ]
    );
}

#[test]
fn bestsellers_in_the_trigger_category_from_the_moment_category_or_its_first_product() {
    let store = scope_shop();
    let spec = list(bestsellers(Scope::TriggerCategory), open(), 10);
    let mut browse = moment(&store, "viewer", 100, &[]);
    browse.category = store.categories().get("Home");
    let resolved = resolve(&store, &spec, "viewer", Some(&browse), 100);
    assert_eq!(ids(&store, &resolved), ["H1", "H2"]);
    // The moment's own product is never suggested back: K2 is left out.
    let cart = moment(&store, "viewer", 100, &["K2", "R1"]);
    let resolved = resolve(&store, &spec, "viewer", Some(&cart), 100);
    assert_eq!(
        picked(&store, &resolved),
        vec![(
            "K1".to_string(),
            "bestsellers",
            "bestseller in Kitchen (3 buyers in the last 90 days)".to_string()
        )]
    );
    // Without a moment there is no trigger category, so nothing.
    let resolved = resolve(&store, &spec, "viewer", None, 100);
    assert_eq!(resolved.items, []);
}

#[test]
fn an_empty_history_gives_an_empty_scope_and_the_fallback_fills_the_list() {
    let store = scope_shop();
    let mut spec = list(bestsellers(Scope::LastViewedCategory), open(), 2);
    let resolved = resolve(&store, &spec, "nobody", None, 100);
    assert_eq!(resolved.items, []);
    assert_eq!(resolved.on_empty, OnEmpty::SkipRecipient);
    spec.fallback = vec![
        Pick {
            source: bestsellers(Scope::MostRepresentedCategory),
            filters: open(),
        },
        Pick {
            source: bestsellers(Scope::Catalog),
            filters: open(),
        },
    ];
    let resolved = resolve(&store, &spec, "nobody", None, 100);
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "R1".to_string(),
                "bestsellers",
                "bestseller (4 buyers in the last 90 days)".to_string()
            ),
            (
                "K1".to_string(),
                "bestsellers",
                "bestseller (3 buyers in the last 90 days)".to_string()
            ),
        ]
    );
}

// ----- guards

#[test]
fn in_stock_keeps_out_sold_out_products() {
    let mut store_items = vec![
        item("A", "Sold out", "X").stock(0),
        item("B", "Available", "X"),
    ];
    let mut events = Events::default();
    events.order("c1", 10, &["A", "B"]).order("c2", 11, &["A"]);
    let store = shop(std::mem::take(&mut store_items), &events);
    let guarded = Filters {
        in_stock: true,
        ..open()
    };
    let spec = list(bestsellers(Scope::Catalog), guarded, 5);
    assert_eq!(ids(&store, &resolve(&store, &spec, "c1", None, 20)), ["B"]);
    let spec = list(bestsellers(Scope::Catalog), open(), 5);
    assert_eq!(
        ids(&store, &resolve(&store, &spec, "c1", None, 20)),
        ["A", "B"]
    );
}

#[test]
fn min_rating_leaves_out_lower_rated_and_unrated_products() {
    let store = scope_shop();
    let filters = Filters {
        min_rating: Some(4.0),
        ..open()
    };
    let spec = list(bestsellers(Scope::Catalog), filters, 10);
    // K2 is unrated, H1 rated 3.9.
    assert_eq!(
        ids(&store, &resolve(&store, &spec, "nobody", None, 100)),
        ["R1", "K1", "H2"]
    );
}

#[test]
fn max_per_category_spreads_the_list_over_categories() {
    let store = scope_shop();
    let filters = Filters {
        max_per_category: Some(1),
        ..open()
    };
    let spec = list(bestsellers(Scope::Catalog), filters, 10);
    assert_eq!(
        ids(&store, &resolve(&store, &spec, "nobody", None, 100)),
        ["R1", "K1", "H1"]
    );
}

#[test]
fn exclude_purchased_ever_within_a_window_or_never() {
    let store = scope_shop();
    let ever = Filters {
        exclude_purchased: ExcludePurchased::Ever,
        ..open()
    };
    let spec = list(bestsellers(Scope::Catalog), ever, 10);
    // s4 bought H1 and H2 on day 63 and R1 on day 64.
    assert_eq!(
        ids(&store, &resolve(&store, &spec, "s4", None, 100)),
        ["K1", "K2"]
    );
    let within = Filters {
        exclude_purchased: ExcludePurchased::Within(TimeDelta::days(36)),
        ..open()
    };
    let spec = list(bestsellers(Scope::Catalog), within, 10);
    // Day 100 − 36 days = day 64: only R1 was bought within the window.
    assert_eq!(
        ids(&store, &resolve(&store, &spec, "s4", None, 100)),
        ["K1", "K2", "H1", "H2"]
    );
    let spec = list(bestsellers(Scope::Catalog), open(), 10);
    assert_eq!(
        ids(&store, &resolve(&store, &spec, "s4", None, 100)),
        ["R1", "K1", "K2", "H1", "H2"]
    );
}

#[test]
fn min_price_ratio_compares_with_the_most_expensive_seed() {
    let store = scope_shop();
    let filters = Filters {
        min_price_ratio: Some(Decimal::new(5, 1)),
        ..open()
    };
    let spec = list(bestsellers(Scope::Catalog), filters, 10);
    // The moment is about K1 (10.00) and K2 (40.00): at least 20.00, and not K1 or K2 themselves.
    let cart = moment(&store, "viewer", 100, &["K1", "K2"]);
    assert_eq!(
        ids(&store, &resolve(&store, &spec, "viewer", Some(&cart), 100)),
        ["R1", "H1"]
    );
}

// ----- new arrivals

#[test]
fn new_arrivals_launched_within_since_newest_first_never_future_launches() {
    let items = vec![
        item("OLD", "Old mug", "Kitchen").launched(60),
        item("N1", "New kettle", "Kitchen").launched(95),
        item("N2", "New vase", "Home").launched(90),
        item("LATER", "Next season", "Kitchen").launched(105),
    ];
    let mut events = Events::default();
    events.view("viewer", 97, "OLD");
    let store = shop(items, &events);
    let spec = list(
        Source::NewArrivals {
            scope: Scope::Catalog,
            since: TimeDelta::days(14),
        },
        open(),
        10,
    );
    let resolved = resolve(&store, &spec, "viewer", None, 100);
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "N1".to_string(),
                "new_arrivals",
                "new, launched 5 days ago".to_string()
            ),
            (
                "N2".to_string(),
                "new_arrivals",
                "new, launched 10 days ago".to_string()
            ),
        ]
    );
    let spec = list(
        Source::NewArrivals {
            scope: Scope::LastViewedCategory,
            since: TimeDelta::days(14),
        },
        open(),
        10,
    );
    let resolved = resolve(&store, &spec, "viewer", None, 100);
    assert_eq!(
        picked(&store, &resolved),
        vec![(
            "N1".to_string(),
            "new_arrivals",
            "new in Kitchen, launched 5 days ago, last viewed 3 days ago".to_string()
        )]
    );
}

// ----- order reminders

/// SOAP re-bought after 30, 30 and 28 days; HAND re-bought once (40 days);
/// MUG never re-bought. `target` bought SOAP on day 10, HAND and MUG on day 12.
fn reminder_shop() -> Store {
    let items = vec![
        item("SOAP", "Gentle Soap", "Body Care"),
        item("HAND", "Hand Cream", "Body Care"),
        item("MUG", "Mug", "Kitchen"),
    ];
    let mut events = Events::default();
    events
        .order("c1", 0, &["SOAP", "MUG"])
        .order("c1", 30, &["SOAP"])
        .order("c1", 60, &["SOAP"])
        .order("c2", 0, &["SOAP"])
        .order("c2", 28, &["SOAP"])
        .order("c4", 0, &["HAND"])
        .order("c4", 40, &["HAND"])
        .order("target", 10, &["SOAP"])
        .order("target", 12, &["HAND", "MUG"]);
    shop(items, &events)
}

#[test]
fn order_reminders_when_the_learned_interval_has_passed_most_timely_first() {
    let store = reminder_shop();
    let spec = list(Source::OrderReminders, open(), 10);
    // Body Care gaps: 30, 30, 28, 40 and target's 2 days → median 30, like SOAP's own.
    let resolved = resolve(&store, &spec, "target", None, 45);
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "HAND".to_string(),
                "order_reminders",
                "you bought it 33 days ago; Body Care is usually re-bought every 30 days"
                    .to_string()
            ),
            (
                "SOAP".to_string(),
                "order_reminders",
                "you bought it 35 days ago; usually re-bought every 30 days".to_string()
            ),
        ]
    );
    // Before the interval has passed, nothing is due; MUG never is (nobody re-bought it).
    let resolved = resolve(&store, &spec, "target", None, 30);
    assert_eq!(resolved.items, []);
    let resolved = resolve(&store, &spec, "target", None, 400);
    assert_eq!(ids(&store, &resolved), ["HAND", "SOAP"]);
}

// ----- cross-sell

/// 100 customers, 20 of them buy SOAP (c1–c20). With the soap: c1–c16 buy
/// CREAM, which c21–c34 also buy alone; c1–c8 buy OIL; c1 buys RARE.
/// Everybody buys MILK.
fn complement_shop() -> Store {
    let items = vec![
        item("SOAP", "Gentle Soap", "Body Care"),
        item("MILK", "Milk", "Pantry"),
        item("RARE", "Rare Candle", "Home"),
        item("OIL", "Bath Oil", "Bath"),
        item("CREAM", "Face Cream", "Face Care"),
    ];
    let mut events = Events::default();
    for n in 1..=100 {
        let mut basket = vec!["MILK"];
        if n <= 20 {
            basket.push("SOAP");
        }
        if n <= 16 || (21..=34).contains(&n) {
            basket.push("CREAM");
        }
        if n <= 8 {
            basket.push("OIL");
        }
        if n == 1 {
            basket.push("RARE");
        }
        events.order(&format!("c{n}"), 10, &basket);
    }
    events.customer("buyer");
    shop(items, &events)
}

#[test]
fn cross_sell_prefers_a_shared_habit_to_a_bestseller_or_a_coincidence() {
    let store = complement_shop();
    let spec = list(
        Source::CrossSell {
            seed: Seed::Trigger,
        },
        open(),
        10,
    );
    let order = moment(&store, "buyer", 20, &["SOAP"]);
    let resolved = resolve(&store, &spec, "buyer", Some(&order), 20);
    // MILK is bought with the soap by all 20, but everybody buys it (lift
    // 1.0): not a complement. RARE's lift is 5.0 from one customer: a
    // coincidence. OIL's lift (5.0, 8 customers) is higher than CREAM's
    // (2.7), but CREAM's 16 customers count for more.
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "CREAM".to_string(),
                "cross_sell",
                "bought with Gentle Soap by 16 customers, lift 2.7".to_string()
            ),
            (
                "OIL".to_string(),
                "cross_sell",
                "bought with Gentle Soap by 8 customers, lift 5.0".to_string()
            ),
        ]
    );
}

#[test]
fn cross_sell_counts_purchases_soon_after_but_not_weeks_after_nor_before() {
    let items = vec![
        item("SHOE", "Stride Shoe", "Running Shoes"),
        item("SOCKS", "Socks", "Running Apparel"),
        item("BAG", "Gym Bag", "Bags"),
        item("FILLER", "Water", "Pantry"),
    ];
    let mut events = Events::default();
    for n in 1..=20 {
        let c = format!("c{n}");
        events.order(&c, 0, &["SHOE"]);
        match n {
            1..=5 => events.order(&c, 14, &["SOCKS"]),
            6..=10 => events.order(&c, 5, &["SOCKS"]),
            _ => events.order(&c, 15 + n, &["BAG"]),
        };
    }
    for n in 21..=100 {
        events.order(&format!("c{n}"), 3, &["FILLER"]);
    }
    events.customer("buyer");
    let store = shop(items, &events);
    let seeded = |product: &str| {
        let order = moment(&store, "buyer", 50, &[product]);
        let spec = list(
            Source::CrossSell {
                seed: Seed::Trigger,
            },
            open(),
            10,
        );
        picked(&store, &resolve(&store, &spec, "buyer", Some(&order), 50))
    };
    // Socks 5 and 14 days after the shoes count; bags 26 days or more after do not.
    assert_eq!(
        seeded("SHOE"),
        vec![(
            "SOCKS".to_string(),
            "cross_sell",
            "bought with Stride Shoe by 10 customers, lift 5.0".to_string()
        )]
    );
    // Socks were bought after the shoes, never with or before them.
    assert_eq!(seeded("SOCKS"), vec![]);
}

/// Soap, with a lavender soap compared with it by 12 customers and bought
/// with it by 8 (a substitute), and a bath salt and a face cream bought with
/// it by 8 each (complements).
fn substitutes_shop(shard: Option<crate::shard::Shard>) -> Store {
    let items = vec![
        item("SOAP", "Gentle Soap", "Body Care"),
        item("LAVENDER", "Lavender Soap", "Body Care"),
        item("SALT", "Bath Salt", "Body Care"),
        item("CREAM", "Face Cream", "Face Care"),
        item("FILLER", "Water", "Pantry"),
    ];
    let mut events = Events::default();
    for n in 1..=20 {
        let c = format!("c{n}");
        match n {
            1..=12 => events.view(&c, 0, "SOAP").view(&c, 1, "LAVENDER"),
            _ => &mut events,
        };
        match n {
            9 => events.view(&c, 0, "SOAP").view(&c, 1, "SALT"),
            13..=20 => events.view(&c, 0, "SOAP").view(&c, 1, "CREAM"),
            _ => &mut events,
        };
        let with = match n {
            1..=8 => "LAVENDER",
            9..=16 => "SALT",
            _ => "FILLER",
        };
        events.order(&c, 2, &["SOAP", with]);
        if n >= 13 {
            events.order(&c, 2, &["CREAM"]);
        }
    }
    for n in 21..=100 {
        events.order(&format!("c{n}"), 2, &["FILLER"]);
    }
    events.customer("buyer");
    shop_for_shard(items, &events, shard)
}

#[test]
fn cross_sell_leaves_out_substitutes_compared_more_often_than_bought_together() {
    let store = substitutes_shop(None);
    let order = moment(&store, "buyer", 20, &["SOAP"]);
    let spec = list(
        Source::CrossSell {
            seed: Seed::Trigger,
        },
        open(),
        10,
    );
    let resolved = resolve(&store, &spec, "buyer", Some(&order), 20);
    // LAVENDER: compared with the soap by 12, bought with it by 8 → a substitute.
    // SALT: same category, compared by 1, bought together by 8 → a complement.
    // CREAM ties with SALT; SALT comes first in the catalog.
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "SALT".to_string(),
                "cross_sell",
                "bought with Gentle Soap by 8 customers, lift 5.0".to_string()
            ),
            (
                "CREAM".to_string(),
                "cross_sell",
                "bought with Gentle Soap by 8 customers, lift 5.0".to_string()
            ),
        ]
    );
}

#[test]
fn a_shard_learns_substitutes_from_the_views_of_customers_outside_it() {
    let whole = substitutes_shop(None);
    let spec = list(
        Source::CrossSell {
            seed: Seed::Trigger,
        },
        open(),
        10,
    );
    let expected = {
        let order = moment(&whole, "buyer", 20, &["SOAP"]);
        picked(&whole, &resolve(&whole, &spec, "buyer", Some(&order), 20))
    };
    let buyers_shard = (1..=4)
        .map(|index| crate::shard::Shard { index, count: 4 })
        .find(|s| s.contains("buyer"))
        .unwrap();
    let store = substitutes_shop(Some(buyers_shard));
    // Most of the twelve who compared the soaps are outside the shard: their
    // views are not events of this store, yet the model still counts them.
    let outside = (1..=12)
        .filter(|n| !buyers_shard.contains(&format!("c{n}")))
        .count();
    assert!(outside >= 5, "{outside}");
    let viewer = (1..=12)
        .map(|n| format!("c{n}"))
        .find(|c| !buyers_shard.contains(c))
        .unwrap();
    let viewer = store.customer_ix(&viewer).unwrap();
    assert!(
        store
            .events_of(viewer)
            .iter()
            .all(|e| e.kind == crate::data::EventKind::Order)
    );
    assert_eq!(store.views_of(viewer).count(), 2);
    let order = moment(&store, "buyer", 20, &["SOAP"]);
    assert_eq!(
        picked(&store, &resolve(&store, &spec, "buyer", Some(&order), 20)),
        expected
    );
}

#[test]
fn cross_sell_never_looks_past_now_nor_past_the_models_cutoff() {
    let items = vec![
        item("A", "Tent", "Camping"),
        item("B", "Stove", "Camping Kitchen"),
        item("C", "Lamp", "Lighting"),
        item("FILLER", "Water", "Pantry"),
    ];
    let mut events = Events::default();
    for n in 1..=10 {
        events.order(&format!("c{n}"), 10, &["A", "B"]);
    }
    for n in 11..=20 {
        events.order(&format!("c{n}"), 60, &["A", "C"]);
    }
    for n in 21..=100 {
        events.order(&format!("c{n}"), 5, &["FILLER"]);
    }
    events.order("me", 20, &["A"]).order("me", 70, &["B"]);
    let store = shop(items, &events);
    let model = Recommender::build_before(&store, at(30));
    let me = store.customer_ix("me").unwrap();
    let spec = list(
        Source::CrossSell {
            seed: Seed::RecentPurchases {
                window: TimeDelta::days(90),
            },
        },
        Filters {
            exclude_purchased: ExcludePurchased::Ever,
            ..open()
        },
        10,
    );
    let resolved = model.resolve_list(&store, &spec, me, None, at(30), &[]);
    // On day 30 `me` owns only A (B comes on day 70) and the A–C habit starts on day 60.
    assert_eq!(ids(&store, &resolved), ["B"]);
    let everything = Recommender::build(&store);
    let resolved = everything.resolve_list(&store, &spec, me, None, at(80), &[]);
    assert_eq!(ids(&store, &resolved), ["C"]);
}

// ----- similar customers

#[test]
fn next_purchase_finds_a_planted_complement_and_not_the_staple_bought_with_everything() {
    let mut items = vec![
        item("TENT", "Tent", "Camping"),
        item("STOVE", "Camping Stove", "Camping Kitchen"),
        item("MILK", "Milk", "Dairy"),
    ];
    const OTHERS: [&str; 12] = [
        "F01", "F02", "F03", "F04", "F05", "F06", "F07", "F08", "F09", "F10", "F11", "F12",
    ];
    for id in OTHERS {
        items.push(item(id, "Other", "Other"));
    }
    let mut events = Events::default();
    // Everyone buys milk, with one of the other products; 400 of them also
    // buy a tent and a stove together. (A shop large enough for the model's
    // regularisation, tuned on a real shop, not to dominate.)
    for n in 0..1_500 {
        let c = format!("c{n}");
        events.order(&c, 5, &["MILK", OTHERS[n % OTHERS.len()]]);
        if n < 400 {
            events.order(&c, 8, &["TENT", "STOVE"]);
        }
    }
    events.order("me", 20, &["TENT"]);
    let store = shop(items, &events);
    let spec = list(Source::NextPurchase, open(), 3);
    let resolved = resolve(&store, &spec, "me", None, 30);
    let picked = picked(&store, &resolved);
    assert_eq!(
        picked.first(),
        Some(&(
            "STOVE".to_string(),
            "next_purchase",
            "goes with Tent you bought (400 customers bought both)".to_string()
        )),
        "{picked:?}"
    );
    // Milk was bought by every tent buyer, but by everyone else too: owning
    // a tent says far less about it than about the stove.
    let score = |id: &str| {
        resolved
            .items
            .iter()
            .find(|i| store.product(i.product).id.as_ref() == id)
            .map_or(0.0, |i| i.score)
    };
    assert!(
        score("MILK") < score("STOVE") / 2.0,
        "milk {} stove {}",
        score("MILK"),
        score("STOVE")
    );
}

#[test]
fn next_purchase_blends_buying_again_with_new_products_only_where_owned_ones_are_allowed() {
    let items = vec![
        item("TENT", "Tent", "Camping"),
        item("STOVE", "Camping Stove", "Camping Kitchen"),
        item("GAS", "Gas Canister", "Camping Kitchen"),
    ];
    let mut events = Events::default();
    for n in 0..600 {
        let c = format!("c{n}");
        events.order(&c, 5, &["TENT", "STOVE"]);
    }
    // A regular: four canisters so far, and the stove and tent.
    events
        .order("me", 1, &["GAS"])
        .order("me", 4, &["GAS"])
        .order("me", 8, &["GAS", "TENT"])
        .order("me", 12, &["GAS"]);
    let store = shop(items, &events);
    let again = list(Source::NextPurchase, open(), 3);
    let picked_again = picked(&store, &resolve(&store, &again, "me", None, 30));
    assert!(
        picked_again.contains(&(
            "GAS".to_string(),
            "next_purchase",
            "you have bought it 4 times".to_string()
        )),
        "{picked_again:?}"
    );
    assert!(
        picked_again.iter().any(|(id, _, _)| id == "STOVE"),
        "{picked_again:?}"
    );
    let only_new = list(
        Source::NextPurchase,
        Filters {
            exclude_purchased: ExcludePurchased::Ever,
            ..open()
        },
        3,
    );
    assert_eq!(
        ids(&store, &resolve(&store, &only_new, "me", None, 30)),
        vec!["STOVE".to_string()]
    );
}

#[test]
fn similar_customers_suggests_what_buyers_of_the_same_products_bought() {
    let mut items = vec![
        item("BOOK1", "Book One", "Books"),
        item("BOOK2", "Book Two", "Books"),
        item("MUG", "Reading Mug", "Kitchen"),
    ];
    // A catalog of 20 products: the BM25 weights depend on its size.
    const FILLERS: [&str; 17] = [
        "F01", "F02", "F03", "F04", "F05", "F06", "F07", "F08", "F09", "F10", "F11", "F12", "F13",
        "F14", "F15", "F16", "F17",
    ];
    for id in FILLERS {
        items.push(item(id, "Filler", "Other"));
    }
    let mut events = Events::default();
    for c in ["c1", "c2", "c3"] {
        events.order(c, 10, &["BOOK1", "BOOK2"]);
    }
    events
        .order("c4", 10, &["BOOK1", "MUG"])
        .order("me", 20, &["BOOK1"]);
    events.customer("nobody");
    let store = shop(items, &events);
    let spec = list(
        Source::SimilarCustomers,
        Filters {
            exclude_purchased: ExcludePurchased::Ever,
            ..open()
        },
        10,
    );
    let resolved = resolve(&store, &spec, "me", None, 30);
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "BOOK2".to_string(),
                "similar_customers",
                "3 customers who bought Book One also bought it".to_string()
            ),
            (
                "MUG".to_string(),
                "similar_customers",
                "1 customer who bought Book One also bought it".to_string()
            ),
        ]
    );
    // Nothing bought, nothing to go on.
    assert_eq!(resolve(&store, &spec, "nobody", None, 30).items, []);
}

// ----- upgrade and ecosystem

fn family_shop() -> Store {
    let items = vec![
        item("S1", "Stride Road", "Running Shoes")
            .family("stride-road", "1")
            .price("90.00"),
        item("S2", "Stride Tempo", "Running Shoes")
            .family("stride-road", "2")
            .price("130.00")
            .rating("4.3"),
        item("S3", "Stride Marathon", "Running Shoes")
            .family("stride-road", "3")
            .price("180.00")
            .rating("3.8"),
        item("S4", "Stride Elite", "Running Shoes")
            .family("stride-road", "4")
            .price("250.00")
            .rating("3.0"),
        item("K1", "Basic Kettle", "Kettles").price("20.00"),
        item("K2", "Glass Kettle", "Kettles").price("25.00"),
        item("K3", "Smart Kettle", "Kettles")
            .price("40.00")
            .rating(""),
        item("L1", "Lumen Starter Kit", "Smart Lighting").family("lumen", "1"),
        item("L2", "Lumen Bridge Pro", "Smart Lighting").family("lumen", "2"),
        item("L3", "Lumen Bulb", "Smart Lighting").family("lumen", ""),
    ];
    let mut events = Events::default();
    events
        .order("runner", 10, &["S1"])
        .order("expert", 10, &["S1", "S2", "S3", "S4"])
        .order("cook", 10, &["K1"])
        .order("home", 10, &["L1"])
        .order("c1", 5, &["L3"])
        .order("c2", 5, &["L3"])
        .order("c3", 5, &["L3", "L2"])
        .order("lit", 5, &["L1", "L2", "L3"]);
    shop(items, &events)
}

fn recent() -> Seed {
    Seed::RecentPurchases {
        window: TimeDelta::days(90),
    }
}

#[test]
fn upgrade_offers_the_next_levels_of_the_family_well_rated_and_not_owned() {
    let store = family_shop();
    let spec = list(Source::Upgrade { seed: recent() }, open(), 10);
    let resolved = resolve(&store, &spec, "runner", None, 20);
    // S4 is rated 3.0: not an upgrade anyone should be sold.
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "S2".to_string(),
                "upgrade",
                "next in stride-road: level 2 after your Stride Road (level 1)".to_string()
            ),
            (
                "S3".to_string(),
                "upgrade",
                "next in stride-road: level 3 after your Stride Road (level 1)".to_string()
            ),
        ]
    );
    // Owning the whole family leaves nothing to upgrade to.
    assert_eq!(resolve(&store, &spec, "expert", None, 20).items, []);
}

#[test]
fn upgrade_without_levels_is_a_clearly_higher_price_tier_of_the_category() {
    let store = family_shop();
    let spec = list(Source::Upgrade { seed: recent() }, open(), 10);
    let resolved = resolve(&store, &spec, "cook", None, 20);
    // The glass kettle is only 1.25× the price; the unrated smart kettle is allowed.
    assert_eq!(
        picked(&store, &resolved),
        vec![(
            "K3".to_string(),
            "upgrade",
            "a step up from your Basic Kettle (2.0× its price)".to_string()
        )]
    );
}

#[test]
fn ecosystem_suggests_the_rest_of_an_owned_family_then_falls_back_when_all_is_owned() {
    let store = family_shop();
    let mut spec = list(Source::Ecosystem { seed: recent() }, open(), 2);
    let resolved = resolve(&store, &spec, "home", None, 20);
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "L3".to_string(),
                "ecosystem",
                "goes with your Lumen Starter Kit (lumen); bought by 4 customers".to_string()
            ),
            (
                "L2".to_string(),
                "ecosystem",
                "goes with your Lumen Starter Kit (lumen); bought by 2 customers".to_string()
            ),
        ]
    );
    assert_eq!(resolve(&store, &spec, "lit", None, 20).items, []);
    spec.fallback = vec![Pick {
        source: bestsellers(Scope::Catalog),
        filters: Filters {
            exclude_purchased: ExcludePurchased::Ever,
            ..open()
        },
    }];
    let resolved = resolve(&store, &spec, "lit", None, 20);
    assert_eq!(
        picked(&store, &resolved),
        vec![
            (
                "S1".to_string(),
                "bestsellers",
                "bestseller (2 buyers in the last 90 days)".to_string()
            ),
            (
                "S2".to_string(),
                "bestsellers",
                "bestseller (1 buyer in the last 90 days)".to_string()
            ),
        ]
    );
}

// ----- manual

#[test]
fn manual_lists_keep_the_campaign_order_and_still_pass_the_guards() {
    let store = family_shop();
    let spec = list(
        Source::Manual {
            ids: vec!["K3".to_string(), "K2".to_string(), "K1".to_string()],
        },
        Filters {
            in_stock: true,
            exclude_purchased: ExcludePurchased::Ever,
            ..open()
        },
        10,
    );
    // `cook` owns K1.
    assert_eq!(
        picked(&store, &resolve(&store, &spec, "cook", None, 20)),
        vec![
            (
                "K3".to_string(),
                "manual",
                "chosen for this campaign".to_string()
            ),
            (
                "K2".to_string(),
                "manual",
                "chosen for this campaign".to_string()
            ),
        ]
    );
}

// ----- a whole campaign

fn campaign(store: &Store, yaml: &str) -> Campaign {
    let display = std::path::Path::new("campaigns/test.yaml");
    let text: std::sync::Arc<str> = yaml.into();
    let raw = crate::campaign::parse(display, &text).unwrap();
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let context = crate::campaign::CheckContext {
        store: Some(store),
        templates_dir: &templates,
        shop_timezone: chrono_tz::Tz::UTC,
    };
    match crate::campaign::check::check_campaign(raw, display, &text, &context) {
        Ok(campaign) => campaign,
        Err(problems) => panic!("test campaign does not check:\n{problems}"),
    }
}

#[test]
fn a_campaigns_lists_are_resolved_in_order_without_repeating_a_product() {
    let store = scope_shop();
    let newsletter = campaign(
        &store,
        "id: test\nname: Test\ntemplate: browse.mjml\nsubject: Hello\n\
         lists:\n\
         \x20 top: { source: bestsellers, limit: 2, filters: { in_stock: false } }\n\
         \x20 more: { source: bestsellers, limit: 2, filters: { in_stock: false } }\n\
         \x20 family: { source: ecosystem, seed: recent_purchases, on_empty: omit_block }\n",
    );
    let model = Recommender::build(&store);
    let customer = store.customer_ix("nobody").unwrap();
    let lists = model.resolve(&store, &newsletter, customer, None, at(100));
    let names: Vec<(&str, Vec<String>, OnEmpty)> = lists
        .iter()
        .map(|l| (l.name.as_str(), ids(&store, l), l.on_empty))
        .collect();
    assert_eq!(
        names,
        vec![
            (
                "top",
                vec!["R1".to_string(), "K1".to_string()],
                OnEmpty::SkipRecipient
            ),
            (
                "more",
                vec!["K2".to_string(), "H1".to_string()],
                OnEmpty::SkipRecipient
            ),
            ("family", vec![], OnEmpty::OmitBlock),
        ]
    );
}

#[test]
fn resolving_twice_gives_the_same_lists() {
    let store = complement_shop();
    let model = Recommender::build(&store);
    let spec = list(Source::SimilarCustomers, open(), 10);
    for customer in 0..store.customers().len() as CustomerIx {
        let first = model.resolve_list(&store, &spec, customer, None, at(20), &[]);
        let again =
            Recommender::build(&store).resolve_list(&store, &spec, customer, None, at(20), &[]);
        assert_eq!(first, again);
    }
}

// ----- auto

/// A shop where what a customer buys next has nothing to do with what they
/// bought before: each of 400 customers orders twice (day 10, and day 45 in
/// the validation window before day 60), each time a product drawn with a
/// popularity skew (two the first time), independently of the past.
fn popularity_only_shop() -> Store {
    const IDS: [&str; 10] = ["P0", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9"];
    let items: Vec<Item> = IDS.iter().map(|id| item(id, "Product", "All")).collect();
    let mut events = Events::default();
    let mut state: u64 = 42;
    let mut draw = || {
        // The smaller of two uniform draws: P0 the most popular, P9 the least.
        let mut uniform = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % 10
        };
        uniform().min(uniform())
    };
    for n in 0..400 {
        let customer = format!("c{n}");
        let (first, also, second) = (draw(), draw(), draw());
        events.order(&customer, 10, &[IDS[first], IDS[also]]);
        events.order(&customer, 45, &[IDS[second]]);
    }
    shop(items, &events)
}

/// A shop with planted structure: buyers of A1 go on to buy A2, buyers of
/// B1 go on to buy B2 (seen in an earlier cohort, before the validation
/// window, and again in it), while C is the bestseller everyone buys.
fn planted_shop(extra: impl Fn(&mut Events)) -> Store {
    let items = vec![
        item("C", "Coffee", "Pantry"),
        item("A1", "Tent", "Camping"),
        item("A2", "Stove", "Camping"),
        item("B1", "Novel", "Books"),
        item("B2", "Sequel", "Books"),
    ];
    let mut events = Events::default();
    for n in 0..300 {
        events.order(&format!("coffee{n}"), 20, &["C"]);
    }
    for (group, first, next) in [("a", "A1", "A2"), ("b", "B1", "B2")] {
        for n in 0..100 {
            let earlier = format!("{group}-early{n}");
            events
                .order(&earlier, 2, &[first])
                .order(&earlier, 12, &[next]);
            let later = format!("{group}-late{n}");
            events
                .order(&later, 10, &[first])
                .order(&later, 45, &[next]);
        }
    }
    // A customer who bought the tent during the window.
    events.order("me", 50, &["A1"]);
    extra(&mut events);
    shop(items, &events)
}

#[test]
fn auto_picks_bestsellers_where_only_popularity_predicts() {
    let store = popularity_only_shop();
    for protocol in [Protocol::All, Protocol::New] {
        let choice = super::auto::choose(&store, at(60), protocol);
        assert_eq!(choice.source, "bestsellers", "{choice:?}");
        // The personalised sources found something, and did worse.
        assert!(choice.why.contains("next_purchase 0."), "{}", choice.why);
        assert!(
            !choice.why.contains("next_purchase 0.000"),
            "{}",
            choice.why
        );
    }
}

#[test]
fn auto_picks_a_personalised_source_where_purchases_predict_the_next() {
    let store = planted_shop(|_| {});
    let choice = super::auto::choose(&store, at(60), Protocol::New);
    assert_ne!(choice.source, "bestsellers", "{choice:?}");
    assert!(choice.why.contains("× bestsellers on"), "{}", choice.why);
    // A list with `source: auto` uses the winner, and says which it is.
    let spec = list(Source::Auto, open(), 1);
    let model = Recommender::build_before(&store, at(60));
    let me = store.customer_ix("me").unwrap();
    let resolved = model.resolve_list(&store, &spec, me, None, at(60), &[]);
    assert_eq!(ids(&store, &resolved), vec!["A2".to_string()]);
    assert_ne!(resolved.items[0].source, SourceKind::Auto);
    assert_eq!(model.auto_choices().len(), 1);
}

#[test]
fn auto_never_reads_data_at_or_after_now() {
    let choose = |store: &Store| super::auto::choose(store, at(60), Protocol::New);
    let before = choose(&planted_shop(|_| {}));
    // From day 60 on, everybody buys only coffee: had the choice looked at
    // it, bestsellers would win.
    let after = choose(&planted_shop(|events| {
        for n in 0..100 {
            for group in ["a", "b"] {
                events.order(&format!("{group}-late{n}"), 60, &["C"]);
                events.order(&format!("{group}-early{n}"), 75, &["C"]);
            }
        }
    }));
    assert_eq!(before, after);
}
