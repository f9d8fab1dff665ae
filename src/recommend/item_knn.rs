//! Customers with similar histories, through the products they share:
//! item-based nearest neighbours with BM25 weights (the `BM25Recommender` of
//! the `implicit` library, which we compare against in
//! `benches/compare_implicit.py`).
//!
//! Two products are similar when the same customers bought them. Each
//! purchase is weighted like a word in a document by BM25: a customer who
//! bought a handful of products says more about each (inverse document
//! frequency `ln(products) − ln(1 + products they bought)`), and a product
//! everybody buys has its weight damped by its length normalisation (`B`),
//! with repeat orders of the same product saturating (`K1`). The similarity
//! of two products is the sum, over their shared buyers, of the products of
//! their weights; each product keeps its [`NEIGHBOURS`] most similar ones.
//! A customer's candidates are the neighbours of everything they bought,
//! scored by the sum of similarities (each product bought votes once): what
//! customers who share your purchases went on to buy.

use rayon::prelude::*;

use super::purchases::{Purchases, Rows};
use crate::data::{CustomerIx, ProductIx, Store};

/// BM25 saturation of repeat orders of one product by one customer.
const K1: f64 = 1.2;
/// BM25 length normalisation (0 = none, 1 = full) of a product's popularity.
const B: f64 = 0.75;
/// Similar products kept per product. (20 is `implicit`'s default; on Online
/// Retail 400 finds 10–15% more of what customers went on to buy.)
pub const NEIGHBOURS: usize = 400;

/// A product similar to another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Similar {
    pub product: ProductIx,
    pub score: f32,
    /// Customers who bought both (at any time before the models' cutoff).
    pub together: u32,
}

#[derive(Debug)]
pub(crate) struct ItemKnn {
    similar: Rows<Similar>,
}

/// The BM25 weight of one customer's purchases of one product.
struct Weights {
    /// Per customer.
    idf: Vec<f64>,
    /// Per product.
    length_norm: Vec<f64>,
}

impl Weights {
    fn new(store: &Store, purchases: &Purchases) -> Weights {
        let products = store.products().len();
        let idf = (0..purchases.customer_count() as CustomerIx)
            .map(|c| {
                let bought = purchases.of_customer(c).len() as f64;
                ((products as f64).ln() - bought.ln_1p()).max(0.0)
            })
            .collect();
        let orders: Vec<f64> = (0..products as ProductIx)
            .map(|p| {
                purchases
                    .buyers(p)
                    .iter()
                    .map(|b| f64::from(b.orders))
                    .sum()
            })
            .collect();
        let average = orders.iter().sum::<f64>() / (products.max(1) as f64);
        let length_norm = orders
            .iter()
            .map(|o| {
                if average > 0.0 {
                    (1.0 - B) + B * o / average
                } else {
                    1.0
                }
            })
            .collect();
        Weights { idf, length_norm }
    }

    fn of(&self, customer: CustomerIx, product: ProductIx, orders: u32) -> f64 {
        let x = f64::from(orders);
        x * (K1 + 1.0) / (K1 * self.length_norm[product as usize] + x) * self.idf[customer as usize]
    }
}

impl ItemKnn {
    pub(crate) fn build(store: &Store, purchases: &Purchases) -> ItemKnn {
        let products = store.products().len();
        let weights = Weights::new(store, purchases);
        let rows: Vec<Vec<Similar>> = (0..products as ProductIx)
            .into_par_iter()
            .map_init(
                || Scratch::new(products),
                |scratch, product| neighbours(purchases, &weights, product, scratch),
            )
            .collect();
        ItemKnn {
            similar: Rows::from_vecs(rows),
        }
    }

    /// The products most similar to one, most similar first.
    pub(crate) fn similar(&self, product: ProductIx) -> &[Similar] {
        self.similar.row(product)
    }
}

/// Reused between products of one thread: dense sums over the catalog.
struct Scratch {
    score: Vec<f64>,
    together: Vec<u32>,
    touched: Vec<ProductIx>,
}

impl Scratch {
    fn new(products: usize) -> Scratch {
        Scratch {
            score: vec![0.0; products],
            together: vec![0; products],
            touched: Vec::new(),
        }
    }
}

fn neighbours(
    purchases: &Purchases,
    weights: &Weights,
    product: ProductIx,
    scratch: &mut Scratch,
) -> Vec<Similar> {
    for buyer in purchases.buyers(product) {
        let own = weights.of(buyer.customer, product, buyer.orders);
        for other in purchases.of_customer(buyer.customer) {
            if other.product == product {
                continue;
            }
            let slot = other.product as usize;
            if scratch.together[slot] == 0 {
                scratch.touched.push(other.product);
            }
            scratch.together[slot] += 1;
            scratch.score[slot] += own * weights.of(buyer.customer, other.product, other.orders);
        }
    }
    let mut row: Vec<Similar> = scratch
        .touched
        .iter()
        .map(|p| Similar {
            product: *p,
            score: scratch.score[*p as usize] as f32,
            together: scratch.together[*p as usize],
        })
        .filter(|s| s.score > 0.0)
        .collect();
    for p in scratch.touched.drain(..) {
        scratch.score[p as usize] = 0.0;
        scratch.together[p as usize] = 0;
    }
    row.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.product.cmp(&b.product)));
    row.truncate(NEIGHBOURS);
    row
}
