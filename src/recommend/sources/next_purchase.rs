//! `next_purchase`: what the customer's purchases, taken together, predict
//! they buy next (see `next_purchase.rs` one level up). The reason names the
//! product bought that weighs most for the suggestion, and how many
//! customers bought both.

use super::super::reason::Why;
use super::super::resolve::Context;
use super::{Candidate, Sink};

pub(crate) fn run(context: &Context<'_>, sink: &mut Sink<'_>) {
    let model = context.model.next_purchase(context.store);
    let owned = context.history.owned().iter().map(|o| o.product);
    for predicted in model.predict(owned) {
        let candidate = Candidate {
            product: predicted.product,
            score: predicted.score,
            why: Why::NextPurchase {
                because: predicted.because,
                together: predicted.together,
            },
        };
        if sink(candidate).is_break() {
            return;
        }
    }
}
