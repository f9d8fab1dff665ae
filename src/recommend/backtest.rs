//! Offline quality of the list sources on a time split: would the products a
//! source suggests on the split day have been bought afterwards?
//!
//! The models learn only from events before the split and every list is
//! resolved at the split, so nothing after it is looked at. Each customer
//! who ordered both before and after the split asks each source for K
//! products (seeded, where a source needs seeds, from their purchases in
//! the year before the split). Two protocols:
//!
//! - **all**: any product bought after the split counts, owned ones included
//!   (replenishment is a fair answer);
//! - **new**: only products the customer had never bought count, and owned
//!   products are not suggested — the cross-selling question.
//!
//! Metrics, averaged over the customers evaluated: HitRate@K (at least one
//! suggestion bought), Precision@K (share of the K bought), Recall@K (share
//! of what they bought that was suggested), NDCG@K (hits weighted by rank),
//! and catalog coverage (share of the catalog suggested to anyone).

use chrono::TimeDelta;
use rayon::prelude::*;
use serde::Serialize;

use crate::campaign::{ExcludePurchased, Filters, ListSpec, OnEmpty, Pick, Scope, Seed, Source};
use crate::data::{CustomerIx, ProductIx, Store};

use super::Recommender;

/// Look-back of the purchases that seed cross-sell, upgrade and ecosystem:
/// everything the shop knows of the customer's recent year.
pub const SEED_WINDOW_DAYS: i64 = 365;

/// A source as the backtest asks it, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Contender {
    pub name: String,
    pub pick: Source,
    /// Tried in order while fewer than K products are found.
    pub fallback: Vec<Source>,
}

impl Contender {
    /// The sources a backtest compares by default, bestsellers (the baseline) first.
    pub fn defaults() -> Vec<Contender> {
        [
            "bestsellers",
            "cross_sell",
            "cross_sell+bestsellers",
            "similar_customers",
            "next_purchase",
            "auto",
            "order_reminders",
            "upgrade",
            "ecosystem",
            "new_arrivals",
        ]
        .into_iter()
        .filter_map(Contender::named)
        .collect()
    }

    /// The names [`Contender::named`] knows. `cross_sell+bestsellers` is
    /// cross-sell with bestsellers as its fallback, as campaigns use it.
    pub const NAMES: [&'static str; 10] = [
        "bestsellers",
        "new_arrivals",
        "order_reminders",
        "cross_sell",
        "cross_sell+bestsellers",
        "similar_customers",
        "next_purchase",
        "auto",
        "upgrade",
        "ecosystem",
    ];

    pub fn named(name: &str) -> Option<Contender> {
        let seed = Seed::RecentPurchases {
            window: TimeDelta::days(SEED_WINDOW_DAYS),
        };
        let bestsellers = Source::Bestsellers {
            scope: Scope::Catalog,
            window: TimeDelta::days(90),
        };
        let (pick, fallback) = match name {
            "cross_sell+bestsellers" => (Source::CrossSell { seed }, vec![bestsellers]),
            "bestsellers" => (bestsellers, Vec::new()),
            other => (Contender::single(other, seed)?, Vec::new()),
        };
        Some(Contender {
            name: name.to_string(),
            pick,
            fallback,
        })
    }

    fn single(name: &str, seed: Seed) -> Option<Source> {
        Some(match name {
            "new_arrivals" => Source::NewArrivals {
                scope: Scope::Catalog,
                since: TimeDelta::days(30),
            },
            "order_reminders" => Source::OrderReminders,
            "cross_sell" => Source::CrossSell { seed },
            "similar_customers" => Source::SimilarCustomers,
            "next_purchase" => Source::NextPurchase,
            "auto" => Source::Auto,
            "upgrade" => Source::Upgrade { seed },
            "ecosystem" => Source::Ecosystem { seed },
            _ => return None,
        })
    }
}

/// Whether owned products count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    All,
    New,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::All => "all",
            Protocol::New => "new",
        }
    }
}

/// One source's figures under one protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub source: String,
    pub protocol: Protocol,
    pub customers: usize,
    pub hit_rate: f64,
    pub precision: f64,
    pub recall: f64,
    pub ndcg: f64,
    /// Share of the catalog suggested to at least one customer.
    pub coverage: f64,
    /// Customers for whom the source found fewer than K products.
    pub short_lists: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub split: i64,
    /// The end of the judged window, when it is not the end of the data.
    pub until: Option<i64>,
    pub k: usize,
    pub products: usize,
    /// Orders before the split (what the models learned from).
    pub orders_before: usize,
    pub orders_after: usize,
    /// Customers who ordered both before and after the split.
    pub customers_before_and_after: usize,
    pub scores: Vec<Scores>,
    /// What `auto` chose, per protocol, when it was among the contenders.
    pub auto: Vec<super::auto::AutoChoice>,
}

/// Runs the backtest of `contenders` at `split` with lists of `k` products,
/// judged on what was bought from `split` until `until` (the end of the data
/// with `i64::MAX`; an earlier end makes a validation window inside the
/// training period).
pub fn run(store: &Store, split: i64, until: i64, k: usize, contenders: &[Contender]) -> Report {
    run_sampled(store, split, until, k, contenders, usize::MAX)
}

/// [`run`] on at most `max_customers` of the customers who ordered before
/// and after the split (an even sample by position).
pub fn run_sampled(
    store: &Store,
    split: i64,
    until: i64,
    k: usize,
    contenders: &[Contender],
    max_customers: usize,
) -> Report {
    let model = Recommender::build_before(store, split);
    let mut evaluated: Vec<(CustomerIx, Vec<ProductIx>, Vec<ProductIx>)> =
        (0..store.customers().len() as CustomerIx)
            .into_par_iter()
            .filter_map(|customer| {
                let (before, after) = bought_around(store, customer, split, until);
                (!before.is_empty() && !after.is_empty()).then_some((customer, before, after))
            })
            .collect();
    let customers_before_and_after = evaluated.len();
    if evaluated.len() > max_customers {
        let step = evaluated.len().div_ceil(max_customers);
        evaluated = evaluated.into_iter().step_by(step).collect();
    }
    // `auto` decides once, before customers are scored in parallel.
    for contender in contenders {
        if matches!(contender.pick, Source::Auto) {
            for protocol in [Protocol::All, Protocol::New] {
                model.auto_choice(store, protocol, split);
            }
        }
    }
    let mut scores = Vec::new();
    for protocol in [Protocol::All, Protocol::New] {
        for contender in contenders {
            scores.push(score(
                store, &model, split, k, contender, protocol, &evaluated,
            ));
        }
    }
    let orders_before = store.orders_between(i64::MIN, split).len();
    Report {
        split,
        until: (until != i64::MAX).then_some(until),
        k,
        products: store.products().len(),
        orders_before,
        orders_after: store.orders_between(split, until).len(),
        customers_before_and_after,
        scores,
        auto: model.auto_choices().into_iter().cloned().collect(),
    }
}

/// Distinct products bought before and at-or-after the split, sorted.
fn bought_around(
    store: &Store,
    customer: CustomerIx,
    split: i64,
    until: i64,
) -> (Vec<ProductIx>, Vec<ProductIx>) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for (ix, order) in store.orders_of(customer) {
        if order.ts >= until {
            break;
        }
        let side = if order.ts < split {
            &mut before
        } else {
            &mut after
        };
        side.extend(store.order_lines(ix).filter_map(|line| line.product()));
    }
    for side in [&mut before, &mut after] {
        side.sort_unstable();
        side.dedup();
    }
    (before, after)
}

/// Totals over customers, summed in parallel.
#[derive(Debug, Default)]
struct Sums {
    customers: usize,
    hits: f64,
    precision: f64,
    recall: f64,
    ndcg: f64,
    short_lists: usize,
    /// Per product: suggested to anyone yet.
    suggested: Vec<bool>,
}

impl Sums {
    fn new(products: usize) -> Sums {
        Sums {
            suggested: vec![false; products],
            ..Sums::default()
        }
    }

    fn merge(mut self, other: Sums) -> Sums {
        self.customers += other.customers;
        self.hits += other.hits;
        self.precision += other.precision;
        self.recall += other.recall;
        self.ndcg += other.ndcg;
        self.short_lists += other.short_lists;
        for (mine, theirs) in self.suggested.iter_mut().zip(other.suggested) {
            *mine |= theirs;
        }
        self
    }
}

fn score(
    store: &Store,
    model: &Recommender,
    split: i64,
    k: usize,
    contender: &Contender,
    protocol: Protocol,
    evaluated: &[(CustomerIx, Vec<ProductIx>, Vec<ProductIx>)],
) -> Scores {
    let filters = Filters {
        // Stock is today's, not the split day's: it must not decide.
        in_stock: false,
        exclude_purchased: match protocol {
            Protocol::All => ExcludePurchased::Never,
            Protocol::New => ExcludePurchased::Ever,
        },
        min_rating: None,
        min_price_ratio: None,
        max_per_category: None,
    };
    let spec = ListSpec {
        name: contender.name.clone(),
        limit: k,
        primary: Pick {
            source: contender.pick.clone(),
            filters: filters.clone(),
        },
        fallback: contender
            .fallback
            .iter()
            .map(|source| Pick {
                source: source.clone(),
                filters: filters.clone(),
            })
            .collect(),
        on_empty: OnEmpty::OmitBlock,
    };
    let products = store.products().len();
    let sums = evaluated
        .par_iter()
        .fold(
            || Sums::new(products),
            |mut sums, (customer, before, after)| {
                let relevant: Vec<ProductIx> = match protocol {
                    Protocol::All => after.clone(),
                    Protocol::New => after
                        .iter()
                        .filter(|p| before.binary_search(p).is_err())
                        .copied()
                        .collect(),
                };
                if relevant.is_empty() {
                    return sums;
                }
                let list = model.resolve_list(store, &spec, *customer, None, split, &[]);
                let hits: Vec<bool> = list
                    .items
                    .iter()
                    .map(|item| relevant.binary_search(&item.product).is_ok())
                    .collect();
                let hit_count = hits.iter().filter(|h| **h).count();
                let dcg: f64 = hits
                    .iter()
                    .enumerate()
                    .filter(|(_, hit)| **hit)
                    .map(|(rank, _)| 1.0 / (rank as f64 + 2.0).log2())
                    .sum();
                let ideal: f64 = (0..relevant.len().min(k))
                    .map(|rank| 1.0 / (rank as f64 + 2.0).log2())
                    .sum();
                sums.customers += 1;
                sums.hits += f64::from(u8::from(hit_count > 0));
                sums.precision += hit_count as f64 / k as f64;
                sums.recall += hit_count as f64 / relevant.len() as f64;
                sums.ndcg += dcg / ideal;
                sums.short_lists += usize::from(list.items.len() < k);
                for item in &list.items {
                    sums.suggested[item.product as usize] = true;
                }
                sums
            },
        )
        .reduce(|| Sums::new(products), Sums::merge);
    let n = sums.customers.max(1) as f64;
    Scores {
        source: contender.name.clone(),
        protocol,
        customers: sums.customers,
        hit_rate: sums.hits / n,
        precision: sums.precision / n,
        recall: sums.recall / n,
        ndcg: sums.ndcg / n,
        coverage: sums.suggested.iter().filter(|s| **s).count() as f64 / products.max(1) as f64,
        short_lists: sums.short_lists,
    }
}
