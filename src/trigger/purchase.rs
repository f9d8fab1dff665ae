//! `post_purchase` and `gift_purchase`: an order, keyed `order:<id>`.
//!
//! A gift order is not the buyer's own routine to complete, so post-purchase
//! leaves gift orders to `gift_purchase`.

use rust_decimal::Decimal;

use super::{CategoryFilter, Detail, Occurrence, Window, first_category};
use crate::data::{OrderIx, ProductIx, Store};

pub(super) fn post_purchase(
    store: &Store,
    window: Window,
    categories: &CategoryFilter,
) -> Vec<Occurrence> {
    store
        .orders_between(window.from, window.to)
        .iter()
        .filter(|o| !store.order(**o).gift)
        .filter_map(|o| {
            let products = order_products(store, *o, categories);
            (!products.is_empty()).then(|| occurrence(store, *o, products))
        })
        .collect()
}

pub(super) fn gift_purchase(store: &Store, window: Window) -> Vec<Occurrence> {
    store
        .orders_between(window.from, window.to)
        .iter()
        .filter(|o| store.order(**o).gift)
        .map(|o| occurrence(store, *o, order_products(store, *o, &CategoryFilter(None))))
        .collect()
}

fn occurrence(store: &Store, order: OrderIx, products: Vec<ProductIx>) -> Occurrence {
    let o = store.order(order);
    Occurrence {
        customer: o.customer,
        key: format!("order:{}", o.id),
        at: o.ts,
        category: first_category(store, &products),
        products,
        order: Some(order),
        detail: Detail::None,
    }
}

/// The order's products that pass the filter, the largest line first.
fn order_products(store: &Store, order: OrderIx, categories: &CategoryFilter) -> Vec<ProductIx> {
    let mut lines: Vec<(Decimal, ProductIx)> = Vec::new();
    for line in store.order_lines(order) {
        let Some(product) = line.product() else {
            continue;
        };
        if !categories.allows_category(store.product(product).category) {
            continue;
        }
        let value = line
            .unit_price()
            .saturating_mul(Decimal::from(line.quantity.max(1)));
        match lines.iter_mut().find(|(_, p)| *p == product) {
            Some((total, _)) => *total = total.saturating_add(value),
            None => lines.push((value, product)),
        }
    }
    // Stable: equal values keep the order's line order.
    lines.sort_by_key(|line| std::cmp::Reverse(line.0));
    lines.into_iter().map(|(_, p)| p).collect()
}
