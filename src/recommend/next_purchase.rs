//! What a customer is likely to buy next, from everything they bought: a
//! closed-form item-item model (EASE, Steck 2019, "Embarrassingly Shallow
//! Autoencoders for Sparse Data").
//!
//! Each product gets a weight for every other: how much owning it predicts
//! buying that one, learnt jointly for all products by ridge regression of
//! each product's buyers on the buyers of every *other* product. Solving the
//! regression for all products at once is one matrix inverse:
//!
//! ```text
//! G = XᵀX + λI          X: customers × products, 1 where bought (before the cutoff)
//! P = G⁻¹
//! weight(i → j) = −P[i][j] / P[j][j],  weight(j → j) = 0
//! score(customer, j) = Σ over products i they bought of weight(i → j)
//! ```
//!
//! Unlike pairwise counts (cross-sell's lift, item-kNN's similarities), the
//! joint regression discounts what other products already explain: a
//! staple bought with everything predicts little once the rest of the
//! basket is known. [`LAMBDA`] was chosen on a validation split inside the
//! training period (see the README's Backtest section), never on the
//! period reported. The inverse costs `products³`: the model keeps the
//! [`MAX_PRODUCTS`] products with the most buyers, and is built only when a
//! list asks for it.

use rayon::prelude::*;

use super::purchases::Purchases;
use crate::data::{ProductIx, Store};

/// The ridge penalty: larger trusts rare co-purchases less. Chosen on
/// Online Retail with training before 2011-03-01 and March as validation
/// (new-product HitRate@10 for λ = 10, 50, 100, 250, 500, 1000:
/// 0.538, 0.556, 0.569, 0.583, 0.569, 0.548).
pub const LAMBDA: f64 = 250.0;
/// What buying a product again is worth: an owned product's score gains
/// `REORDER_WEIGHT × ln(1 + order lines of it)`. EASE never suggests a
/// product on its own strength (its self-weight is zero); where owned
/// products may be suggested (`exclude_purchased: false`, the "all"
/// protocol) this makes the list blend reminders with new products, ranked
/// together. Lists that leave owned products out are unaffected. Chosen on
/// the same March validation window ("all" HitRate@10 / NDCG@10 for 0, 0.05,
/// 0.1, 0.2, 0.4, 0.8: 0.743/0.273, 0.803/0.310, 0.801/0.328, 0.805/0.340,
/// **0.810/0.348**, 0.808/0.345).
pub const REORDER_WEIGHT: f64 = 0.4;
/// Products in the model at most (the most bought). The inverse grows with
/// the cube of the products: Online Retail's 3,113 take about 9 s on two
/// cores, 5,000 would take about 40 s; the model keeps 8 bytes per pair
/// (200 MB at 5,000).
pub const MAX_PRODUCTS: usize = 5_000;

const NONE: u32 = u32::MAX;

#[derive(Debug)]
pub(crate) struct NextPurchase {
    /// Per product, its row in `weights` (`NONE` when not in the model).
    slot: Vec<u32>,
    /// Per row, the product.
    products: Vec<ProductIx>,
    /// `weights[i * n + j]`: weight(products[i] → products[j]).
    weights: Vec<f32>,
    /// `together[i * n + j]`: customers who bought both (for the reasons).
    together: Vec<u32>,
}

/// A product the model suggests, with the owned product that weighs most for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Predicted {
    pub product: ProductIx,
    pub score: f64,
    pub because: ProductIx,
    /// Customers who bought both `because` and `product`.
    pub together: u32,
    /// Order lines of `product` the customer already has (0: a new product).
    pub owned_times: u32,
}

impl NextPurchase {
    pub(crate) fn build(store: &Store, purchases: &Purchases) -> NextPurchase {
        let mut ranked: Vec<ProductIx> = (0..store.products().len() as ProductIx)
            .filter(|p| purchases.buyer_count(*p) > 0)
            .collect();
        ranked.sort_by_key(|p| (std::cmp::Reverse(purchases.buyer_count(*p)), *p));
        ranked.truncate(MAX_PRODUCTS);
        ranked.sort_unstable();
        let mut slot = vec![NONE; store.products().len()];
        for (row, product) in ranked.iter().enumerate() {
            slot[*product as usize] = row as u32;
        }
        let n = ranked.len();
        let mut together = vec![0u32; n * n];
        let mut rows: Vec<usize> = Vec::new();
        for customer in 0..purchases.customer_count() as u32 {
            rows.clear();
            rows.extend(
                purchases
                    .of_customer(customer)
                    .iter()
                    .map(|b| slot[b.product as usize])
                    .filter(|s| *s != NONE)
                    .map(|s| s as usize),
            );
            for a in &rows {
                for b in &rows {
                    together[a * n + b] += 1;
                }
            }
        }
        let mut gram: Vec<f64> = together.iter().map(|c| f64::from(*c)).collect();
        for i in 0..n {
            gram[i * n + i] += LAMBDA;
        }
        invert_in_place(&mut gram, n);
        let inverse = gram;
        let weights: Vec<f32> = (0..n * n)
            .into_par_iter()
            .map(|k| {
                let (i, j) = (k / n, k % n);
                if i == j {
                    0.0
                } else {
                    (-inverse[k] / inverse[j * n + j]) as f32
                }
            })
            .collect();
        NextPurchase {
            slot,
            products: ranked,
            weights,
            together,
        }
    }

    /// Every product with a positive score for someone who bought `owned`
    /// (product, order lines of it), by position (the source ranks them).
    pub(crate) fn predict(&self, owned: &[(ProductIx, u32)]) -> Vec<Predicted> {
        let n = self.products.len();
        let mut scores = vec![0.0f64; n];
        let mut owned_times = vec![0u32; n];
        // Per product: the strongest weight, and the row and product it came from.
        let mut strongest = vec![(0.0f32, NONE, NONE); n];
        for &(product, times) in owned {
            let Some(&row) = self.slot.get(product as usize) else {
                continue;
            };
            if row == NONE {
                continue;
            }
            owned_times[row as usize] = times;
            scores[row as usize] += REORDER_WEIGHT * f64::from(times).ln_1p();
            let weights = &self.weights[row as usize * n..(row as usize + 1) * n];
            for (j, weight) in weights.iter().enumerate() {
                scores[j] += f64::from(*weight);
                if *weight > strongest[j].0 {
                    strongest[j] = (*weight, row, product);
                }
            }
        }
        scores
            .iter()
            .enumerate()
            .filter(|(j, score)| **score > 0.0 && (strongest[*j].1 != NONE || owned_times[*j] > 0))
            .map(|(j, score)| {
                let (_, row, because) = strongest[j];
                Predicted {
                    product: self.products[j],
                    score: *score,
                    because,
                    together: if row == NONE {
                        0
                    } else {
                        self.together[row as usize * n + j]
                    },
                    owned_times: owned_times[j],
                }
            })
            .collect()
    }
}

/// Inverts a symmetric positive-definite `n × n` matrix (row-major) in place
/// by Gauss–Jordan elimination; no pivoting is needed for such a matrix.
/// Rows are updated in parallel.
fn invert_in_place(a: &mut [f64], n: usize) {
    let mut pivot_row = vec![0.0f64; n];
    for k in 0..n {
        let pivot = a[k * n + k];
        a[k * n + k] = 1.0;
        for value in &mut a[k * n..(k + 1) * n] {
            *value /= pivot;
        }
        pivot_row.copy_from_slice(&a[k * n..(k + 1) * n]);
        a.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            if i == k {
                return;
            }
            let factor = row[k];
            if factor == 0.0 {
                return;
            }
            row[k] = 0.0;
            for (value, p) in row.iter_mut().zip(&pivot_row) {
                *value -= factor * p;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverts_a_positive_definite_matrix() {
        let n = 4;
        let original = vec![
            4.0, 1.0, 0.5, 0.0, //
            1.0, 3.0, 0.2, 0.1, //
            0.5, 0.2, 5.0, 1.0, //
            0.0, 0.1, 1.0, 2.0,
        ];
        let mut inverse = original.clone();
        invert_in_place(&mut inverse, n);
        for i in 0..n {
            for j in 0..n {
                let product: f64 = (0..n)
                    .map(|k| original[i * n + k] * inverse[k * n + j])
                    .sum();
                let identity = if i == j { 1.0 } else { 0.0 };
                assert!((product - identity).abs() < 1e-12, "({i}, {j}): {product}");
            }
        }
    }
}
