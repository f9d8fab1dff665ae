//! Moments: for a campaign's trigger and a time `now`, the occurrences (one
//! customer, one moment, one stable key) that are open for sending.

use serde::Serialize;

use crate::data::{CustomerIx, NameIx, OrderIx, ProductIx};

/// One moment for one customer. The key is stable: evaluating the same data
/// at any `now` inside the window gives the same key, so the ledger can make
/// sure the moment is mailed at most once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occurrence {
    pub customer: CustomerIx,
    /// Stable across runs, e.g. `order:O0001234` or `browse:Historical Fiction:2026-11-14`.
    pub key: String,
    /// When the moment happened (Unix seconds).
    pub at: i64,
    /// The products the moment is about (the order's items, the cart's product,
    /// the viewed product…), most relevant first. Seeds for cross-sell lists.
    pub products: Vec<ProductIx>,
    /// The category the moment is about (browse, new arrival), when there is one.
    pub category: Option<NameIx>,
    pub order: Option<OrderIx>,
    pub detail: Detail,
}

/// What else a template may want to say about the moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Detail {
    None,
    /// browse: how many views.
    Views {
        count: u32,
    },
    /// usage_milestone: the metric reached `value` (threshold `threshold`).
    Metric {
        name: String,
        value: f64,
        threshold: f64,
    },
    /// tier_reached: the new tier.
    Tier {
        tier: String,
    },
    /// inactive: days since the last order.
    Inactive {
        days: u32,
    },
}
