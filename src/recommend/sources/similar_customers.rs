//! `similar_customers`: what customers with histories like this one's
//! bought, by item-based nearest neighbours with BM25 weights (see
//! `item_knn.rs`). Every product the customer bought before `now` votes
//! once for its most similar products (a wholesaler's 40 re-orders of one
//! item do not drown the rest); the reason names the product that voted most.

use super::super::reason::Why;
use super::super::resolve::Context;
use super::{Sink, Tally};

pub(crate) fn run(context: &Context<'_>, sink: &mut Sink<'_>) {
    let mut tally = Tally::with_capacity(context.store.products().len().min(4096));
    for owned in context.history.owned() {
        for similar in context.model.item_knn.similar(owned.product) {
            let why = Why::Similar {
                because: owned.product,
                together: similar.together,
            };
            tally.add(similar.product, f64::from(similar.score), why);
        }
    }
    tally.offer(sink);
}
