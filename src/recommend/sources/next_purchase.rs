//! `next_purchase`: what the customer's purchases, taken together, predict
//! they buy next (see `next_purchase.rs` one level up). The reason names the
//! product bought that weighs most for the suggestion, and how many
//! customers bought both.

use super::super::reason::Why;
use super::super::resolve::Context;
use super::{Candidate, Sink};
use crate::data::ProductIx;

pub(crate) fn run(context: &Context<'_>, sink: &mut Sink<'_>) {
    let model = context.model.next_purchase(context.store);
    let owned = context.history.owned().iter().map(|o| o.product);
    for predicted in model.predict(owned) {
        let candidate = Candidate {
            product: predicted.product,
            score: predicted.score,
            why: Why::NextPurchase {
                because: predicted.because,
                together: bought_both(context, predicted.because, predicted.product),
            },
        };
        if sink(candidate).is_break() {
            return;
        }
    }
}

/// Customers (before the models' cutoff) who bought both products.
fn bought_both(context: &Context<'_>, a: ProductIx, b: ProductIx) -> u32 {
    let (a, b) = (
        context.model.purchases.buyers(a),
        context.model.purchases.buyers(b),
    );
    let (mut i, mut j, mut both) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].customer.cmp(&b[j].customer) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both
}
