//! `new_arrival`: a product launched (its `created_at`) in a category the
//! customer engaged with — viewed, carted or bought something of it within
//! [`ENGAGEMENT`] before now — and that they do not own yet. Keyed by the
//! product: each launch is news once.

use std::collections::{BTreeSet, HashMap};

use super::{CategoryFilter, Detail, Occurrence, Window};
use crate::data::{CustomerIx, EventKind, NameIx, ProductIx, Store};

/// How far back a view, cart or order counts as interest in a category.
pub const ENGAGEMENT: i64 = 90 * 86_400;

pub(super) fn occurrences(
    store: &Store,
    window: Window,
    categories: &CategoryFilter,
    now: i64,
) -> Vec<Occurrence> {
    let mut launched: HashMap<NameIx, Vec<ProductIx>> = HashMap::new();
    for (ix, product) in store.products().iter().enumerate() {
        if window.contains(product.created_at) && categories.allows_category(product.category) {
            launched
                .entry(product.category)
                .or_default()
                .push(ix as ProductIx);
        }
    }
    if launched.is_empty() {
        return Vec::new();
    }
    let engaged: BTreeSet<(CustomerIx, NameIx)> = store
        .events_between(now - ENGAGEMENT, now)
        .filter(|e| matches!(e.kind, EventKind::View | EventKind::Cart | EventKind::Order))
        .filter_map(|e| {
            let category = store.product(e.product()?).category;
            launched
                .contains_key(&category)
                .then_some((e.customer, category))
        })
        .collect();
    let mut found = Vec::new();
    for (customer, category) in engaged {
        for product in &launched[&category] {
            if owns(store, customer, *product, now) {
                continue;
            }
            found.push(Occurrence {
                customer,
                key: format!("new_arrival:{}", store.product(*product).id),
                at: store.product(*product).created_at,
                products: vec![*product],
                category: Some(category),
                order: None,
                detail: Detail::None,
            });
        }
    }
    found
}

fn owns(store: &Store, customer: CustomerIx, product: ProductIx, now: i64) -> bool {
    store
        .events_of(customer)
        .iter()
        .take_while(|e| e.ts < now)
        .any(|e| e.kind == EventKind::Order && e.product() == Some(product))
}
