//! `cross_sell`: complements of the seed products (the moment's items, or
//! recent purchases or views), from the co-purchase model: each candidate
//! scores the sum of its shrunk lifts with every seed (see
//! `copurchase.rs`), and its reason names the seed it goes with best.
//! A seed may be the complement of another seed (two recent purchases that
//! go together); whether owned products may be suggested is for the
//! `exclude_purchased` guard to say, as for every source.

use crate::data::ProductIx;

use super::super::reason::Why;
use super::super::resolve::Context;
use super::{Sink, Tally};

pub(crate) fn run(context: &Context<'_>, seeds: &[ProductIx], sink: &mut Sink<'_>) {
    let mut tally = Tally::with_capacity(context.store.products().len().min(1024));
    for seed in seeds {
        for complement in context.model.copurchase.complements(*seed) {
            let why = Why::CrossSell {
                seed: *seed,
                customers: complement.customers,
                lift: complement.lift,
            };
            tally.add(complement.product, f64::from(complement.score), why);
        }
    }
    tally.offer(sink);
}
