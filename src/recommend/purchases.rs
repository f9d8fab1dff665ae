//! Who bought what, before the models' cutoff: for each customer the distinct
//! products they ordered (with how many orders contained each), and the same
//! table turned around, for each product its buyers. Every model that learns
//! from purchases starts from these two tables.

use rayon::prelude::*;

use crate::data::{CustomerIx, ProductIx, Store};

/// A compact table of rows (customer → products, product → customers).
#[derive(Debug)]
pub(crate) struct Rows<T> {
    offsets: Vec<u32>,
    values: Vec<T>,
}

impl<T> Rows<T> {
    pub(crate) fn row(&self, ix: u32) -> &[T] {
        let i = ix as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(start), Some(end)) => &self.values[*start as usize..*end as usize],
            _ => &[],
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Builds rows from one vector per row.
    pub(crate) fn from_vecs(rows: Vec<Vec<T>>) -> Rows<T> {
        let mut offsets = Vec::with_capacity(rows.len() + 1);
        offsets.push(0u32);
        let total: usize = rows.iter().map(Vec::len).sum();
        let mut values = Vec::with_capacity(total);
        for row in rows {
            values.extend(row);
            offsets.push(values.len() as u32);
        }
        Rows { offsets, values }
    }
}

/// A product in a customer's row: how many of their orders contained it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bought {
    pub product: ProductIx,
    pub orders: u32,
}

/// A customer in a product's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Buyer {
    pub customer: CustomerIx,
    pub orders: u32,
}

#[derive(Debug)]
pub(crate) struct Purchases {
    /// Per customer, distinct products sorted by position.
    by_customer: Rows<Bought>,
    /// Per product, distinct buyers sorted by position.
    by_product: Rows<Buyer>,
    /// Customers with at least one order before the cutoff.
    pub customers_with_orders: u32,
}

impl Purchases {
    pub(crate) fn build(store: &Store, cutoff: i64) -> Purchases {
        let customers = store.customers().len() as CustomerIx;
        let rows: Vec<Vec<Bought>> = (0..customers)
            .into_par_iter()
            .map(|customer| products_bought(store, customer, cutoff))
            .collect();
        let customers_with_orders = rows.iter().filter(|r| !r.is_empty()).count() as u32;
        let by_customer = Rows::from_vecs(rows);
        let by_product = transpose(&by_customer, store.products().len());
        Purchases {
            by_customer,
            by_product,
            customers_with_orders,
        }
    }

    /// The distinct products a customer bought, by position.
    pub(crate) fn of_customer(&self, customer: CustomerIx) -> &[Bought] {
        self.by_customer.row(customer)
    }

    /// The distinct buyers of a product, by position.
    pub(crate) fn buyers(&self, product: ProductIx) -> &[Buyer] {
        self.by_product.row(product)
    }

    pub(crate) fn buyer_count(&self, product: ProductIx) -> u32 {
        self.buyers(product).len() as u32
    }

    pub(crate) fn customer_count(&self) -> usize {
        self.by_customer.len()
    }
}

/// The distinct products in a customer's orders before `cutoff`, with the number of orders each is in.
fn products_bought(store: &Store, customer: CustomerIx, cutoff: i64) -> Vec<Bought> {
    let mut products: Vec<ProductIx> = Vec::new();
    for (ix, order) in store.orders_of(customer) {
        if order.ts >= cutoff {
            break;
        }
        let start = products.len();
        products.extend(store.order_lines(ix).filter_map(|line| line.product()));
        // One count per order, even when the order repeats a product on several lines.
        let lines = &mut products[start..];
        lines.sort_unstable();
        let distinct = dedup_sorted(lines);
        products.truncate(start + distinct);
    }
    products.sort_unstable();
    let mut bought: Vec<Bought> = Vec::new();
    for product in products {
        match bought.last_mut() {
            Some(last) if last.product == product => last.orders += 1,
            _ => bought.push(Bought { product, orders: 1 }),
        }
    }
    bought
}

/// Moves the distinct values of a sorted slice to its front; returns how many there are.
fn dedup_sorted(values: &mut [ProductIx]) -> usize {
    let mut kept = 0;
    for i in 0..values.len() {
        if kept == 0 || values[kept - 1] != values[i] {
            values[kept] = values[i];
            kept += 1;
        }
    }
    kept
}

fn transpose(by_customer: &Rows<Bought>, products: usize) -> Rows<Buyer> {
    let mut counts = vec![0u32; products + 1];
    for bought in &by_customer.values {
        counts[bought.product as usize + 1] += 1;
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    let offsets = counts.clone();
    let mut next = counts;
    let mut values = vec![
        Buyer {
            customer: 0,
            orders: 0
        };
        by_customer.values.len()
    ];
    for customer in 0..by_customer.len() as CustomerIx {
        for bought in by_customer.row(customer) {
            let slot = &mut next[bought.product as usize];
            values[*slot as usize] = Buyer {
                customer,
                orders: bought.orders,
            };
            *slot += 1;
        }
    }
    Rows { offsets, values }
}
