//! The loaded shop: a read-only, indexed store every later stage reads from.
//!
//! Events are kept sorted by (customer, time), so a customer's history is one
//! slice; orders likewise. Time indexes (all events, all orders) let trigger
//! evaluation and bestseller counts look at a window without scanning
//! everyone. Names (categories, manufacturers, families, tiers, locales,
//! tags, metrics) are interned once.

use std::collections::HashMap;
use std::ops::Range;

use super::ids::IdIndex;
use super::model::*;

/// An interned table of names: position ↔ text.
#[derive(Debug, Clone, Default)]
pub struct Names {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, NameIx>,
}

impl Names {
    pub fn intern(&mut self, name: &str) -> NameIx {
        if let Some(ix) = self.index.get(name) {
            return *ix;
        }
        let ix = self.names.len() as NameIx;
        self.names.push(name.into());
        self.index.insert(name.into(), ix);
        ix
    }

    pub fn get(&self, name: &str) -> Option<NameIx> {
        self.index.get(name).copied()
    }

    pub fn name(&self, ix: NameIx) -> &str {
        &self.names[ix as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (NameIx, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| (i as NameIx, &**n))
    }
}

/// The read-only, indexed shop data.
#[derive(Debug, Default)]
pub struct Store {
    pub(crate) products: Vec<Product>,
    /// Every currency some product has a price in.
    pub(crate) priced_currencies: Vec<Currency>,
    pub(crate) product_by_id: IdIndex,
    pub(crate) customers: Vec<Customer>,
    pub(crate) customer_by_id: IdIndex,
    /// Sorted by (customer, ts); ties keep file order.
    pub(crate) events: Vec<Event>,
    /// `events[customer_events[c]..customer_events[c + 1]]` are customer `c`'s.
    pub(crate) customer_events: Vec<u32>,
    /// Sorted by (customer, ts).
    pub(crate) orders: Vec<Order>,
    /// The offer code an order was placed with, for the few that carry one.
    pub(crate) order_codes: std::collections::HashMap<OrderIx, Box<str>>,
    pub(crate) customer_orders: Vec<u32>,
    /// Positions in `events` of order lines, grouped by order (`Order::lines` ranges into it).
    pub(crate) order_lines: Vec<u32>,
    /// Order positions sorted by time.
    pub(crate) orders_by_time: Vec<OrderIx>,
    /// Event positions sorted by time.
    pub(crate) events_by_time: Vec<u32>,
    /// The time of the newest row of the events file (also when a shard kept
    /// only its own customers' events).
    pub(crate) newest_event_ts: Option<i64>,
    /// Loaded for one shard (`--shard K/N`): `events` holds every event of
    /// the shard's customers and only the orders of the others.
    pub(crate) shard: Option<crate::shard::Shard>,
    /// With a shard: whether each customer is in it.
    pub(crate) in_shard: Vec<bool>,
    /// For the customers outside the shard, their views (customer, time,
    /// product), sorted by (customer, time): the one model that learns from
    /// everyone's views (products compared with each other) reads them here.
    pub(crate) outside_views: Vec<(CustomerIx, i64, ProductIx)>,
    /// `outside_views[customer_outside_views[c]..customer_outside_views[c + 1]]`
    /// are customer `c`'s (empty when the store holds every event).
    pub(crate) customer_outside_views: Vec<u32>,
    pub(crate) categories: Names,
    pub(crate) manufacturers: Names,
    pub(crate) families: Names,
    pub(crate) tiers: Names,
    pub(crate) locales: Names,
    pub(crate) tags: Names,
    pub(crate) metrics: Names,
    pub(crate) products_by_category: Vec<Vec<ProductIx>>,
    pub(crate) products_by_manufacturer: Vec<Vec<ProductIx>>,
    pub(crate) products_by_family: Vec<Vec<ProductIx>>,
    /// Units sold per product, over all orders.
    pub(crate) units_sold: Vec<u64>,
    /// Number of orders containing each product.
    pub(crate) orders_with_product: Vec<u32>,
}

/// A currency customers pay in that the catalog does not price everywhere.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CurrencyGap {
    pub currency: Currency,
    /// Customers paying in it, and the first of them.
    pub customers: usize,
    pub first_customer: String,
    /// Products without a price in it (all of them when none has one).
    pub unpriced: usize,
    pub products: usize,
    /// The first few of those products.
    pub examples: Vec<String>,
}

impl std::fmt::Display for CurrencyGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = format!(
            "{} customer{} pay in {} (first: {})",
            self.customers,
            if self.customers == 1 { "" } else { "s" },
            self.currency,
            self.first_customer
        );
        if self.unpriced == self.products {
            write!(
                f,
                "{who}, but no product has a price in {}: they are skipped (\"no prices in {}\") until the catalog's `prices` column gives {} prices",
                self.currency, self.currency, self.currency
            )
        } else {
            write!(
                f,
                "{who}, but {} of {} products have no price in {} ({}{}): those are not shown to them, and moments about them are skipped",
                self.unpriced,
                self.products,
                self.currency,
                self.examples.join(", "),
                if self.unpriced > self.examples.len() {
                    ", …"
                } else {
                    ""
                }
            )
        }
    }
}

impl Store {
    /// The customers' currencies the catalog does not fully price.
    pub fn currency_gaps(&self) -> Vec<CurrencyGap> {
        let mut by_currency: std::collections::BTreeMap<Currency, (usize, &str)> =
            Default::default();
        for customer in &self.customers {
            by_currency
                .entry(customer.currency)
                .or_insert((0, &customer.id))
                .0 += 1;
        }
        by_currency
            .into_iter()
            .filter_map(|(currency, (customers, first))| {
                let unpriced: Vec<&Product> = self
                    .products
                    .iter()
                    .filter(|p| p.price_in(currency).is_none())
                    .collect();
                (!unpriced.is_empty()).then(|| CurrencyGap {
                    currency,
                    customers,
                    first_customer: first.to_string(),
                    unpriced: unpriced.len(),
                    products: self.products.len(),
                    examples: unpriced.iter().take(5).map(|p| p.id.to_string()).collect(),
                })
            })
            .collect()
    }

    /// Whether any product has a price in `currency`.
    pub fn prices_in(&self, currency: Currency) -> bool {
        self.priced_currencies.contains(&currency)
    }

    pub(crate) fn add_product(&mut self, product: Product) -> ProductIx {
        let ix = self.products.len() as ProductIx;
        for currency in
            std::iter::once(product.currency).chain(product.other_prices.iter().map(|(c, _)| *c))
        {
            if !self.priced_currencies.contains(&currency) {
                self.priced_currencies.push(currency);
            }
        }
        self.products.push(product);
        let products = &self.products;
        self.product_by_id
            .insert(ix, &products[ix as usize].id, |p| &products[p as usize].id);
        ix
    }

    pub(crate) fn add_customer(&mut self, customer: Customer) -> CustomerIx {
        let ix = self.customers.len() as CustomerIx;
        self.customers.push(customer);
        let customers = &self.customers;
        self.customer_by_id
            .insert(ix, &customers[ix as usize].id, |c| {
                &customers[c as usize].id
            });
        ix
    }

    // ----- products

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn product(&self, ix: ProductIx) -> &Product {
        &self.products[ix as usize]
    }

    pub fn product_ix(&self, id: &str) -> Option<ProductIx> {
        self.product_by_id
            .find(id, |ix| &self.products[ix as usize].id)
    }

    pub fn categories(&self) -> &Names {
        &self.categories
    }

    pub fn manufacturers(&self) -> &Names {
        &self.manufacturers
    }

    pub fn families(&self) -> &Names {
        &self.families
    }

    pub fn products_in_category(&self, category: NameIx) -> &[ProductIx] {
        &self.products_by_category[category as usize]
    }

    pub fn products_by_manufacturer(&self, manufacturer: NameIx) -> &[ProductIx] {
        &self.products_by_manufacturer[manufacturer as usize]
    }

    pub fn products_in_family(&self, family: NameIx) -> &[ProductIx] {
        &self.products_by_family[family as usize]
    }

    /// Units sold over the whole history.
    pub fn units_sold(&self, product: ProductIx) -> u64 {
        self.units_sold[product as usize]
    }

    /// Orders containing the product, over the whole history.
    pub fn orders_with_product(&self, product: ProductIx) -> u32 {
        self.orders_with_product[product as usize]
    }

    // ----- customers

    pub fn customers(&self) -> &[Customer] {
        &self.customers
    }

    pub fn customer(&self, ix: CustomerIx) -> &Customer {
        &self.customers[ix as usize]
    }

    pub fn customer_ix(&self, id: &str) -> Option<CustomerIx> {
        self.customer_by_id
            .find(id, |ix| &self.customers[ix as usize].id)
    }

    pub fn tiers(&self) -> &Names {
        &self.tiers
    }

    pub fn locales(&self) -> &Names {
        &self.locales
    }

    pub fn tags(&self) -> &Names {
        &self.tags
    }

    // ----- events and orders

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// One customer's events, oldest first.
    pub fn events_of(&self, customer: CustomerIx) -> &[Event] {
        &self.events[self.customer_event_range(customer)]
    }

    /// Positions in [`Store::events`] of one customer's events.
    pub fn customer_event_range(&self, customer: CustomerIx) -> Range<usize> {
        let c = customer as usize;
        self.customer_events[c] as usize..self.customer_events[c + 1] as usize
    }

    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    pub fn order(&self, ix: OrderIx) -> &Order {
        &self.orders[ix as usize]
    }

    /// The offer code the order was placed with (the events' `code` column).
    pub fn order_code(&self, ix: OrderIx) -> Option<&str> {
        self.order_codes.get(&ix).map(|c| &**c)
    }

    /// One customer's orders, oldest first, with their positions.
    pub fn orders_of(
        &self,
        customer: CustomerIx,
    ) -> impl DoubleEndedIterator<Item = (OrderIx, &Order)> + ExactSizeIterator {
        let c = customer as usize;
        let range = self.customer_orders[c]..self.customer_orders[c + 1];
        range.map(|ix| (ix, &self.orders[ix as usize]))
    }

    pub fn order_count(&self, customer: CustomerIx) -> usize {
        let c = customer as usize;
        (self.customer_orders[c + 1] - self.customer_orders[c]) as usize
    }

    /// The lines (`order` events) of an order.
    pub fn order_lines(&self, order: OrderIx) -> impl ExactSizeIterator<Item = &Event> {
        let lines = self.orders[order as usize].lines.clone();
        self.order_lines[lines.start as usize..lines.end as usize]
            .iter()
            .map(|e| &self.events[*e as usize])
    }

    /// Orders placed in `[from, to)` (Unix seconds), oldest first.
    pub fn orders_between(&self, from: i64, to: i64) -> &[OrderIx] {
        let start = self
            .orders_by_time
            .partition_point(|o| self.orders[*o as usize].ts < from);
        let end = self
            .orders_by_time
            .partition_point(|o| self.orders[*o as usize].ts < to);
        &self.orders_by_time[start..end.max(start)]
    }

    /// Events in `[from, to)` (Unix seconds), oldest first.
    pub fn events_between(
        &self,
        from: i64,
        to: i64,
    ) -> impl DoubleEndedIterator<Item = &Event> + ExactSizeIterator {
        let start = self
            .events_by_time
            .partition_point(|e| self.events[*e as usize].ts < from);
        let end = self
            .events_by_time
            .partition_point(|e| self.events[*e as usize].ts < to)
            .max(start);
        self.events_by_time[start..end]
            .iter()
            .map(|e| &self.events[*e as usize])
    }

    /// The name of a usage metric or, for `tier_changed` events, of the new tier.
    pub fn metric_name(&self, ix: NameIx) -> &str {
        self.metrics.name(ix)
    }

    pub fn metrics(&self) -> &Names {
        &self.metrics
    }

    /// Time of the newest event, if any (Unix seconds).
    pub fn last_event_ts(&self) -> Option<i64> {
        self.newest_event_ts
    }

    /// The shard whose customers' events this store holds (`None`: everyone's).
    pub fn shard(&self) -> Option<crate::shard::Shard> {
        self.shard
    }

    /// Whether the store holds all of this customer's events: always, unless
    /// it was loaded for a shard the customer is not in.
    pub fn in_shard(&self, customer: CustomerIx) -> bool {
        self.shard.is_none() || self.in_shard[customer as usize]
    }

    /// One customer's product views (time, product), oldest first, whether
    /// the store holds all their events or (outside its shard) only the
    /// compact copy kept for the models.
    pub fn views_of(&self, customer: CustomerIx) -> impl Iterator<Item = (i64, ProductIx)> + '_ {
        let own = self
            .events_of(customer)
            .iter()
            .filter(|e| e.kind == EventKind::View)
            .filter_map(|e| e.product().map(|p| (e.ts, p)));
        let c = customer as usize;
        let outside = match self.customer_outside_views.get(c..c + 2) {
            Some(&[start, end]) => &self.outside_views[start as usize..end as usize],
            _ => &[][..],
        };
        own.chain(outside.iter().map(|(_, ts, product)| (*ts, *product)))
    }
}

#[cfg(test)]
mod tests {
    use crate::data::store_from_csv;

    const CATALOG: &str = "id,name,category,manufacturer,price,currency,stock,created_at,url
P1,Soap,Body Care,Douce,8.00,USD,5,2026-01-01T00:00:00Z,https://s/p1
P2,Cream,Body Care,Douce,12.00,USD,5,2026-01-01T00:00:00Z,https://s/p2
P3,Shoe,Running,Stride,90.00,USD,0,2026-01-01T00:00:00Z,https://s/p3
";
    const CUSTOMERS: &str = "id,email,first_name,locale,timezone,tier,consent,created_at
A,a@example.com,Ana,en-US,America/New_York,gold,true,2025-01-01T00:00:00Z
B,b@example.com,Ben,fr-FR,Europe/Paris,silver,true,2025-01-01T00:00:00Z
";
    /// Out of order on purpose: the store sorts.
    const EVENTS: &str = "ts,customer_id,kind,product_id,order_id,quantity,unit_price,value,metric
2026-11-03T00:00:00Z,B,order,P3,O3,1,90.00,,
2026-11-01T00:00:00Z,A,order,P1,O1,2,8.00,,
2026-11-02T00:00:00Z,B,view,P1,,,,,
2026-11-05T00:00:00Z,A,order,P2,O2,1,12.00,,
2026-11-01T00:00:00Z,A,order,P2,O1,1,12.00,,
2026-11-04T00:00:00Z,A,usage,,,,,20.5,workouts
";

    #[test]
    fn returns_and_offer_codes_are_read() {
        let events = "ts,customer_id,kind,product_id,order_id,quantity,unit_price,code
2026-11-01T00:00:00Z,A,order,P1,O1,2,8.00,SAVE10
2026-11-02T00:00:00Z,A,order,P1,C1,-2,8.00,
2026-11-03T00:00:00Z,A,return,P2,,3,,
2026-11-04T00:00:00Z,B,order,P3,O2,1,90.00,
";
        let store = store_from_csv(CATALOG, CUSTOMERS, events).unwrap();
        let kinds: Vec<(&str, i32)> = store
            .events()
            .iter()
            .map(|e| (e.kind.name(), e.quantity))
            .collect();
        assert_eq!(
            kinds,
            vec![("order", 2), ("return", 2), ("return", 3), ("order", 1)]
        );
        assert_eq!(store.orders().len(), 2, "a credit note is not an order");
        let a = store.customer_ix("A").unwrap();
        let first = store.events_of(a)[0].order().unwrap();
        assert_eq!(store.order_code(first), Some("SAVE10"));
        let b = store.customer_ix("B").unwrap();
        assert_eq!(
            store.order_code(store.events_of(b)[0].order().unwrap()),
            None
        );
    }

    #[test]
    fn events_and_orders_are_indexed_by_customer_and_by_time() {
        let store = store_from_csv(CATALOG, CUSTOMERS, EVENTS).unwrap();
        let a = store.customer_ix("A").unwrap();
        let b = store.customer_ix("B").unwrap();
        let days = |events: &[crate::data::Event]| {
            events
                .iter()
                .map(|e| (e.ts - 1_793_491_200) / 86_400 + 1)
                .collect::<Vec<_>>()
        };
        assert_eq!(days(store.events_of(a)), vec![1, 1, 4, 5]);
        assert_eq!(days(store.events_of(b)), vec![2, 3]);

        let orders: Vec<&str> = store.orders_of(a).map(|(_, o)| &*o.id).collect();
        assert_eq!(orders, vec!["O1", "O2"]);
        let (o1, _) = store.orders_of(a).next().unwrap();
        let lines: Vec<&str> = store
            .order_lines(o1)
            .map(|l| &*store.product(l.product().unwrap()).id)
            .collect();
        assert_eq!(lines, vec!["P1", "P2"]);
        assert_eq!(store.order_count(b), 1);

        let from = 1_793_491_200 + 86_400; // 2026-11-02
        let between: Vec<&str> = store
            .orders_between(from, from + 3 * 86_400)
            .iter()
            .map(|o| &*store.order(*o).id)
            .collect();
        assert_eq!(between, vec!["O3"]);
        let kinds: Vec<&str> = store
            .events_between(from, from + 3 * 86_400)
            .map(|e| e.kind.name())
            .collect();
        assert_eq!(kinds, vec!["view", "order", "usage"]);

        let usage = store
            .events_of(a)
            .iter()
            .find(|e| e.kind == crate::data::EventKind::Usage)
            .unwrap();
        assert_eq!(
            (usage.value(), store.metric_name(usage.metric().unwrap())),
            (Some(20.5), "workouts")
        );
        assert_eq!(usage.unit_price(), rust_decimal::Decimal::ZERO);
        assert_eq!(store.units_sold(store.product_ix("P1").unwrap()), 2);
        assert_eq!(
            store.orders_with_product(store.product_ix("P2").unwrap()),
            2
        );
        assert_eq!(
            store
                .products_in_category(store.categories().get("Body Care").unwrap())
                .len(),
            2
        );
        assert_eq!(store.last_event_ts(), Some(1_793_491_200 + 4 * 86_400));
    }
}
