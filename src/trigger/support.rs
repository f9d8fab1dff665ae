//! `support_resolved`: a support ticket resolved, about a product; keyed by
//! the product and the time it was resolved.

use super::{CategoryFilter, Detail, Occurrence, Window};
use crate::calendar;
use crate::data::{EventKind, Store};

pub(super) fn occurrences(
    store: &Store,
    window: Window,
    categories: &CategoryFilter,
) -> Vec<Occurrence> {
    store
        .events_between(window.from, window.to)
        .filter(|e| e.kind == EventKind::SupportResolved)
        .filter(|e| categories.allows(store, e.product()))
        .map(|event| {
            let product = event.product();
            let product_id = product.map_or("none", |p| &store.product(p).id);
            Occurrence {
                customer: event.customer,
                key: format!("support:{product_id}:{}", calendar::rfc3339(event.ts)),
                at: event.ts,
                products: product.into_iter().collect(),
                category: product.map(|p| store.product(p).category),
                order: None,
                detail: Detail::None,
            }
        })
        .collect()
}
