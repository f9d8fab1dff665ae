//! Hand-made inputs for rendering a campaign without running the moments,
//! smart lists and offers: what `xsell check` renders to prove a template
//! works, what the tests and benchmarks feed the renderer.
//!
//! The moment is made from the customer's own history (their last order,
//! last view, last cart…), the lists are picked from the catalog (rated,
//! in-stock products priced in the customer's currency, rotated by
//! customer so different customers see different products), the offer from
//! the campaign's offer priced as for a real send. Nothing here is a
//! recommendation.

use chrono::TimeDelta;

use crate::campaign::{Campaign, SourceKind, Trigger};
use crate::data::{CustomerIx, EventKind, ProductIx, Store};
use crate::offer::{PricedOffer, Recipient, price_offer};
use crate::recommend::{Recommendation, ResolvedList};
use crate::signing::SigningKey;
use crate::trigger::{Detail, Occurrence};

/// A message's inputs apart from config, store, campaign, key and `now`.
#[derive(Debug, Clone)]
pub struct Sample {
    pub customer: CustomerIx,
    pub occurrence: Option<Occurrence>,
    pub lists: Vec<ResolvedList>,
    pub offer: Option<PricedOffer>,
}

/// A customer worth previewing: the first one with marketing consent, a
/// first name and at least one order (the first customer otherwise).
pub fn sample_customer(store: &Store) -> Option<CustomerIx> {
    let customers = store.customers();
    (0..customers.len() as CustomerIx)
        .find(|&ix| {
            let customer = store.customer(ix);
            customer.consent
                && !customer.first_name.is_empty()
                && store.order_count(ix) > 0
                && store.prices_in(customer.currency)
        })
        .or((!customers.is_empty()).then_some(0))
}

/// The inputs of `campaign` for `customer` at `now` (`key` makes the offer's
/// unique code, as for a real send).
pub fn sample(
    store: &Store,
    campaign: &Campaign,
    customer: CustomerIx,
    now: i64,
    key: &SigningKey,
) -> Sample {
    let occurrence = campaign
        .trigger
        .as_ref()
        .map(|trigger| occurrence(store, trigger, customer, now));
    let mut taken: Vec<ProductIx> = occurrence
        .as_ref()
        .map(|o| o.products.clone())
        .unwrap_or_default();
    let currency = store.customer(customer).currency;
    let mut candidates: Vec<ProductIx> = (0..store.products().len() as ProductIx)
        .filter(|&ix| {
            let product = store.product(ix);
            product.in_stock() && product.rating.is_some() && product.price_in(currency).is_some()
        })
        .collect();
    candidates.sort_by(|a, b| {
        let (pa, pb) = (store.product(*a), store.product(*b));
        pb.rating
            .partial_cmp(&pa.rating)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| pa.id.cmp(&pb.id))
    });
    if !candidates.is_empty() {
        let shift = customer as usize % candidates.len();
        candidates.rotate_left(shift);
    }
    let lists = campaign
        .lists
        .iter()
        .map(|spec| {
            let items: Vec<Recommendation> = candidates
                .iter()
                .filter(|ix| !taken.contains(ix))
                .take(spec.limit)
                .map(|&product| Recommendation {
                    product,
                    source: SourceKind::Manual,
                    reason: format!(
                        "sample: rated {:.1} in {}",
                        store.product(product).rating.unwrap_or_default(),
                        store.categories().name(store.product(product).category)
                    ),
                    score: 0.0,
                })
                .collect();
            taken.extend(items.iter().map(|i| i.product));
            ResolvedList {
                name: spec.name.clone(),
                items,
                on_empty: spec.on_empty,
            }
        })
        .collect();
    let occurrence_key = occurrence
        .as_ref()
        .map_or_else(|| format!("sample:{now}"), |o| o.key.clone());
    let offer = campaign.offer.as_ref().and_then(|spec| {
        let recipient = Recipient {
            campaign_id: &campaign.id,
            customer: store.customer(customer),
            occurrence_key: &occurrence_key,
            now,
        };
        price_offer(spec, recipient, key).ok()
    });
    Sample {
        customer,
        occurrence,
        lists,
        offer,
    }
}

/// A moment of the trigger's kind, from the customer's history.
fn occurrence(store: &Store, trigger: &Trigger, customer: CustomerIx, now: i64) -> Occurrence {
    let events = store.events_of(customer);
    let last_of = |kind: EventKind| {
        events
            .iter()
            .rev()
            .find(|e| e.kind == kind && e.product().is_some())
    };
    let last_order = store.orders_of(customer).next_back();
    let order_products: Vec<ProductIx> = last_order
        .map(|(ix, _)| store.order_lines(ix).filter_map(|e| e.product()).collect())
        .unwrap_or_default();
    let one = |event: Option<&crate::data::Event>| -> Vec<ProductIx> {
        event.and_then(|e| e.product()).into_iter().collect()
    };
    let fallback_product = || -> Vec<ProductIx> {
        (!store.products().is_empty())
            .then_some(0)
            .into_iter()
            .collect()
    };
    let (products, detail) = match trigger {
        Trigger::Browse { .. } => {
            let viewed = one(last_of(EventKind::View));
            let count = events.iter().filter(|e| e.kind == EventKind::View).count() as u32;
            (
                viewed,
                Detail::Views {
                    count: count.max(3),
                },
            )
        }
        Trigger::CartAbandoned { .. } => (one(last_of(EventKind::Cart)), Detail::None),
        Trigger::SupportResolved { .. } => {
            let resolved = one(last_of(EventKind::SupportResolved));
            (
                if resolved.is_empty() {
                    order_products.clone()
                } else {
                    resolved
                },
                Detail::None,
            )
        }
        Trigger::UsageMilestone {
            metric, threshold, ..
        } => (
            Vec::new(),
            Detail::Metric {
                name: metric.clone(),
                value: *threshold,
                threshold: *threshold,
            },
        ),
        Trigger::TierReached { tiers, .. } => (
            Vec::new(),
            Detail::Tier {
                tier: tiers.first().cloned().unwrap_or_else(|| {
                    store
                        .tiers()
                        .name(store.customer(customer).tier)
                        .to_string()
                }),
            },
        ),
        Trigger::Inactive { after, .. } => (
            Vec::new(),
            Detail::Inactive {
                days: after.num_days().max(0) as u32,
            },
        ),
        Trigger::DateWindow { .. } => (Vec::new(), Detail::None),
        Trigger::NewArrival { .. } => {
            let newest = (0..store.products().len() as ProductIx)
                .max_by_key(|&ix| (store.product(ix).created_at, std::cmp::Reverse(ix)));
            (newest.into_iter().collect(), Detail::None)
        }
        Trigger::PostPurchase { .. }
        | Trigger::GiftPurchase { .. }
        | Trigger::SecondVisit { .. } => (order_products.clone(), Detail::None),
    };
    let products = if products.is_empty() && trigger.kind().has_products() {
        if order_products.is_empty() {
            fallback_product()
        } else {
            order_products
        }
    } else {
        products
    };
    let category = products.first().map(|&p| store.product(p).category);
    let order = match trigger {
        Trigger::PostPurchase { .. } | Trigger::GiftPurchase { .. } => last_order.map(|(ix, _)| ix),
        _ => None,
    };
    let at = last_order
        .map(|(_, o)| o.ts)
        .unwrap_or(now - TimeDelta::hours(3).num_seconds())
        .min(now);
    Occurrence {
        customer,
        key: format!(
            "sample:{}:{}",
            trigger.kind().name(),
            store.customer(customer).id
        ),
        at,
        products,
        category,
        order,
        detail,
    }
}
