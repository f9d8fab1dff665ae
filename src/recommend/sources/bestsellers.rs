//! `bestsellers`: the products bought by the most distinct customers over
//! the list's window (default 90 days) before `now`, within the scope.
//! Distinct customers rather than units, so one wholesale order of 500
//! mugs does not make a bestseller. The ranking of the whole catalog for a
//! (window, now) is computed once and shared by every recipient.

use std::sync::Arc;

use rayon::prelude::*;

use crate::campaign::Scope;
use crate::data::{ProductIx, Store};

use super::super::Recommender;
use super::super::reason::Why;
use super::super::resolve::Context;
use super::super::scope;
use super::{Candidate, Sink};

/// A product and its distinct buyers in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ranked {
    pub product: ProductIx,
    pub buyers: u32,
}

pub(crate) fn run(context: &Context<'_>, scope: &Scope, window: i64, sink: &mut Sink<'_>) {
    let resolved = scope::resolve(
        context.store,
        scope,
        context.history,
        context.occurrence,
        context.now,
    );
    if resolved.is_empty() {
        return;
    }
    let ranking = context
        .model
        .bestseller_ranking(context.store, window, context.now);
    for ranked in ranking.iter() {
        let Some(place) = resolved.place_of(context.store.product(ranked.product)) else {
            continue;
        };
        let candidate = Candidate {
            product: ranked.product,
            score: f64::from(ranked.buyers),
            why: Why::Bestseller {
                place,
                buyers: ranked.buyers,
                window,
            },
        };
        if sink(candidate).is_break() {
            return;
        }
    }
}

impl Recommender {
    /// Every product sold in `[now − window, now)`, by distinct buyers (most first, ties by position).
    pub(crate) fn bestseller_ranking(&self, store: &Store, window: i64, now: i64) -> Arc<[Ranked]> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        let known = self
            .rankings
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&(window, now))
            .cloned();
        if let Some(ranking) = known {
            return ranking;
        }
        let mut rankings = self
            .rankings
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another thread may have ranked it while this one waited.
        if let Some(ranking) = rankings.get(&(window, now)) {
            return Arc::clone(ranking);
        }
        let ranking = rank(store, now.saturating_sub(window), now.min(self.cutoff));
        if rankings.len() >= 64 {
            rankings.clear();
        }
        rankings.insert((window, now), Arc::clone(&ranking));
        ranking
    }
}

fn rank(store: &Store, from: i64, to: i64) -> Arc<[Ranked]> {
    let mut sales: Vec<u64> = store
        .orders_between(from, to)
        .par_iter()
        .flat_map_iter(|order| {
            let customer = u64::from(store.order(*order).customer);
            store
                .order_lines(*order)
                .filter_map(|line| line.product())
                .map(move |product| (u64::from(product) << 32) | customer)
                .collect::<Vec<u64>>()
        })
        .collect();
    sales.par_sort_unstable();
    sales.dedup();
    let mut ranking: Vec<Ranked> = Vec::new();
    for sale in sales {
        let product = (sale >> 32) as ProductIx;
        match ranking.last_mut() {
            Some(last) if last.product == product => last.buyers += 1,
            _ => ranking.push(Ranked { product, buyers: 1 }),
        }
    }
    ranking.sort_by_key(|r| (std::cmp::Reverse(r.buyers), r.product));
    ranking.into()
}
