//! Moments: for a campaign's trigger and a time `now`, the occurrences (one
//! customer, one moment, one stable key) that are open for sending.
//!
//! Every kind reads the store through its time indexes (`events_between`,
//! `orders_between`) over the window that can hold an open moment, then looks
//! at the history of only the customers found there: never a scan of every
//! customer. Only data strictly before `now` counts, so evaluating at a past
//! `now` sees exactly what a run at that time saw.
//!
//! A moment at time `t` is open while `t + delay <= now`, `t < now` and
//! `now - t < within` ([`Window`]). Where a trigger speaks of a day or a
//! month, it is the customer's, in their time zone ([`crate::calendar`]).

mod browse;
mod cart;
mod inactive;
mod new_arrival;
mod purchase;
pub(crate) mod season;
mod support;
mod tier;
mod usage;
mod visit;

#[cfg(test)]
mod tests;

use std::collections::HashSet;

use chrono::TimeDelta;
use serde::Serialize;

use crate::campaign::Trigger;
use crate::data::{CustomerIx, NameIx, OrderIx, ProductIx, Store};

/// One moment for one customer. The key is stable: evaluating the same data
/// at any `now` inside the window gives the same key, so the ledger can make
/// sure the moment is mailed at most once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occurrence {
    pub customer: CustomerIx,
    /// Stable across runs, e.g. `order:O0001234` or `browse:Historical Fiction:2026-11-14`.
    pub key: String,
    /// When the moment happened (Unix seconds).
    pub at: i64,
    /// The products the moment is about (the order's items, the cart's product,
    /// the viewed product…), most relevant first. Seeds for cross-sell lists.
    pub products: Vec<ProductIx>,
    /// The category the moment is about (browse, new arrival), when there is one.
    pub category: Option<NameIx>,
    pub order: Option<OrderIx>,
    pub detail: Detail,
}

/// What else a template may want to say about the moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Detail {
    None,
    /// browse: how many views.
    Views {
        count: u32,
    },
    /// usage_milestone: the metric reached `value` (threshold `threshold`).
    Metric {
        name: String,
        value: f64,
        threshold: f64,
    },
    /// tier_reached: the new tier.
    Tier {
        tier: String,
    },
    /// inactive: days since the last order.
    Inactive {
        days: u32,
    },
}

/// Every open occurrence of `trigger` at `now`, over the whole store, sorted
/// by customer, then time, then key.
pub fn occurrences(store: &Store, trigger: &Trigger, now: i64) -> Vec<Occurrence> {
    let mut found = match trigger {
        Trigger::PostPurchase {
            within,
            delay,
            categories,
        } => purchase::post_purchase(
            store,
            Window::new(now, *within, *delay),
            &CategoryFilter::new(store, categories),
        ),
        Trigger::GiftPurchase { within } => {
            purchase::gift_purchase(store, Window::new(now, *within, TimeDelta::zero()))
        }
        Trigger::Browse {
            min_views,
            per,
            within,
            categories,
        } => browse::occurrences(
            store,
            browse::Rule {
                min_views: *min_views,
                per: *per,
                within: within.num_seconds(),
            },
            &CategoryFilter::new(store, categories),
            now,
        ),
        Trigger::CartAbandoned { delay, within } => {
            cart::occurrences(store, Window::new(now, *within, *delay), now)
        }
        Trigger::SupportResolved { within, categories } => support::occurrences(
            store,
            Window::new(now, *within, TimeDelta::zero()),
            &CategoryFilter::new(store, categories),
        ),
        Trigger::UsageMilestone {
            metric,
            threshold,
            period,
            within,
        } => usage::occurrences(
            store,
            metric,
            *threshold,
            *period,
            Window::new(now, *within, TimeDelta::zero()),
        ),
        Trigger::TierReached { tiers, within } => tier::occurrences(
            store,
            tiers,
            Window::new(now, *within, TimeDelta::zero()),
            now,
        ),
        Trigger::Inactive { after, within } => inactive::occurrences(
            store,
            after.num_seconds(),
            Window::new(now, *within, TimeDelta::zero()),
            now,
        ),
        Trigger::SecondVisit { within } => {
            visit::occurrences(store, Window::new(now, *within, TimeDelta::zero()), now)
        }
        Trigger::NewArrival { within, categories } => new_arrival::occurrences(
            store,
            Window::new(now, *within, TimeDelta::zero()),
            &CategoryFilter::new(store, categories),
            now,
        ),
        Trigger::DateWindow { from, to } => season::occurrences(store, *from, *to, now),
    };
    sort(&mut found);
    found
}

/// The key of a campaign without trigger (a newsletter): one per scheduled
/// run (`newsletter:2026-11-16T08:00:00Z`), or one ever when it has no schedule.
pub fn newsletter_key(due: Option<i64>) -> String {
    match due {
        Some(due) => format!("newsletter:{}", crate::calendar::rfc3339(due)),
        None => "newsletter:once".to_string(),
    }
}

/// A campaign without trigger: one occurrence per customer, all with `key`,
/// at `at` (the run's due time). The audience decides who gets it.
pub fn newsletter(store: &Store, key: &str, at: i64) -> Vec<Occurrence> {
    (0..store.customers().len() as CustomerIx)
        .map(|customer| Occurrence {
            customer,
            key: key.to_string(),
            at,
            products: Vec::new(),
            category: None,
            order: None,
            detail: Detail::None,
        })
        .collect()
}

fn sort(occurrences: &mut [Occurrence]) {
    occurrences.sort_by(|a, b| (a.customer, a.at, &a.key).cmp(&(b.customer, b.at, &b.key)));
}

/// The moment times `t` still open at `now`: `[from, to)`, i.e.
/// `now - within < t`, `t <= now - delay` and `t < now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: i64,
    pub to: i64,
}

impl Window {
    pub fn new(now: i64, within: TimeDelta, delay: TimeDelta) -> Window {
        Window {
            from: now - within.num_seconds() + 1,
            to: (now - delay.num_seconds() + 1).min(now),
        }
    }

    pub fn contains(&self, t: i64) -> bool {
        self.from <= t && t < self.to
    }
}

/// The categories a trigger is restricted to; empty = all.
pub(crate) struct CategoryFilter(Option<HashSet<NameIx>>);

impl CategoryFilter {
    pub fn new(store: &Store, names: &[String]) -> CategoryFilter {
        if names.is_empty() {
            return CategoryFilter(None);
        }
        CategoryFilter(Some(
            names
                .iter()
                .filter_map(|name| store.categories().get(name))
                .collect(),
        ))
    }

    pub fn is_all(&self) -> bool {
        self.0.is_none()
    }

    pub fn allows_category(&self, category: NameIx) -> bool {
        self.0.as_ref().is_none_or(|set| set.contains(&category))
    }

    /// Whether a moment about `product` (or about no product) passes.
    pub fn allows(&self, store: &Store, product: Option<ProductIx>) -> bool {
        match product {
            Some(product) => self.allows_category(store.product(product).category),
            None => self.is_all(),
        }
    }
}

/// The category of the first product, if any.
pub(crate) fn first_category(store: &Store, products: &[ProductIx]) -> Option<NameIx> {
    products.first().map(|p| store.product(*p).category)
}

/// Appends `product` unless already there.
pub(crate) fn push_unique(products: &mut Vec<ProductIx>, product: ProductIx) {
    if !products.contains(&product) {
        products.push(product);
    }
}
