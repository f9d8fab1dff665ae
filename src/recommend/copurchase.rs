//! Complements: which products are bought with a product, in the same order
//! or within [`FOLLOW_UP_WINDOW`] after it, counted in distinct customers.
//!
//! Raw counts would only echo the bestsellers (everything is bought with
//! the best-selling soap), and raw lift favours products bought twice ever
//! (two buyers who happen to share one item give a lift in the thousands).
//! So a pair is scored by a *shrunk lift*: how many more customers bought
//! the pair than independence predicts, relative to that prediction plus a
//! pseudo-count of [`PSEUDO_CUSTOMERS`] customers:
//!
//! ```text
//! expected = buyers(a) × buyers(b) / customers
//! score    = (together − expected) / (expected + PSEUDO_CUSTOMERS)
//! ```
//!
//! For popular pairs (expected ≫ the pseudo-count) this is lift − 1; for rare
//! ones it grows with the number of customers who bought both, so one
//! coincidence counts for little and a habit shared by 40 customers counts
//! a lot. A pair is a complement only when its score reaches
//! [`MIN_SCORE`]: bought together by at least 1.5 times as many customers as
//! chance predicts, plus 5 — clearly, not by a hair. Where no pair is (in a
//! grocery, staples dominate every basket), cross-sell finds nothing and the
//! list's fallback (bestsellers) decides, rather than dressing up noise as
//! complements. Substitutes are not complements either: a product of the
//! seed's category that more customers compared with it (viewed both within
//! [`COMPARE_WINDOW`]) than bought both is an alternative to it, not
//! something to add.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::purchases::{Purchases, Rows};
use crate::data::{CustomerIx, ProductIx, Store};

const DAY: i64 = 24 * 60 * 60;
/// A product bought this long after another still counts as bought with it.
pub const FOLLOW_UP_WINDOW: i64 = 14 * DAY;
/// Two products of one category viewed this close together were compared.
pub const COMPARE_WINDOW: i64 = 3 * DAY;
/// Customers added to what independence predicts, so rare coincidences count for little.
pub const PSEUDO_CUSTOMERS: f64 = 10.0;
/// The lowest score of a complement (see the module header).
pub const MIN_SCORE: f64 = 0.5;
/// Complements kept per product, best first.
const MAX_NEIGHBOURS: usize = 100;

/// A complement of a product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Complement {
    pub product: ProductIx,
    /// Distinct customers who bought it with or soon after the seed.
    pub customers: u32,
    /// `customers` over what independence predicts.
    pub lift: f32,
    /// The shrunk lift (see the module header); at least [`MIN_SCORE`].
    pub score: f32,
}

#[derive(Debug)]
pub(crate) struct CoPurchase {
    complements: Rows<Complement>,
}

impl CoPurchase {
    pub(crate) fn build(store: &Store, purchases: &Purchases, cutoff: i64) -> CoPurchase {
        let (bought_with, compared) = rayon::join(
            || count_pairs(store, cutoff, customer_pairs),
            || count_pairs(store, cutoff, compared_pairs),
        );
        let mut pairs: Vec<(u64, u32)> = bought_with.into_iter().collect();
        pairs.par_sort_unstable_by_key(|(key, _)| *key);
        let customers = f64::from(purchases.customers_with_orders.max(1));
        let mut rows: Vec<Vec<Complement>> = vec![Vec::new(); store.products().len()];
        for (key, together) in pairs {
            let (seed, product) = unpack(key);
            let seed_buyers = f64::from(purchases.buyer_count(seed));
            let product_buyers = f64::from(purchases.buyer_count(product));
            if seed_buyers == 0.0 || product_buyers == 0.0 {
                continue;
            }
            let expected = seed_buyers * product_buyers / customers;
            let together_f = f64::from(together);
            let score = (together_f - expected) / (expected + PSEUDO_CUSTOMERS);
            if score < MIN_SCORE {
                continue;
            }
            let same_category = store.product(seed).category == store.product(product).category;
            if same_category {
                let compared_by = compared.get(&pack_unordered(seed, product)).copied();
                if compared_by.is_some_and(|c| c > together) {
                    continue;
                }
            }
            rows[seed as usize].push(Complement {
                product,
                customers: together,
                lift: (together_f / expected) as f32,
                score: score as f32,
            });
        }
        rows.par_iter_mut().for_each(|row| {
            row.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.product.cmp(&b.product)));
            row.truncate(MAX_NEIGHBOURS);
        });
        CoPurchase {
            complements: Rows::from_vecs(rows),
        }
    }

    /// The complements of a product, best first.
    pub(crate) fn complements(&self, product: ProductIx) -> &[Complement] {
        self.complements.row(product)
    }
}

fn pack(a: ProductIx, b: ProductIx) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

fn pack_unordered(a: ProductIx, b: ProductIx) -> u64 {
    pack(a.min(b), a.max(b))
}

fn unpack(key: u64) -> (ProductIx, ProductIx) {
    ((key >> 32) as ProductIx, key as ProductIx)
}

/// Counts, over all customers in parallel, the distinct customers showing
/// each pair that `pairs_of` finds in one customer's history.
fn count_pairs(
    store: &Store,
    cutoff: i64,
    pairs_of: fn(&Store, CustomerIx, i64, &mut Vec<u64>),
) -> FxHashMap<u64, u32> {
    let customers = store.customers().len() as CustomerIx;
    (0..customers)
        .into_par_iter()
        .fold(
            || (FxHashMap::<u64, u32>::default(), Vec::<u64>::new()),
            |(mut counts, mut scratch), customer| {
                scratch.clear();
                pairs_of(store, customer, cutoff, &mut scratch);
                scratch.sort_unstable();
                scratch.dedup();
                for key in &scratch {
                    *counts.entry(*key).or_insert(0) += 1;
                }
                (counts, scratch)
            },
        )
        .map(|(counts, _)| counts)
        .reduce(FxHashMap::default, |a, b| {
            let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (key, count) in small {
                *big.entry(key).or_insert(0) += count;
            }
            big
        })
}

/// (seed, product) for every product bought in the same order as the seed or
/// in an order within the follow-up window after it.
fn customer_pairs(store: &Store, customer: CustomerIx, cutoff: i64, out: &mut Vec<u64>) {
    let mut baskets: Vec<(i64, Vec<ProductIx>)> = Vec::new();
    for (ix, order) in store.orders_of(customer) {
        if order.ts >= cutoff {
            break;
        }
        let mut products: Vec<ProductIx> =
            store.order_lines(ix).filter_map(|l| l.product()).collect();
        products.sort_unstable();
        products.dedup();
        baskets.push((order.ts, products));
    }
    for (i, (ts, basket)) in baskets.iter().enumerate() {
        let follow_ups = baskets[i + 1..]
            .iter()
            .take_while(|(later, _)| later - ts <= FOLLOW_UP_WINDOW);
        for seed in basket {
            for product in basket {
                if product != seed {
                    out.push(pack(*seed, *product));
                }
            }
            for (_, later_basket) in follow_ups.clone() {
                for product in later_basket {
                    if product != seed {
                        out.push(pack(*seed, *product));
                    }
                }
            }
        }
    }
}

/// Unordered pairs of products of one category viewed within the compare window.
fn compared_pairs(store: &Store, customer: CustomerIx, cutoff: i64, out: &mut Vec<u64>) {
    let views: Vec<(i64, ProductIx)> = store
        .views_of(customer)
        .take_while(|(ts, _)| *ts < cutoff)
        .collect();
    for (i, (ts, product)) in views.iter().enumerate() {
        let category = store.product(*product).category;
        for (earlier_ts, earlier) in views[..i].iter().rev() {
            if ts - earlier_ts > COMPARE_WINDOW {
                break;
            }
            if earlier != product && store.product(*earlier).category == category {
                out.push(pack_unordered(*product, *earlier));
            }
        }
    }
}
