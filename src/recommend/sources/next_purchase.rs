//! `next_purchase`: what the customer's purchases, taken together, predict
//! they buy next (see `next_purchase.rs` one level up). The reason names the
//! product bought that weighs most for the suggestion, and how many
//! customers bought both; a product the customer already buys (where the
//! list allows owned products) is suggested as buying it again.

use super::super::reason::Why;
use super::super::resolve::Context;
use super::{Candidate, Sink, offer_by_score};
use crate::data::ProductIx;

pub(crate) fn run(context: &Context<'_>, sink: &mut Sink<'_>) {
    let model = context.model.next_purchase(context.store);
    let owned: Vec<(ProductIx, u32)> = context
        .history
        .owned()
        .iter()
        .map(|o| (o.product, o.times))
        .collect();
    let candidates = model
        .predict(&owned)
        .into_iter()
        .map(|predicted| Candidate {
            product: predicted.product,
            score: predicted.score,
            why: if predicted.owned_times > 0 {
                Why::BuyAgain {
                    times: predicted.owned_times,
                }
            } else {
                Why::NextPurchase {
                    because: predicted.because,
                    together: predicted.together,
                }
            },
        })
        .collect();
    offer_by_score(candidates, sink);
}
