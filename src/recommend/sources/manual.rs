//! `manual`: the campaign's own product ids, in its order (still guarded).

use super::super::reason::Why;
use super::super::resolve::Context;
use super::{Candidate, Sink};

pub(crate) fn run(context: &Context<'_>, ids: &[String], sink: &mut Sink<'_>) {
    for id in ids {
        let Some(product) = context.store.product_ix(id) else {
            continue;
        };
        let candidate = Candidate {
            product,
            score: 0.0,
            why: Why::Manual,
        };
        if sink(candidate).is_break() {
            return;
        }
    }
}
