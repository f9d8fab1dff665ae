//! `order_reminders` (replenishment): products the customer bought whose
//! usual repurchase interval, learned from all customers, has passed since
//! their last purchase. The most timely come first (the smallest overdue
//! ratio): a soap due today before one forgotten for a year.

use super::super::reason::Why;
use super::super::resolve::Context;
use super::{Candidate, Sink, offer_by_score};

pub(crate) fn run(context: &Context<'_>, sink: &mut Sink<'_>) {
    let mut due: Vec<Candidate> = Vec::new();
    for owned in context.history.owned() {
        let Some((interval, basis)) = context
            .model
            .repurchase
            .interval(context.store, owned.product)
        else {
            continue;
        };
        let elapsed = context.now - owned.last;
        if elapsed < interval.seconds {
            continue;
        }
        due.push(Candidate {
            product: owned.product,
            score: interval.seconds as f64 / elapsed.max(1) as f64,
            why: Why::Reminder {
                last: owned.last,
                interval: interval.seconds,
                basis,
            },
        });
    }
    offer_by_score(due, sink);
}
