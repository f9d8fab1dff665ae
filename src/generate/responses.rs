//! Simulated responses to the messages in the ledger, so `xsell report` can
//! be checked against a known truth: each recipient buys one of the
//! products shown to them with a chosen probability (per variant if asked),
//! and everyone — recipients and holdout alike — orders something at
//! random with a baseline probability. Some suggested purchases come back
//! as returns. Daily views by random customers carry the data past every
//! attribution window, as a live shop's would.
//!
//! Deterministic: message `n` of the ledger draws from its own stream.

use std::collections::BTreeMap;

use crate::data::{ProductIx, Store};
use crate::ledger::{ReportRow, State};

use super::rng::Rng;
use super::{DAY, HOUR};

#[derive(Debug, Clone, Default)]
pub struct ResponseOptions {
    /// Share of recipients who buy a product shown to them (0–1).
    pub acceptance: f64,
    /// The acceptance of some variants, overriding `acceptance`.
    pub by_variant: BTreeMap<String, f64>,
    /// Share of everyone who orders a random product anyway (0–1).
    pub baseline: f64,
    /// Share of suggested purchases returned (0–1).
    pub returns: f64,
    /// Share of suggested purchases placed with the message's offer code (0–1).
    pub redeem: f64,
    pub seed: u64,
}

/// One simulated event, in the data contract's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedEvent {
    pub ts: i64,
    pub customer_id: String,
    pub kind: &'static str,
    pub product_id: String,
    pub order_id: String,
    pub quantity: i32,
    pub unit_price: String,
    /// The offer code typed at checkout (empty: none).
    pub code: String,
}

fn chance(rng: &mut Rng, p: f64) -> bool {
    (rng.below(1_000_000) as f64) < p.clamp(0.0, 1.0) * 1_000_000.0
}

/// The events that follow `rows` (sent and held-out messages); `window`
/// gives each campaign's attribution window in seconds.
pub fn simulate(
    store: &Store,
    rows: &[ReportRow],
    window: &dyn Fn(&str) -> i64,
    options: &ResponseOptions,
) -> Vec<SimulatedEvent> {
    let priced = |customer: &crate::data::Customer, product: ProductIx| {
        store
            .product(product)
            .price_in(customer.currency)
            .map(|p| p.to_string())
    };
    let mut events = Vec::new();
    let products = store.products().len() as u64;
    for (n, row) in rows.iter().enumerate() {
        let Some(ix) = store.customer_ix(&row.customer) else {
            continue;
        };
        let customer = store.customer(ix);
        let mut rng = Rng::new(options.seed, n as u64 + 1);
        let window = window(&row.campaign).max(2 * HOUR);
        let order =
            |rng: &mut Rng, product: ProductIx, events: &mut Vec<SimulatedEvent>| -> Option<i64> {
                let price = priced(customer, product)?;
                let ts = row.at + HOUR + rng.below((window * 6 / 10 - HOUR).max(1) as u64) as i64;
                events.push(SimulatedEvent {
                    ts,
                    customer_id: customer.id.to_string(),
                    kind: "order",
                    product_id: store.product(product).id.to_string(),
                    order_id: format!("SIM{}-{n}-{}", options.seed, events.len()),
                    quantity: 1,
                    unit_price: price,
                    code: String::new(),
                });
                Some(ts)
            };
        if row.state == State::Sent {
            let acceptance = row
                .contents
                .as_ref()
                .and_then(|c| c.variant.as_ref())
                .and_then(|v| options.by_variant.get(v))
                .copied()
                .unwrap_or(options.acceptance);
            let shown: Vec<ProductIx> = row
                .contents
                .iter()
                .flat_map(|c| &c.shown)
                .filter_map(|s| store.product_ix(&s.product))
                .collect();
            if !shown.is_empty() && chance(&mut rng, acceptance) {
                let product = *rng.pick(&shown);
                let placed = order(&mut rng, product, &mut events);
                if placed.is_some()
                    && let Some(code) = row.contents.as_ref().and_then(|c| c.offer_code.clone())
                    && chance(&mut rng, options.redeem)
                    && let Some(last) = events.last_mut()
                {
                    last.code = code;
                }
                if let Some(ts) = placed
                    && chance(&mut rng, options.returns)
                {
                    events.push(SimulatedEvent {
                        ts: ts + 2 * DAY,
                        customer_id: customer.id.to_string(),
                        kind: "return",
                        product_id: store.product(product).id.to_string(),
                        order_id: String::new(),
                        quantity: 1,
                        unit_price: String::new(),
                        code: String::new(),
                    });
                }
            }
        }
        if products > 0 && chance(&mut rng, options.baseline) {
            let product = rng.below(products) as ProductIx;
            order(&mut rng, product, &mut events);
        }
    }
    // The shop's data runs on past every window: a view a day.
    if let (Some(first), Some(last)) = (
        rows.iter().map(|r| r.at).min(),
        rows.iter().map(|r| r.at + window(&r.campaign)).max(),
    ) && products > 0
        && !store.customers().is_empty()
    {
        let mut rng = Rng::new(options.seed, 0);
        let mut ts = first + DAY / 2;
        while ts <= last + DAY {
            let customer = &store.customers()[rng.below(store.customers().len() as u64) as usize];
            events.push(SimulatedEvent {
                ts,
                customer_id: customer.id.to_string(),
                kind: "view",
                product_id: store.products()[rng.below(products) as usize]
                    .id
                    .to_string(),
                order_id: String::new(),
                quantity: 1,
                unit_price: String::new(),
                code: String::new(),
            });
            ts += DAY;
        }
    }
    events.sort_by(|a, b| (a.ts, &a.customer_id).cmp(&(b.ts, &b.customer_id)));
    events
}
