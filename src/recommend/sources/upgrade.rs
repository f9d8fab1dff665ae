//! `upgrade` (the expert-evolution play): for each seed product, the
//! products of its family (or of its category when it has none) one or
//! more levels above it — or, when levels are missing, of its category at
//! a clearly higher price tier (at least [`PRICE_STEP`] times its price) —
//! that are well rated (at least [`WELL_RATED`], or not rated yet) and not
//! owned. The next level comes first, then the better rated.

use std::cmp::Reverse;

use rust_decimal::prelude::ToPrimitive;

use crate::data::ProductIx;

use super::super::reason::{Step, Why};
use super::super::resolve::Context;
use super::{Candidate, MAX_FAMILY_SEEDS, Sink};

/// Rating below which a product is not suggested as an upgrade.
pub const WELL_RATED: f32 = 3.5;
/// Without levels, an upgrade costs at least this many times the seed.
pub const PRICE_STEP: f64 = 1.5;

/// Levels up (`u8::MAX` for a price step), then price ratio in thousandths, then rating (best first).
type Order = (u8, u64, Reverse<u32>);

pub(crate) fn run(context: &Context<'_>, seeds: &[ProductIx], sink: &mut Sink<'_>) {
    let store = context.store;
    let mut found: Vec<(Order, Candidate)> = Vec::new();
    for seed in seeds.iter().take(MAX_FAMILY_SEEDS) {
        let from = store.product(*seed);
        let group = match from.family {
            Some(family) => store.products_in_family(family),
            None => store.products_in_category(from.category),
        };
        for product in group {
            let item = store.product(*product);
            if product == seed
                || context.history.owns(*product)
                || item.rating.is_some_and(|r| r < WELL_RATED)
            {
                continue;
            }
            let step = match (from.family, from.level, item.level) {
                (Some(family), Some(low), Some(high)) => {
                    if high <= low {
                        continue;
                    }
                    Step::Level {
                        family,
                        from: low,
                        to: high,
                    }
                }
                _ => {
                    let ratio = price_ratio(context, *seed, *product);
                    if item.category != from.category || ratio < PRICE_STEP {
                        continue;
                    }
                    Step::Price { ratio }
                }
            };
            let distance = match step {
                Step::Level { from, to, .. } => to - from,
                Step::Price { .. } => u8::MAX,
            };
            let ratio_key = match step {
                Step::Level { .. } => 0,
                Step::Price { ratio } => (ratio * 1000.0) as u64,
            };
            let rating_key = Reverse((item.rating.unwrap_or(0.0) * 100.0) as u32);
            found.push((
                (distance, ratio_key, rating_key),
                Candidate {
                    product: *product,
                    score: f64::from(item.rating.unwrap_or(0.0)) - f64::from(distance),
                    why: Why::Upgrade { from: *seed, step },
                },
            ));
        }
    }
    found.sort_by_key(|(key, candidate)| (*key, candidate.product));
    for (_, candidate) in found {
        if sink(candidate).is_break() {
            return;
        }
    }
}

fn price_ratio(context: &Context<'_>, seed: ProductIx, product: ProductIx) -> f64 {
    let from = context.store.product(seed);
    let to = context.store.product(product);
    match (to.price_in(from.currency), from.price.to_f64()) {
        (Some(price), Some(base)) if base > 0.0 => price.to_f64().unwrap_or(0.0) / base,
        _ => 0.0,
    }
}
