//! Smart lists: for a customer (and the moment, if any), the products worth
//! suggesting, each with the reason it was picked.
//!
//! [`Recommender::build`] learns, once per process, everything that needs the
//! whole shop: who bought what ([`purchases`]), which products are bought
//! together or soon after one another ([`copurchase`]), which products share
//! their buyers ([`item_knn`]), how often products are re-bought
//! ([`repurchase`]), and the launch order of the catalog. Resolving a list
//! for one recipient ([`resolve`]) then only reads the recipient's own
//! history (strictly before `now`), asks the list's source for ranked
//! candidates ([`sources`]), and keeps those that pass the guards
//! ([`guards`]) until the list is full, trying the fallbacks in turn.
//!
//! Everything here is a pure function of (store, campaign, customer, moment,
//! now): no clock, no randomness, ties broken by product position.

pub mod auto;
pub mod backtest;
mod copurchase;
mod guards;
mod history;
mod item_knn;
mod next_purchase;
mod purchases;
mod reason;
mod repurchase;
mod resolve;
mod scope;
mod sources;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::campaign::{Campaign, ListSpec, OnEmpty, SourceKind};
use crate::data::{CustomerIx, ProductIx, Store};
use crate::trigger::Occurrence;

pub use copurchase::FOLLOW_UP_WINDOW;

/// One picked product and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub product: ProductIx,
    /// The source that picked it (the list's own, or a fallback's).
    pub source: SourceKind,
    /// One line for plans and previews: "bought with Gentle Body Soap by 34 customers, lift 5.2".
    pub reason: String,
    pub score: f64,
}

/// A campaign list resolved for one recipient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedList {
    pub name: String,
    pub items: Vec<Recommendation>,
    /// What the campaign does when `items` is empty.
    pub on_empty: OnEmpty,
}

/// Resolves a campaign's lists for one recipient. Planning and rendering
/// depend on this seam, not on how recommendations are computed.
pub trait ListResolver: Sync {
    fn resolve(
        &self,
        store: &crate::data::Store,
        campaign: &crate::campaign::Campaign,
        customer: crate::data::CustomerIx,
        occurrence: Option<&crate::trigger::Occurrence>,
        now: i64,
    ) -> Vec<ResolvedList>;
}

/// The models learned from the whole shop, built once and shared by every
/// campaign and recipient (it is `Sync`: resolve recipients in parallel).
pub struct Recommender {
    /// The models learned only from events strictly before this time.
    cutoff: i64,
    purchases: purchases::Purchases,
    copurchase: copurchase::CoPurchase,
    item_knn: item_knn::ItemKnn,
    repurchase: repurchase::Repurchase,
    /// Built on first use: its matrix inverse is the one costly model.
    next_purchase: std::sync::OnceLock<next_purchase::NextPurchase>,
    /// What `source: auto` chose, per protocol (all, new): decided the first
    /// time a list asks, on a validation window ending at that list's `now`.
    auto: [std::sync::OnceLock<auto::AutoChoice>; 2],
    /// Products, newest launch first (ties: catalog order).
    by_launch: Vec<ProductIx>,
    /// Bestseller rankings already computed, by (window, now): a run asks
    /// the same question for every recipient.
    rankings: Rankings,
}

/// Bestseller rankings of the whole catalog by (window, now).
type Rankings = RwLock<HashMap<(i64, i64), Arc<[sources::bestsellers::Ranked]>>>;

impl Recommender {
    /// Learns the models from every order and view in the store.
    pub fn build(store: &Store) -> Recommender {
        Recommender::build_before(store, i64::MAX)
    }

    /// Learns the models only from events strictly before `cutoff` (Unix
    /// seconds): for backtests, and for runs at a `now` inside the data, so
    /// that nothing after the moment of sending is ever looked at.
    pub fn build_before(store: &Store, cutoff: i64) -> Recommender {
        let purchases = purchases::Purchases::build(store, cutoff);
        let ((copurchase, item_knn), repurchase) = rayon::join(
            || {
                rayon::join(
                    || copurchase::CoPurchase::build(store, &purchases, cutoff),
                    || item_knn::ItemKnn::build(store, &purchases),
                )
            },
            || repurchase::Repurchase::build(store, cutoff),
        );
        let mut by_launch: Vec<ProductIx> = (0..store.products().len() as ProductIx).collect();
        by_launch.sort_by_key(|p| (std::cmp::Reverse(store.product(*p).created_at), *p));
        Recommender {
            cutoff,
            purchases,
            copurchase,
            item_knn,
            repurchase,
            next_purchase: std::sync::OnceLock::new(),
            auto: Default::default(),
            by_launch,
            rankings: RwLock::new(HashMap::new()),
        }
    }

    /// The next-purchase model, built the first time a list asks for it.
    pub(crate) fn next_purchase(&self, store: &Store) -> &next_purchase::NextPurchase {
        self.next_purchase
            .get_or_init(|| next_purchase::NextPurchase::build(store, &self.purchases))
    }

    /// What `source: auto` picks under `protocol`, decided on the validation
    /// window that ends at `now` (or at the models' cutoff, if earlier) the
    /// first time it is asked.
    pub fn auto_choice(
        &self,
        store: &Store,
        protocol: backtest::Protocol,
        now: i64,
    ) -> &auto::AutoChoice {
        let slot = match protocol {
            backtest::Protocol::All => &self.auto[0],
            backtest::Protocol::New => &self.auto[1],
        };
        slot.get_or_init(|| auto::choose(store, now.min(self.cutoff), protocol))
    }

    /// The choices `source: auto` made so far (for plans and previews to show).
    pub fn auto_choices(&self) -> Vec<&auto::AutoChoice> {
        self.auto.iter().filter_map(|slot| slot.get()).collect()
    }

    /// The time the models stop learning at (`i64::MAX` for the whole store).
    pub fn cutoff(&self) -> i64 {
        self.cutoff
    }

    /// Resolves one list (primary pick, then fallbacks) for one recipient,
    /// leaving out the products in `taken` (picked by earlier lists).
    pub fn resolve_list(
        &self,
        store: &Store,
        spec: &ListSpec,
        customer: CustomerIx,
        occurrence: Option<&Occurrence>,
        now: i64,
        taken: &[ProductIx],
    ) -> ResolvedList {
        let history = history::History::of(store, customer, now);
        let context = resolve::Context {
            store,
            model: self,
            occurrence,
            now,
            history: &history,
        };
        resolve::resolve_list(&context, spec, taken)
    }
}

impl ListResolver for Recommender {
    fn resolve(
        &self,
        store: &Store,
        campaign: &Campaign,
        customer: CustomerIx,
        occurrence: Option<&Occurrence>,
        now: i64,
    ) -> Vec<ResolvedList> {
        self.resolve_lists(store, &campaign.lists, Some(customer), occurrence, now)
    }
}

impl Recommender {
    /// Resolves lists in order, each leaving out what the earlier ones took,
    /// for a customer or (`None`) an anonymous visitor: no history, so only
    /// the sources that need none can fill anything.
    pub fn resolve_lists(
        &self,
        store: &Store,
        lists: &[ListSpec],
        customer: Option<CustomerIx>,
        occurrence: Option<&Occurrence>,
        now: i64,
    ) -> Vec<ResolvedList> {
        let history = customer.map_or_else(history::History::default, |customer| {
            history::History::of(store, customer, now)
        });
        let context = resolve::Context {
            store,
            model: self,
            occurrence,
            now,
            history: &history,
        };
        let mut taken: Vec<ProductIx> = Vec::new();
        lists
            .iter()
            .map(|spec| {
                let list = resolve::resolve_list(&context, spec, &taken);
                taken.extend(list.items.iter().map(|item| item.product));
                list
            })
            .collect()
    }
}
