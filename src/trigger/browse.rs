//! `browse`: `min_views` views of one category (or one product) within
//! `within`, and no order since those views began.
//!
//! The moment is the view that *crosses* the threshold: the one with exactly
//! `min_views` views of the same thing in the `within` before it (inclusive).
//! Someone who keeps browsing stays above the threshold and crosses it once;
//! someone who comes back after the earlier views aged out crosses it again.
//! The key is the category (or product) and the customer's local day of the
//! crossing, so it does not change while `now` moves through the window.

use std::collections::HashMap;

use crate::calendar;
use crate::campaign::BrowsePer;

use super::{CategoryFilter, Detail, Occurrence, Window, push_unique};
use crate::data::{CustomerIx, EventKind, ProductIx, Store};

#[derive(Debug, Clone, Copy)]
pub(super) struct Rule {
    pub min_views: u32,
    pub per: BrowsePer,
    /// Seconds.
    pub within: i64,
}

pub(super) fn occurrences(
    store: &Store,
    rule: Rule,
    categories: &CategoryFilter,
    now: i64,
) -> Vec<Occurrence> {
    let window = Window::new(
        now,
        chrono::TimeDelta::seconds(rule.within),
        chrono::TimeDelta::zero(),
    );
    // A crossing inside the window counts views up to `within` before it.
    let mut views: HashMap<(CustomerIx, u32), Vec<(i64, ProductIx)>> = HashMap::new();
    for event in store.events_between(window.from - rule.within, now) {
        if event.kind != EventKind::View {
            continue;
        }
        let Some(product) = event.product() else {
            continue;
        };
        let category = store.product(product).category;
        if !categories.allows_category(category) {
            continue;
        }
        let group = match rule.per {
            BrowsePer::Category => category,
            BrowsePer::Product => product,
        };
        views
            .entry((event.customer, group))
            .or_default()
            .push((event.ts, product));
    }
    let mut found = Vec::new();
    for ((customer, group), times) in &views {
        found.extend(group_occurrences(
            store, rule, window, *customer, *group, times, now,
        ));
    }
    found
}

/// The open crossings of one customer's views of one group (time order), one per local day.
fn group_occurrences(
    store: &Store,
    rule: Rule,
    window: Window,
    customer: CustomerIx,
    group: u32,
    views: &[(i64, ProductIx)],
    now: i64,
) -> Vec<Occurrence> {
    let tz = store.customer(customer).timezone;
    let needed = rule.min_views as usize;
    let mut found: Vec<Occurrence> = Vec::new();
    let mut first_in_range = 0;
    for (i, (t, _)) in views.iter().enumerate() {
        while views[first_in_range].0 <= t - rule.within {
            first_in_range += 1;
        }
        let crossing = i + 1 - first_in_range == needed;
        if !crossing || !window.contains(*t) {
            continue;
        }
        let began = views[first_in_range].0;
        if ordered_since(store, customer, began, now) {
            continue;
        }
        let day = calendar::local_date(*t, tz);
        let key = match rule.per {
            BrowsePer::Category => {
                format!("browse:{}:{day}", store.categories().name(group))
            }
            BrowsePer::Product => format!("browse:product:{}:{day}", store.product(group).id),
        };
        if found.iter().any(|o| o.key == key) {
            continue;
        }
        let recent = &views[first_in_range..];
        found.push(Occurrence {
            customer,
            key,
            at: *t,
            products: most_viewed(recent),
            category: Some(match rule.per {
                BrowsePer::Category => group,
                BrowsePer::Product => store.product(group).category,
            }),
            order: None,
            detail: Detail::Views {
                count: recent.len() as u32,
            },
        });
    }
    found
}

/// Whether the customer ordered anything at or after `since` (and before `now`).
fn ordered_since(store: &Store, customer: CustomerIx, since: i64, now: i64) -> bool {
    store
        .orders_of(customer)
        .rev()
        .take_while(|(_, o)| o.ts >= since)
        .any(|(_, o)| o.ts < now)
}

/// The viewed products, most viewed first (ties: most recently viewed first).
fn most_viewed(views: &[(i64, ProductIx)]) -> Vec<ProductIx> {
    let mut order: Vec<ProductIx> = Vec::new();
    for (_, product) in views.iter().rev() {
        push_unique(&mut order, *product);
    }
    let count = |p: &ProductIx| views.iter().filter(|(_, v)| v == p).count();
    order.sort_by_key(|p| std::cmp::Reverse(count(p)));
    order
}
