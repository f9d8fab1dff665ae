//! What one recipient did after one message (or after a held-out moment):
//! read from the customer's events in the campaign's attribution window.

use std::collections::{BTreeMap, BTreeSet};

use crate::data::{Currency, CustomerIx, EventKind, ProductIx, Store};
use crate::ledger::Contents;

/// Returns are counted this long after the attribution window closes.
pub const RETURN_GRACE: i64 = 30 * 86_400;

/// One message's outcome.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub currency: Option<Currency>,
    pub ordered: bool,
    /// Distinct orders in the window.
    pub orders: u32,
    /// Value of everything bought in the window.
    pub revenue: f64,
    /// Distinct products shown.
    pub shown: usize,
    /// Distinct shown products bought in the window.
    pub bought_shown: usize,
    /// Seconds from the send to the first purchase of a shown product.
    pub first_accept: Option<i64>,
    /// Value of the shown products bought in the window.
    pub shown_value: f64,
    /// Mean unit price of the shown products bought.
    pub accepted_unit_price: Option<f64>,
    /// Mean unit price of what the customer bought before the send.
    pub typical_unit_price: Option<f64>,
    /// Each source that picked a shown product, and whether one of its products was bought.
    pub sources: BTreeMap<String, bool>,
    /// Bought in a category never bought in before the send.
    pub new_category: bool,
    pub units_bought: u64,
    pub units_returned: u64,
    pub shown_units_bought: u64,
    pub shown_units_returned: u64,
    /// Whether an order in the window carried the message's offer code
    /// (None: the message had no code).
    pub redeemed: Option<bool>,
}

impl Outcome {
    pub fn accepted(&self) -> bool {
        self.bought_shown > 0
    }
}

/// The outcome of a message sent (or held out) at `at` to `customer`.
pub fn outcome(
    store: &Store,
    customer: CustomerIx,
    contents: Option<&Contents>,
    at: i64,
    window: i64,
) -> Outcome {
    let end = at.saturating_add(window);
    let shown: BTreeMap<ProductIx, &str> = contents
        .map(|c| {
            c.shown
                .iter()
                .filter_map(|s| Some((store.product_ix(&s.product)?, s.source.as_str())))
                .collect()
        })
        .unwrap_or_default();
    let code = contents.and_then(|c| c.offer_code.as_deref());
    let mut result = Outcome {
        redeemed: code.map(|_| false),
        currency: Some(store.customer(customer).currency),
        shown: shown.len(),
        sources: shown.values().map(|s| (s.to_string(), false)).collect(),
        ..Outcome::default()
    };
    let mut categories_before = BTreeSet::new();
    let (mut spent_before, mut units_before) = (0.0, 0u64);
    let mut orders = BTreeSet::new();
    let mut bought_shown = BTreeSet::new();
    let mut bought: BTreeMap<ProductIx, u64> = BTreeMap::new();
    let mut returned: BTreeMap<ProductIx, u64> = BTreeMap::new();
    let (mut accepted_spent, mut accepted_units) = (0.0, 0u64);
    for event in store.events_of(customer) {
        let Some(product) = event.product() else {
            continue;
        };
        let units = u64::from(event.quantity.unsigned_abs());
        let price: f64 = event.unit_price().try_into().unwrap_or(0.0);
        match event.kind {
            EventKind::Order if event.ts <= at => {
                categories_before.insert(store.product(product).category);
                spent_before += price * units as f64;
                units_before += units;
            }
            EventKind::Order if event.ts <= end => {
                if let Some(order) = event.order() {
                    orders.insert(order);
                    if let (Some(code), Some(used)) = (code, store.order_code(order))
                        && code.eq_ignore_ascii_case(used)
                    {
                        result.redeemed = Some(true);
                    }
                }
                result.revenue += price * units as f64;
                *bought.entry(product).or_default() += units;
                if !categories_before.contains(&store.product(product).category) {
                    result.new_category = true;
                }
                if let Some(source) = shown.get(&product) {
                    bought_shown.insert(product);
                    result.sources.insert(source.to_string(), true);
                    result.shown_value += price * units as f64;
                    accepted_spent += price * units as f64;
                    accepted_units += units;
                    result.first_accept.get_or_insert(event.ts - at);
                }
            }
            EventKind::Return if event.ts > at && event.ts <= end.saturating_add(RETURN_GRACE) => {
                *returned.entry(product).or_default() += units;
            }
            _ => {}
        }
    }
    result.orders = orders.len() as u32;
    result.ordered = result.orders > 0;
    result.bought_shown = bought_shown.len();
    result.typical_unit_price = (units_before > 0).then(|| spent_before / units_before as f64);
    result.accepted_unit_price =
        (accepted_units > 0).then(|| accepted_spent / accepted_units as f64);
    for (product, units) in &bought {
        // A return of more than was bought in the window (an older
        // purchase sent back) counts up to what was bought.
        let back = returned.get(product).copied().unwrap_or(0).min(*units);
        result.units_bought += units;
        result.units_returned += back;
        if shown.contains_key(product) {
            result.shown_units_bought += units;
            result.shown_units_returned += back;
        }
    }
    result
}
