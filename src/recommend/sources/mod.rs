//! The list sources, one file each. A source turns the recipient's context
//! into candidates, best first, and hands them to a sink that keeps those
//! passing the guards until the list is full; sources never filter by the
//! guards themselves.

pub(crate) mod bestsellers;
mod cross_sell;
mod ecosystem;
mod manual;
mod new_arrivals;
mod order_reminders;
mod similar_customers;
mod upgrade;

use std::ops::ControlFlow;

use crate::campaign::{Seed, Source};
use crate::data::ProductIx;

use super::reason::Why;
use super::resolve::Context;

/// A product a source proposes, with its score (higher is better, in the
/// source's own unit) and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    pub product: ProductIx,
    pub score: f64,
    pub why: Why,
}

/// Takes candidates best first; says `Break` when the list is full.
pub(crate) type Sink<'s> = dyn FnMut(Candidate) -> ControlFlow<()> + 's;

/// The seed products of a seeded source (cross-sell, upgrade, ecosystem), most relevant first.
pub(crate) fn seeds_of(context: &Context<'_>, source: &Source) -> Option<Vec<ProductIx>> {
    match source {
        Source::CrossSell { seed } | Source::Upgrade { seed } | Source::Ecosystem { seed } => {
            Some(seeds(context, seed))
        }
        _ => None,
    }
}

fn seeds(context: &Context<'_>, seed: &Seed) -> Vec<ProductIx> {
    match seed {
        Seed::Trigger => context
            .occurrence
            .map(|o| o.products.clone())
            .unwrap_or_default(),
        Seed::RecentPurchases { window } => context
            .history
            .purchased_since(context.now - window.num_seconds()),
        Seed::RecentViews { window } => context
            .history
            .viewed_since(context.now - window.num_seconds()),
    }
}

pub(crate) fn run(
    context: &Context<'_>,
    source: &Source,
    seeds: &[ProductIx],
    sink: &mut Sink<'_>,
) {
    match source {
        Source::Bestsellers { scope, window } => {
            bestsellers::run(context, scope, window.num_seconds(), sink)
        }
        Source::NewArrivals { scope, since } => {
            new_arrivals::run(context, scope, since.num_seconds(), sink)
        }
        Source::OrderReminders => order_reminders::run(context, sink),
        Source::CrossSell { .. } => cross_sell::run(context, seeds, sink),
        Source::SimilarCustomers => similar_customers::run(context, sink),
        Source::Upgrade { .. } => upgrade::run(context, seeds, sink),
        Source::Ecosystem { .. } => ecosystem::run(context, seeds, sink),
        Source::Manual { ids } => manual::run(context, ids, sink),
    }
}

/// Offers candidates by score (best first; ties by catalog position) until the sink is full.
fn offer_by_score(mut candidates: Vec<Candidate>, sink: &mut Sink<'_>) {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.product.cmp(&b.product)));
    for candidate in candidates {
        if sink(candidate).is_break() {
            return;
        }
    }
}
