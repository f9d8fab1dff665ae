//! One customer's past as the lists see it: what they bought and viewed
//! strictly before `now`. Events at or after `now` may be in the store (a
//! plan at an earlier time, a backtest); they are never looked at.

use crate::data::{CustomerIx, EventKind, ProductIx, Store};

#[derive(Debug, Default)]
pub(crate) struct History {
    /// (product, time) of every order line, oldest first.
    pub purchases: Vec<(ProductIx, i64)>,
    /// (product, time) of every product view, oldest first.
    pub views: Vec<(ProductIx, i64)>,
    /// Per distinct product bought: (product, last time, orders), by product.
    bought: Vec<Owned>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owned {
    pub product: ProductIx,
    pub last: i64,
    /// Order lines of it (a repeat buyer has several).
    pub times: u32,
}

impl History {
    pub(crate) fn of(store: &Store, customer: CustomerIx, now: i64) -> History {
        let events = store.events_of(customer);
        let before_now = &events[..events.partition_point(|e| e.ts < now)];
        let mut history = History::default();
        for event in before_now {
            let Some(product) = event.product() else {
                continue;
            };
            match event.kind {
                EventKind::Order => history.purchases.push((product, event.ts)),
                EventKind::View => history.views.push((product, event.ts)),
                _ => {}
            }
        }
        let mut bought: Vec<(ProductIx, i64)> = history.purchases.clone();
        bought.sort_unstable();
        for (product, ts) in bought {
            match history.bought.last_mut() {
                Some(last) if last.product == product => {
                    last.last = ts;
                    last.times += 1;
                }
                _ => history.bought.push(Owned {
                    product,
                    last: ts,
                    times: 1,
                }),
            }
        }
        history
    }

    /// The distinct products bought, by position.
    pub(crate) fn owned(&self) -> &[Owned] {
        &self.bought
    }

    /// When the customer last bought the product, if ever.
    pub(crate) fn last_bought(&self, product: ProductIx) -> Option<i64> {
        self.bought
            .binary_search_by_key(&product, |o| o.product)
            .ok()
            .map(|i| self.bought[i].last)
    }

    pub(crate) fn owns(&self, product: ProductIx) -> bool {
        self.last_bought(product).is_some()
    }

    /// Distinct products bought at or after `since`, most recent first.
    pub(crate) fn purchased_since(&self, since: i64) -> Vec<ProductIx> {
        most_recent_first(&self.purchases, since)
    }

    /// Distinct products viewed at or after `since`, most recent first.
    pub(crate) fn viewed_since(&self, since: i64) -> Vec<ProductIx> {
        most_recent_first(&self.views, since)
    }
}

fn most_recent_first(events: &[(ProductIx, i64)], since: i64) -> Vec<ProductIx> {
    let start = events.partition_point(|(_, ts)| *ts < since);
    let mut latest: Vec<(ProductIx, i64)> = events[start..].to_vec();
    // Per product, its latest time; then newest first, ties by position.
    latest.sort_unstable_by_key(|(product, ts)| (*product, std::cmp::Reverse(*ts)));
    latest.dedup_by_key(|(product, _)| *product);
    latest.sort_unstable_by_key(|(product, ts)| (std::cmp::Reverse(*ts), *product));
    latest.into_iter().map(|(product, _)| product).collect()
}
