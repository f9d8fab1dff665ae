//! The list sources, one file each. A source turns the recipient's context
//! into candidates, best first, and hands them to a sink that keeps those
//! passing the guards until the list is full; sources never filter by the
//! guards themselves.

pub(crate) mod bestsellers;
mod cross_sell;
mod ecosystem;
mod manual;
mod new_arrivals;
mod next_purchase;
mod order_reminders;
mod similar_customers;
mod upgrade;

use std::ops::ControlFlow;

use rustc_hash::FxHashMap;

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

/// Upgrade and ecosystem look at this many seeds at most (the most relevant):
/// a wholesaler's 500 recent purchases are not 500 upgrade paths.
pub const MAX_FAMILY_SEEDS: usize = 20;

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
        Source::NextPurchase => next_purchase::run(context, sink),
        Source::Upgrade { .. } => upgrade::run(context, seeds, sink),
        Source::Ecosystem { .. } => ecosystem::run(context, seeds, sink),
        Source::Manual { ids } => manual::run(context, ids, sink),
        // Resolved to the source it chose before any source runs (`resolve.rs`).
        Source::Auto => {}
    }
}

/// Sums the votes several seeds give each product; its reason is the one of
/// the strongest single vote.
#[derive(Default)]
struct Tally {
    votes: FxHashMap<ProductIx, (Candidate, f64)>,
}

impl Tally {
    fn with_capacity(capacity: usize) -> Tally {
        Tally {
            votes: FxHashMap::with_capacity_and_hasher(capacity, Default::default()),
        }
    }

    fn add(&mut self, product: ProductIx, vote: f64, why: Why) {
        let (candidate, strongest) = self.votes.entry(product).or_insert((
            Candidate {
                product,
                score: 0.0,
                why,
            },
            vote,
        ));
        candidate.score += vote;
        if vote > *strongest {
            *strongest = vote;
            candidate.why = why;
        }
    }

    fn offer(self, sink: &mut Sink<'_>) {
        offer_by_score(self.votes.into_values().map(|(c, _)| c).collect(), sink);
    }
}

/// Offers candidates by score (best first; ties by catalog position) until
/// the sink is full. Lists are short and candidates many, so candidates are
/// ordered a slice at a time: the best 16, then the next 64, and so on.
fn offer_by_score(mut candidates: Vec<Candidate>, sink: &mut Sink<'_>) {
    let better =
        |a: &Candidate, b: &Candidate| b.score.total_cmp(&a.score).then(a.product.cmp(&b.product));
    let mut start = 0;
    let mut slice = 16;
    while start < candidates.len() {
        let end = (start + slice).min(candidates.len());
        let rest = &mut candidates[start..];
        if end < start + rest.len() {
            rest.select_nth_unstable_by(end - start - 1, better);
        }
        rest[..end - start].sort_unstable_by(better);
        for candidate in &candidates[start..end] {
            if sink(*candidate).is_break() {
                return;
            }
        }
        start = end;
        slice *= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_offered_best_first_ties_by_position_slice_after_slice() {
        // 300 candidates: scores repeat every 7, so there are many ties.
        let candidates: Vec<Candidate> = (0..300u32)
            .map(|p| Candidate {
                product: (p * 37) % 300,
                score: f64::from((p * 13) % 7),
                why: Why::Manual,
            })
            .collect();
        let mut expected = candidates.clone();
        expected.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.product.cmp(&b.product)));
        let mut offered = Vec::new();
        offer_by_score(candidates.clone(), &mut |c| {
            offered.push(c);
            ControlFlow::Continue(())
        });
        assert_eq!(offered, expected);
        let mut first_twenty = Vec::new();
        offer_by_score(candidates, &mut |c| {
            first_twenty.push(c);
            if first_twenty.len() == 20 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(first_twenty, expected[..20]);
    }
}
