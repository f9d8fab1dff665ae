//! Filling one list: the primary pick's candidates first, then each
//! fallback's while the list has fewer than `limit` products; every
//! candidate must pass the pick's guards, must not be in the list already or
//! in an earlier list of the campaign, must not be the moment's own product
//! (a message about a cart does not suggest the cart's item again, except as
//! a reminder or a manual pick), and must respect `max_per_category`.

use std::ops::ControlFlow;

use crate::campaign::{ExcludePurchased, ListSpec, Pick, Source, SourceKind};
use crate::data::{ProductIx, Store};
use crate::trigger::Occurrence;

use super::backtest::Protocol;
use super::guards::Guard;
use super::history::History;
use super::sources::{self, Candidate};
use super::{Recommendation, Recommender, ResolvedList};

/// What every source may read while resolving for one recipient.
pub(crate) struct Context<'a> {
    pub store: &'a Store,
    pub model: &'a Recommender,
    pub occurrence: Option<&'a Occurrence>,
    pub now: i64,
    pub history: &'a History,
}

pub(crate) fn resolve_list(
    context: &Context<'_>,
    spec: &ListSpec,
    taken: &[ProductIx],
) -> ResolvedList {
    let mut items: Vec<Recommendation> = Vec::new();
    for pick in std::iter::once(&spec.primary).chain(&spec.fallback) {
        if items.len() >= spec.limit {
            break;
        }
        fill_from(context, pick, spec.limit, taken, &mut items);
    }
    ResolvedList {
        name: spec.name.clone(),
        items,
        on_empty: spec.on_empty,
    }
}

fn fill_from(
    context: &Context<'_>,
    pick: &Pick,
    limit: usize,
    taken: &[ProductIx],
    items: &mut Vec<Recommendation>,
) {
    if matches!(pick.source, Source::Auto) {
        let protocol = match pick.filters.exclude_purchased {
            ExcludePurchased::Never => Protocol::All,
            _ => Protocol::New,
        };
        let choice = context
            .model
            .auto_choice(context.store, protocol, context.now);
        for source in std::iter::once(&choice.pick).chain(&choice.fallback) {
            if items.len() >= limit {
                break;
            }
            let concrete = Pick {
                source: source.clone(),
                filters: pick.filters.clone(),
            };
            fill_from(context, &concrete, limit, taken, items);
        }
        return;
    }
    let store = context.store;
    let kind = pick.source.kind();
    let seeds = sources::seeds_of(context, &pick.source);
    let price_seeds: &[ProductIx] = match &seeds {
        Some(seeds) => seeds,
        None => context.occurrence.map_or(&[], |o| &o.products),
    };
    let guard = Guard::new(
        store,
        &pick.filters,
        context.history,
        context.now,
        price_seeds,
    );
    let moment: &[ProductIx] = match (kind, context.occurrence) {
        (SourceKind::OrderReminders | SourceKind::Manual, _) | (_, None) => &[],
        (_, Some(occurrence)) => &occurrence.products,
    };
    let mut offer = |candidate: Candidate| -> ControlFlow<()> {
        let product = candidate.product;
        let category = store.product(product).category;
        let admitted = !items.iter().any(|i| i.product == product)
            && !taken.contains(&product)
            && !moment.contains(&product)
            && pick.filters.max_per_category.is_none_or(|max| {
                items
                    .iter()
                    .filter(|i| store.product(i.product).category == category)
                    .count()
                    < max
            })
            && guard.admits(store, product);
        if admitted {
            items.push(Recommendation {
                product,
                source: kind,
                reason: candidate.why.text(store, context.now),
                score: candidate.score,
            });
        }
        if items.len() >= limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    sources::run(
        context,
        &pick.source,
        seeds.as_deref().unwrap_or(&[]),
        &mut offer,
    );
}
