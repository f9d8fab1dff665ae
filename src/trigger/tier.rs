//! `tier_reached`: the customer moved to one of the campaign's tiers (any
//! tier when none is named). A move superseded by a later one (gold, then
//! platinum two days after) is no longer the customer's news.

use super::{Detail, Occurrence, Window};
use crate::calendar;
use crate::data::{CustomerIx, EventKind, Store};

pub(super) fn occurrences(
    store: &Store,
    tiers: &[String],
    window: Window,
    now: i64,
) -> Vec<Occurrence> {
    store
        .events_between(window.from, window.to)
        .filter(|e| e.kind == EventKind::TierChanged)
        .filter_map(|event| {
            let tier = store.metric_name(event.metric()?);
            if !tiers.is_empty() && !tiers.iter().any(|t| t == tier) {
                return None;
            }
            if changed_again(store, event.customer, event.ts, now) {
                return None;
            }
            Some(Occurrence {
                customer: event.customer,
                key: format!("tier:{tier}:{}", calendar::rfc3339(event.ts)),
                at: event.ts,
                products: Vec::new(),
                category: None,
                order: None,
                detail: Detail::Tier {
                    tier: tier.to_string(),
                },
            })
        })
        .collect()
}

/// Whether the customer's tier changed again after `ts` (and before `now`).
fn changed_again(store: &Store, customer: CustomerIx, ts: i64, now: i64) -> bool {
    store
        .events_of(customer)
        .iter()
        .rev()
        .take_while(|e| e.ts > ts)
        .any(|e| e.kind == EventKind::TierChanged && e.ts < now)
}
