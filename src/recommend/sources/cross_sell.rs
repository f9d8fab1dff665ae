//! `cross_sell`: complements of the seed products (the moment's items, or
//! recent purchases or views), from the co-purchase model: each candidate
//! scores the sum of its shrunk lifts with every seed (see
//! `copurchase.rs`), and its reason names the seed it goes with best.
//! A seed is never its own complement.

use rustc_hash::FxHashMap;

use crate::data::ProductIx;

use super::super::reason::Why;
use super::super::resolve::Context;
use super::{Candidate, Sink, offer_by_score};

pub(crate) fn run(context: &Context<'_>, seeds: &[ProductIx], sink: &mut Sink<'_>) {
    let mut sorted_seeds = seeds.to_vec();
    sorted_seeds.sort_unstable();
    let mut scored: FxHashMap<ProductIx, Candidate> = FxHashMap::default();
    // Best single-seed contribution of each candidate, for its reason.
    let mut best: FxHashMap<ProductIx, f32> = FxHashMap::default();
    for seed in seeds {
        for complement in context.model.copurchase.complements(*seed) {
            if sorted_seeds.binary_search(&complement.product).is_ok() {
                continue;
            }
            let why = Why::CrossSell {
                seed: *seed,
                customers: complement.customers,
                lift: complement.lift,
            };
            let entry = scored.entry(complement.product).or_insert(Candidate {
                product: complement.product,
                score: 0.0,
                why,
            });
            entry.score += f64::from(complement.score);
            let strongest = best.entry(complement.product).or_insert(complement.score);
            if complement.score > *strongest {
                *strongest = complement.score;
                entry.why = why;
            }
        }
    }
    offer_by_score(scored.into_values().collect(), sink);
}
