//! The guards every picked product must pass, whatever its source: launched
//! by `now`, in stock, not already bought (ever or within a window), rated
//! well enough, and not so cheap next to the seed products that it would
//! cannibalise them. Diversity (`max_per_category`) depends on the list
//! being filled and is kept by [`super::resolve`].

use rust_decimal::Decimal;

use crate::campaign::{ExcludePurchased, Filters};
use crate::data::{Currency, ProductIx, Store};

use super::history::History;

pub(crate) struct Guard<'a> {
    filters: &'a Filters,
    history: &'a History,
    now: i64,
    /// From `min_price_ratio`: the lowest acceptable price, in the currency of
    /// the most expensive seed product.
    min_price: Option<(Currency, Decimal)>,
}

impl<'a> Guard<'a> {
    /// `seeds` are the products the price guard compares with (the most expensive counts).
    pub(crate) fn new(
        store: &Store,
        filters: &'a Filters,
        history: &'a History,
        now: i64,
        seeds: &[ProductIx],
    ) -> Guard<'a> {
        let min_price = filters.min_price_ratio.and_then(|ratio| {
            seeds
                .iter()
                .map(|s| store.product(*s))
                .max_by(|a, b| a.price.cmp(&b.price))
                .map(|seed| (seed.currency, seed.price * ratio))
        });
        Guard {
            filters,
            history,
            now,
            min_price,
        }
    }

    pub(crate) fn admits(&self, store: &Store, product: ProductIx) -> bool {
        let item = store.product(product);
        if item.created_at > self.now {
            return false;
        }
        if self.filters.in_stock && !item.in_stock() {
            return false;
        }
        let bought_too_recently = match self.filters.exclude_purchased {
            ExcludePurchased::Never => false,
            ExcludePurchased::Ever => self.history.owns(product),
            ExcludePurchased::Within(window) => self
                .history
                .last_bought(product)
                .is_some_and(|at| at >= self.now - window.num_seconds()),
        };
        if bought_too_recently {
            return false;
        }
        if let Some(min_rating) = self.filters.min_rating
            && !item.rating.is_some_and(|r| r >= min_rating)
        {
            return false;
        }
        if let Some((currency, min_price)) = self.min_price
            && item
                .price_in(currency)
                .is_some_and(|price| price < min_price)
        {
            return false;
        }
        true
    }
}
