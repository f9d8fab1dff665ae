//! `ecosystem`: the other products of the family of something the customer
//! owns (the seed products), not owned yet: the bridge for the starter kit,
//! the next books of a series. The most bought first.

use crate::data::ProductIx;

use super::super::reason::Why;
use super::super::resolve::Context;
use super::{Candidate, MAX_FAMILY_SEEDS, Sink, offer_by_score};

pub(crate) fn run(context: &Context<'_>, seeds: &[ProductIx], sink: &mut Sink<'_>) {
    let store = context.store;
    let mut found: Vec<Candidate> = Vec::new();
    for seed in seeds.iter().take(MAX_FAMILY_SEEDS) {
        let Some(family) = store.product(*seed).family else {
            continue;
        };
        for product in store.products_in_family(family) {
            if product == seed
                || context.history.owns(*product)
                || found.iter().any(|c| c.product == *product)
            {
                continue;
            }
            let buyers = context.model.purchases.buyer_count(*product);
            found.push(Candidate {
                product: *product,
                score: f64::from(buyers),
                why: Why::Ecosystem {
                    owned: *seed,
                    family,
                    buyers,
                },
            });
        }
    }
    offer_by_score(found, sink);
}
