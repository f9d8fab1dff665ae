//! A stand-in for the smart-list resolver, used by `xsell plan` until the
//! recommender (`crate::recommend`) is wired in: `manual` lists give their
//! products; every other list gives the shop's bestsellers (units sold
//! before `now`), in stock and priced in the customer's currency, skipping
//! the moment's own products and what earlier lists already picked. Every
//! reason says it is a stand-in, so nobody mistakes it for a recommendation.

use std::collections::HashMap;

use crate::campaign::{Campaign, Source, SourceKind};
use crate::data::{CustomerIx, ProductIx, Store};
use crate::recommend::{ListResolver, Recommendation, ResolvedList};
use crate::trigger::Occurrence;

pub struct StandInResolver {
    /// Products by units sold before `now`, most first (ties: catalog order).
    bestsellers: Vec<(ProductIx, u64)>,
}

impl StandInResolver {
    pub fn new(store: &Store, now: i64) -> StandInResolver {
        let mut units: HashMap<ProductIx, u64> = HashMap::new();
        for order in store.orders_between(i64::MIN, now) {
            for line in store.order_lines(*order) {
                if let Some(product) = line.product() {
                    *units.entry(product).or_default() += line.quantity.max(1) as u64;
                }
            }
        }
        let mut bestsellers: Vec<(ProductIx, u64)> = units.into_iter().collect();
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
            let candidates: Vec<(ProductIx, SourceKind, String)> = match &spec.primary.source {
                Source::Manual { ids } => ids
                    .iter()
                    .filter_map(|id| store.product_ix(id))
                    .map(|p| (p, SourceKind::Manual, "chosen by the campaign".to_string()))
                    .collect(),
                _ => self
                    .bestsellers
                    .iter()
                    .map(|(p, units)| {
                        (
                            *p,
                            SourceKind::Bestsellers,
                            format!("stand-in: {units} sold"),
                        )
                    })
                    .collect(),
            };
            let mut items = Vec::new();
            for (product, source, reason) in candidates {
                if items.len() == spec.limit {
                    break;
                }
                let p = store.product(product);
                if taken.contains(&product) || !p.in_stock() || p.price_in(currency).is_none() {
                    continue;
                }
                taken.push(product);
                items.push(Recommendation {
                    product,
                    source,
                    reason,
                    score: 0.0,
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
