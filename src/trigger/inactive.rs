//! `inactive`: no order for `after` (reactivation). The moment is when the
//! inactivity began (last order + `after`); it stays open for `within`.
//! Keyed by the customer's local date inactivity began, so a customer who
//! orders again and lapses again later has a new moment.

use super::{Detail, Occurrence, Window};
use crate::calendar;
use crate::data::{OrderIx, Store};

pub(super) fn occurrences(store: &Store, after: i64, window: Window, now: i64) -> Vec<Occurrence> {
    store
        .orders_between(window.from - after, window.to - after)
        .iter()
        .filter_map(|order_ix| {
            let order = store.order(*order_ix);
            let customer = order.customer;
            // Only the customer's last order before `now` starts an inactivity.
            let (last_ix, _) = store.orders_of(customer).rev().find(|(_, o)| o.ts < now)?;
            if last_ix != *order_ix {
                return None;
            }
            let began = order.ts + after;
            let tz = store.customer(customer).timezone;
            Some(Occurrence {
                customer,
                key: format!("inactive:{}", calendar::local_date(began, tz)),
                at: began,
                products: order_products(store, *order_ix),
                category: None,
                order: Some(*order_ix),
                detail: Detail::Inactive {
                    days: ((now - order.ts) / 86_400) as u32,
                },
            })
        })
        .collect()
}

fn order_products(store: &Store, order: OrderIx) -> Vec<crate::data::ProductIx> {
    let mut products = Vec::new();
    for line in store.order_lines(order) {
        if let Some(product) = line.product() {
            super::push_unique(&mut products, product);
        }
    }
    products
}
