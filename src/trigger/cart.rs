//! `cart_abandoned`: a product put in the cart and not ordered since, from
//! `delay` after the cart until `within` after it.
//!
//! A customer's abandoned carts of one local day are one moment (keyed
//! `cart:<day>`), about all of that day's abandoned products, most recent
//! first: someone who leaves three products behind gets one reminder.

use std::collections::BTreeMap;

use crate::calendar;

use super::{Detail, Occurrence, Window, first_category, push_unique};
use crate::data::{CustomerIx, EventKind, ProductIx, Store};

pub(super) fn occurrences(store: &Store, window: Window, now: i64) -> Vec<Occurrence> {
    let mut days: BTreeMap<(CustomerIx, chrono::NaiveDate), Vec<(i64, ProductIx)>> =
        BTreeMap::new();
    for event in store.events_between(window.from, window.to) {
        if event.kind != EventKind::Cart {
            continue;
        }
        let Some(product) = event.product() else {
            continue;
        };
        if ordered_since(store, event.customer, product, event.ts, now) {
            continue;
        }
        let tz = store.customer(event.customer).timezone;
        days.entry((event.customer, calendar::local_date(event.ts, tz)))
            .or_default()
            .push((event.ts, product));
    }
    days.into_iter()
        .map(|((customer, day), carts)| {
            let mut products = Vec::new();
            for (_, product) in carts.iter().rev() {
                push_unique(&mut products, *product);
            }
            Occurrence {
                customer,
                key: format!("cart:{day}"),
                at: carts.last().map_or(0, |(t, _)| *t),
                category: first_category(store, &products),
                products,
                order: None,
                detail: Detail::None,
            }
        })
        .collect()
}

/// Whether the customer ordered `product` at or after `since` (and before `now`).
fn ordered_since(
    store: &Store,
    customer: CustomerIx,
    product: ProductIx,
    since: i64,
    now: i64,
) -> bool {
    store
        .orders_of(customer)
        .rev()
        .take_while(|(_, o)| o.ts >= since)
        .filter(|(_, o)| o.ts < now)
        .any(|(ix, _)| {
            store
                .order_lines(ix)
                .any(|line| line.product() == Some(product))
        })
}
