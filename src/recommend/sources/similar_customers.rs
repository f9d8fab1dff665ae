//! `similar_customers`: what customers with histories like this one's
//! bought, by item-based nearest neighbours with BM25 weights (see
//! `item_knn.rs`). Every product the customer bought before `now` votes
//! for its most similar products, weighted by how many of the customer's
//! orders contained it; the reason names the product that voted most.

use rustc_hash::FxHashMap;

use crate::data::ProductIx;

use super::super::reason::Why;
use super::super::resolve::Context;
use super::{Candidate, Sink, offer_by_score};

pub(crate) fn run(context: &Context<'_>, sink: &mut Sink<'_>) {
    let mut scored: FxHashMap<ProductIx, Candidate> = FxHashMap::default();
    let mut best: FxHashMap<ProductIx, f64> = FxHashMap::default();
    for owned in context.history.owned() {
        let weight = f64::from(owned.times);
        for similar in context.model.item_knn.similar(owned.product) {
            let vote = weight * f64::from(similar.score);
            let why = Why::Similar {
                because: owned.product,
                together: similar.together,
            };
            let entry = scored.entry(similar.product).or_insert(Candidate {
                product: similar.product,
                score: 0.0,
                why,
            });
            entry.score += vote;
            let strongest = best.entry(similar.product).or_insert(vote);
            if vote > *strongest {
                *strongest = vote;
                entry.why = why;
            }
        }
    }
    offer_by_score(scored.into_values().collect(), sink);
}
