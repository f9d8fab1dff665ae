//! `new_arrivals`: products launched within `since` before `now`, newest
//! first, within the scope. A product launched after `now` does not exist yet.

use crate::campaign::Scope;

use super::super::reason::Why;
use super::super::resolve::Context;
use super::super::scope;
use super::{Candidate, Sink};

pub(crate) fn run(context: &Context<'_>, scope: &Scope, since: i64, sink: &mut Sink<'_>) {
    let resolved = scope::resolve(
        context.store,
        scope,
        context.history,
        context.occurrence,
        context.now,
    );
    if resolved.is_empty() {
        return;
    }
    let store = context.store;
    let newest_first = &context.model.by_launch;
    let launched = newest_first.partition_point(|p| store.product(*p).created_at > context.now);
    for product in &newest_first[launched..] {
        let item = store.product(*product);
        if item.created_at < context.now - since {
            return;
        }
        let Some(place) = resolved.place_of(item) else {
            continue;
        };
        let candidate = Candidate {
            product: *product,
            score: item.created_at as f64,
            why: Why::NewArrival {
                place,
                launched: item.created_at,
            },
        };
        if sink(candidate).is_break() {
            return;
        }
    }
}
