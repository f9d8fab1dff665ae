//! `second_visit`: a customer coming back for a second visit to the shop.
//!
//! A visit is a run of site activity (views, carts, orders) with no gap of
//! more than [`SESSION_GAP`] (the usual web-analytics session timeout). The
//! moment is the first activity of the customer's second visit ever; it
//! happens once per customer.

use std::collections::BTreeSet;

use super::{Detail, Occurrence, Window, first_category, push_unique};
use crate::calendar;
use crate::data::{CustomerIx, Event, EventKind, Store};

/// Thirty minutes without activity ends a visit.
pub const SESSION_GAP: i64 = 30 * 60;

fn is_site_activity(event: &Event) -> bool {
    matches!(
        event.kind,
        EventKind::View | EventKind::Cart | EventKind::Order
    )
}

pub(super) fn occurrences(store: &Store, window: Window, now: i64) -> Vec<Occurrence> {
    let candidates: BTreeSet<CustomerIx> = store
        .events_between(window.from, window.to)
        .filter(|e| is_site_activity(e))
        .map(|e| e.customer)
        .collect();
    candidates
        .into_iter()
        .filter_map(|customer| second_visit(store, customer, window, now))
        .collect()
}

fn second_visit(
    store: &Store,
    customer: CustomerIx,
    window: Window,
    now: i64,
) -> Option<Occurrence> {
    let history = store.events_of(customer);
    let before_now = &history[..history.partition_point(|e| e.ts < now)];
    let mut activity = before_now.iter().filter(|e| is_site_activity(e));
    let mut previous = activity.next()?.ts;
    let start = loop {
        let event = activity.next()?;
        let gap = event.ts - previous;
        previous = event.ts;
        if gap > SESSION_GAP {
            break event.ts;
        }
    };
    if !window.contains(start) {
        return None;
    }
    let mut products = Vec::new();
    let mut last = start;
    for event in before_now
        .iter()
        .filter(|e| e.ts >= start && is_site_activity(e))
    {
        if event.ts - last > SESSION_GAP {
            break;
        }
        last = event.ts;
        if let Some(product) = event.product() {
            push_unique(&mut products, product);
        }
    }
    Some(Occurrence {
        customer,
        key: format!("second_visit:{}", calendar::rfc3339(start)),
        at: start,
        category: first_category(store, &products),
        products,
        order: None,
        detail: Detail::None,
    })
}
