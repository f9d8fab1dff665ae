//! Replenishment rhythms: how long customers usually wait before buying a
//! product again, learned from every customer's repeat purchases.
//!
//! For each customer and product, the gaps between consecutive purchases
//! (purchases less than [`SAME_OCCASION`] apart are one occasion) are
//! collected over all customers; the product's interval is their median.
//! A product re-bought by only a few customers borrows the median of its
//! category (gaps between purchases of any product of the category) when
//! that has more evidence. A product nobody ever re-bought has no interval:
//! reminding people of it would be a guess.

use rayon::prelude::*;

use crate::data::{CustomerIx, NameIx, ProductIx, Store};

const DAY: i64 = 24 * 60 * 60;
/// Purchases closer than this are one buying occasion, not a repurchase.
pub const SAME_OCCASION: i64 = DAY;
/// Gaps needed before a median is trusted over the category's.
pub const ENOUGH_GAPS: u32 = 3;

/// A learned repurchase interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interval {
    /// Median gap, in seconds.
    pub seconds: i64,
    /// Gaps it was learned from.
    pub gaps: u32,
}

/// Whose rhythm an interval is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Basis {
    Product,
    Category(NameIx),
}

#[derive(Debug, Default)]
pub(crate) struct Repurchase {
    by_product: Vec<Option<Interval>>,
    by_category: Vec<Option<Interval>>,
}

impl Repurchase {
    pub(crate) fn build(store: &Store, cutoff: i64) -> Repurchase {
        let products = store.products().len();
        let categories = store.categories().len();
        let customers = store.customers().len() as CustomerIx;
        let gaps = (0..customers)
            .into_par_iter()
            .fold(
                || Gaps::new(products, categories),
                |mut gaps, customer| {
                    gaps.add_customer(store, customer, cutoff);
                    gaps
                },
            )
            .reduce(|| Gaps::new(products, categories), Gaps::merge);
        Repurchase {
            by_product: gaps.by_product.into_iter().map(median).collect(),
            by_category: gaps.by_category.into_iter().map(median).collect(),
        }
    }

    /// The interval to expect before a product is bought again, and whose it is.
    pub(crate) fn interval(&self, store: &Store, product: ProductIx) -> Option<(Interval, Basis)> {
        let own = self.by_product.get(product as usize).copied().flatten()?;
        if own.gaps >= ENOUGH_GAPS {
            return Some((own, Basis::Product));
        }
        let category = store.product(product).category;
        match self.by_category.get(category as usize).copied().flatten() {
            Some(shared) if shared.gaps >= ENOUGH_GAPS => Some((shared, Basis::Category(category))),
            _ => Some((own, Basis::Product)),
        }
    }
}

/// Gaps in seconds, per product and per category.
struct Gaps {
    by_product: Vec<Vec<u32>>,
    by_category: Vec<Vec<u32>>,
}

impl Gaps {
    fn new(products: usize, categories: usize) -> Gaps {
        Gaps {
            by_product: vec![Vec::new(); products],
            by_category: vec![Vec::new(); categories],
        }
    }

    fn add_customer(&mut self, store: &Store, customer: CustomerIx, cutoff: i64) {
        let mut bought: Vec<(ProductIx, i64)> = Vec::new();
        for (ix, order) in store.orders_of(customer) {
            if order.ts >= cutoff {
                break;
            }
            bought.extend(
                store
                    .order_lines(ix)
                    .filter_map(|l| l.product())
                    .map(|p| (p, order.ts)),
            );
        }
        bought.sort_unstable();
        for run in bought.chunk_by(|a, b| a.0 == b.0) {
            let product = run[0].0;
            push_gaps(&mut self.by_product[product as usize], run);
        }
        let mut by_category: Vec<(NameIx, i64)> = bought
            .iter()
            .map(|(p, ts)| (store.product(*p).category, *ts))
            .collect();
        by_category.sort_unstable();
        for run in by_category.chunk_by(|a, b| a.0 == b.0) {
            push_gaps(&mut self.by_category[run[0].0 as usize], run);
        }
    }

    fn merge(mut self, other: Gaps) -> Gaps {
        for (mine, theirs) in self.by_product.iter_mut().zip(other.by_product) {
            mine.extend(theirs);
        }
        for (mine, theirs) in self.by_category.iter_mut().zip(other.by_category) {
            mine.extend(theirs);
        }
        self
    }
}

/// The gaps between buying occasions in one run of (key, time) sorted by time.
fn push_gaps<K>(gaps: &mut Vec<u32>, run: &[(K, i64)]) {
    let mut occasion = run[0].1;
    for (_, ts) in &run[1..] {
        if ts - occasion >= SAME_OCCASION {
            gaps.push(u32::try_from(ts - occasion).unwrap_or(u32::MAX));
            occasion = *ts;
        }
    }
}

fn median(mut gaps: Vec<u32>) -> Option<Interval> {
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    let middle = gaps.len() / 2;
    let seconds = if gaps.len() % 2 == 1 {
        i64::from(gaps[middle])
    } else {
        (i64::from(gaps[middle - 1]) + i64::from(gaps[middle])) / 2
    };
    Some(Interval {
        seconds,
        gaps: gaps.len() as u32,
    })
}
