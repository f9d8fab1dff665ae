//! The rows of the three tables (catalog, customers, events), as the rest of
//! xsell sees them once loaded: ids interned to dense indexes, timestamps as
//! Unix seconds, money as exact decimals.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

/// Position of a product in [`crate::data::Store::products`].
pub type ProductIx = u32;
/// Position of a customer in [`crate::data::Store::customers`].
pub type CustomerIx = u32;
/// Position of an order in [`crate::data::Store::orders`].
pub type OrderIx = u32;
/// Position of a name in one of the store's name tables (categories, manufacturers, families, tiers…).
pub type NameIx = u32;

pub(crate) const NONE: u32 = u32::MAX;

/// A three-letter ISO 4217 currency code, stored inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(code: &str) -> Option<Currency> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
                Some(Currency([*a, *b, *c]))
            }
            _ => None,
        }
    }

    pub fn code(&self) -> &str {
        // Only ASCII uppercase letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: Box<str>,
    pub name: Box<str>,
    pub category: NameIx,
    pub manufacturer: NameIx,
    /// Base price in `currency`.
    pub price: Decimal,
    pub currency: Currency,
    /// Prices in other currencies, for shops that sell in several.
    pub other_prices: Box<[(Currency, Decimal)]>,
    /// Average review score, 0–5; `None` when nobody reviewed it yet.
    pub rating: Option<f32>,
    pub rating_count: u32,
    pub stock: i64,
    /// Unix seconds when the product was launched.
    pub created_at: i64,
    pub url: Box<str>,
    pub image_url: Box<str>,
    /// Product ecosystem (`lumen`), for the ecosystem and upgrade plays.
    pub family: Option<NameIx>,
    /// 1 = starter, higher = more expert; for the upgrade play.
    pub level: Option<u8>,
    pub compare_at_price: Option<Decimal>,
}

impl Product {
    /// The price a customer paying in `currency` sees, if the product is sold in it.
    pub fn price_in(&self, currency: Currency) -> Option<Decimal> {
        if currency == self.currency {
            return Some(self.price);
        }
        self.other_prices
            .iter()
            .find(|(c, _)| *c == currency)
            .map(|(_, p)| *p)
    }

    pub fn in_stock(&self) -> bool {
        self.stock > 0
    }
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: Box<str>,
    pub email: Box<str>,
    pub first_name: Box<str>,
    /// BCP 47 tag as given (`en-US`, `fr-FR`).
    pub locale: NameIx,
    pub timezone: Tz,
    pub tier: NameIx,
    /// Marketing opt-in. Without it no campaign may mail the customer.
    pub consent: bool,
    pub created_at: i64,
    pub tags: Box<[NameIx]>,
    /// The currency the customer pays in.
    pub currency: Currency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    View,
    Cart,
    Order,
    SupportResolved,
    Usage,
    TierChanged,
    /// Units of a product sent back (a negative quantity on an order line
    /// is read as this).
    Return,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::View,
        EventKind::Cart,
        EventKind::Order,
        EventKind::SupportResolved,
        EventKind::Usage,
        EventKind::TierChanged,
        EventKind::Return,
    ];

    pub fn parse(text: &str) -> Option<EventKind> {
        Some(match text {
            "view" => EventKind::View,
            "cart" => EventKind::Cart,
            "order" => EventKind::Order,
            "support_resolved" => EventKind::SupportResolved,
            "usage" => EventKind::Usage,
            "tier_changed" => EventKind::TierChanged,
            "return" => EventKind::Return,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Cart => "cart",
            EventKind::Order => "order",
            EventKind::SupportResolved => "support_resolved",
            EventKind::Usage => "usage",
            EventKind::TierChanged => "tier_changed",
            EventKind::Return => "return",
        }
    }
}

/// One behaviour event. Compact (there may be tens of millions, 48 bytes
/// each): optional references are stored with a sentinel and read through
/// the accessors.
#[derive(Debug, Clone)]
pub struct Event {
    /// Unix seconds.
    pub ts: i64,
    /// The unit price (order, cart), or the metric's value (usage): an exact decimal either way.
    pub(crate) amount: Decimal,
    pub customer: CustomerIx,
    pub(crate) product: u32,
    pub(crate) order: u32,
    pub quantity: i32,
    pub(crate) metric: u32,
    pub kind: EventKind,
    pub gift: bool,
}

impl Event {
    pub fn product(&self) -> Option<ProductIx> {
        (self.product != NONE).then_some(self.product)
    }

    pub fn order(&self) -> Option<OrderIx> {
        (self.order != NONE).then_some(self.order)
    }

    /// The unit price of an order or cart line (zero when the file gave none).
    pub fn unit_price(&self) -> Decimal {
        if self.kind == EventKind::Usage {
            Decimal::ZERO
        } else {
            self.amount
        }
    }

    /// A usage event's metric value, exactly as written.
    pub fn value_decimal(&self) -> Option<Decimal> {
        (self.kind == EventKind::Usage).then_some(self.amount)
    }

    /// A usage event's metric value, for comparisons with thresholds.
    pub fn value(&self) -> Option<f64> {
        use rust_decimal::prelude::ToPrimitive;
        self.value_decimal().and_then(|v| v.to_f64())
    }

    /// The metric name (usage) or new tier (tier_changed), as an index into [`crate::data::Store::metric_name`].
    pub fn metric(&self) -> Option<NameIx> {
        (self.metric != NONE).then_some(self.metric)
    }

    pub fn time(&self) -> DateTime<Utc> {
        timestamp(self.ts)
    }
}

/// An order: the `order` events sharing an `order_id`.
#[derive(Debug, Clone)]
pub struct Order {
    pub id: Box<str>,
    pub customer: CustomerIx,
    /// Time of the order (its earliest line).
    pub ts: i64,
    /// The order's lines, as positions in the store's event array.
    pub(crate) lines: std::ops::Range<u32>,
    pub gift: bool,
}

/// Unix seconds → UTC time (saturating at the ends of chrono's range).
///
/// Instants past chrono's range are clamped a week inside it, so that any
/// time zone can still show them (a local time past the range panics in
/// chrono); sums of user durations and dates are also checked where they
/// are made.
pub fn timestamp(seconds: i64) -> DateTime<Utc> {
    const MARGIN: i64 = 7 * 86_400;
    let lowest = DateTime::<Utc>::MIN_UTC.timestamp() + MARGIN;
    let highest = DateTime::<Utc>::MAX_UTC.timestamp() - MARGIN;
    DateTime::from_timestamp(seconds.clamp(lowest, highest), 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}
