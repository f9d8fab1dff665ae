//! A stand-in for the smart-list resolver, used by `xsell plan` until the
//! recommender (`crate::recommend`) is wired in: `manual` lists give their
//! products; every other list gives the shop's bestsellers (units sold
//! before `now`), in stock and priced in the customer's currency, skipping
//! the moment's own products and what earlier lists already picked. Every
//! reason says it is a stand-in, so nobody mistakes it for a recommendation.

use crate::campaign::{Campaign, Source, SourceKind};
use crate::data::{CustomerIx, EventKind, ProductIx, Store};
use crate::recommend::{ListResolver, Recommendation, ResolvedList};
use crate::trigger::Occurrence;

pub struct StandInResolver {
    /// Products by units sold before `now`, most first (ties: catalog order).
    bestsellers: Vec<(ProductIx, u64)>,
}

impl StandInResolver {
    pub fn new(store: &Store, now: i64) -> StandInResolver {
        let mut units = vec![0u64; store.products().len()];
        for event in store.events() {
            if event.kind == EventKind::Order
                && event.ts < now
                && let Some(product) = event.product()
            {
                units[product as usize] += event.quantity.max(1) as u64;
            }
        }
        let mut bestsellers: Vec<(ProductIx, u64)> = units
            .into_iter()
            .enumerate()
            .filter(|(_, units)| *units > 0)
            .map(|(product, units)| (product as ProductIx, units))
            .collect();
        bestsellers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        StandInResolver { bestsellers }
    }
}

impl ListResolver for StandInResolver {
    fn resolve(
        &self,
        store: &Store,
        campaign: &Campaign,
        customer: CustomerIx,
        occurrence: Option<&Occurrence>,
        _now: i64,
    ) -> Vec<ResolvedList> {
        let currency = store.customer(customer).currency;
        let mut taken: Vec<ProductIx> = occurrence.map(|o| o.products.clone()).unwrap_or_default();
        let mut lists = Vec::new();
        for spec in &campaign.lists {
            let candidates: Box<dyn Iterator<Item = (ProductIx, Option<u64>)>> =
                match &spec.primary.source {
                    Source::Manual { ids } => Box::new(
                        ids.iter()
                            .filter_map(|id| store.product_ix(id))
                            .map(|p| (p, None)),
                    ),
                    _ => Box::new(self.bestsellers.iter().map(|(p, units)| (*p, Some(*units)))),
                };
            let mut items = Vec::new();
            for (product, units) in candidates {
                if items.len() == spec.limit {
                    break;
                }
                let p = store.product(product);
                if taken.contains(&product) || !p.in_stock() || p.price_in(currency).is_none() {
                    continue;
                }
                taken.push(product);
                items.push(match units {
                    None => Recommendation {
                        product,
                        source: SourceKind::Manual,
                        reason: "chosen by the campaign".to_string(),
                        score: 0.0,
                    },
                    Some(units) => Recommendation {
                        product,
                        source: SourceKind::Bestsellers,
                        reason: format!("stand-in: {units} sold"),
                        score: 0.0,
                    },
                });
            }
            lists.push(ResolvedList {
                name: spec.name.clone(),
                items,
                on_empty: spec.on_empty,
            });
        }
        lists
    }
}
