//! The campaign file exactly as a marketer writes it: serde shapes that
//! reject unknown keys and keep each value's line and column, so that
//! [`super::check`] can point at the offending place. The JSON Schema of
//! `xsell schema` is derived from these shapes (and their doc comments).

use std::collections::BTreeMap;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// A cross-selling campaign: who gets which products, at which moment, with which offer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "xsell campaign")]
pub struct RawCampaign {
    /// Stable key used by the ledger; never change it once the campaign has sent.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// Human name shown in plans and reports.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Set to false to keep the campaign in git without sending it.
    pub enabled: Option<bool>,
    /// Template file in `templates/`, e.g. `post_purchase.mjml`.
    #[schemars(with = "String")]
    pub template: Spanned<String>,
    /// Subject line (a Tera template).
    #[schemars(with = "String")]
    pub subject: Spanned<String>,
    /// Preview text shown after the subject in inboxes (a Tera template).
    #[schemars(with = "Option<String>")]
    pub preheader: Option<Spanned<String>>,
    /// Who may receive it at all. Marketing consent is always required.
    #[serde(default)]
    pub audience: RawAudience,
    /// The moment that sends it; absent = a one-off newsletter to the whole audience.
    pub trigger: Option<RawTrigger>,
    /// Cron line (5 fields) saying when `xsell run` sends or evaluates it, e.g. `*/30 * * * *`.
    #[schemars(with = "Option<String>")]
    pub schedule: Option<Spanned<String>>,
    /// Time zone of the schedule (IANA name); default the shop's.
    #[schemars(with = "Option<String>")]
    pub timezone: Option<Spanned<String>>,
    /// Missed runs: `latest` (default) sends once for the most recent, `all` for each, `none` skips them.
    #[schemars(with = "Option<CatchUp>")]
    pub catch_up: Option<Spanned<CatchUp>>,
    /// A run later than this after its due time is skipped and recorded (e.g. `6h`).
    #[schemars(with = "Option<String>")]
    pub max_lateness: Option<Spanned<String>>,
    /// Smart lists, resolved per recipient in this order and de-duplicated against each other.
    #[serde(default)]
    pub lists: IndexMap<String, RawList>,
    pub offer: Option<RawOffer>,
    /// Frequency caps of this campaign, on top of the global caps in xsell.toml.
    pub caps: Option<RawCaps>,
    /// Control group share, e.g. `10%`: chosen by a seeded hash, recorded, never sent.
    #[schemars(with = "Option<String>")]
    pub holdout: Option<Spanned<String>>,
    /// UTM parameters added to every tracked link, e.g. `{ campaign: spring-sale }`.
    #[serde(default)]
    pub utm: BTreeMap<String, String>,
    /// Per-campaign overrides of template components: component name → file in `templates/`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub components: BTreeMap<String, Spanned<String>>,
    /// A/B test: each customer gets one variant, by a seeded hash of (campaign, customer) and the weights.
    #[serde(default)]
    pub variants: Vec<RawVariant>,
    /// How long after a send a purchase counts for `xsell report` (default `7d`).
    #[schemars(with = "Option<String>")]
    pub attribution_window: Option<Spanned<String>>,
}

/// One variant of an A/B test: what it changes from the campaign.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVariant {
    /// Stable key recorded in the ledger, e.g. `a`, `bigger-offer`.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// Relative share of customers (default 1).
    #[schemars(with = "Option<u32>")]
    pub weight: Option<Spanned<u32>>,
    #[schemars(with = "Option<String>")]
    pub subject: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub preheader: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub template: Option<Spanned<String>>,
    /// Lists replaced in this variant, by the name of the campaign's list (same template block).
    #[serde(default)]
    pub lists: IndexMap<String, RawList>,
    /// The offer of this variant, replacing the campaign's.
    pub offer: Option<RawOffer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    Latest,
    All,
    None,
}

/// Who may receive the campaign.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAudience {
    /// Always `marketing`: only customers who opted in to marketing mail are eligible.
    #[schemars(with = "Option<ConsentKind>")]
    pub consent: Option<Spanned<ConsentKind>>,
    /// Only these loyalty tiers.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub tiers: Vec<Spanned<String>>,
    /// Never these tiers.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub exclude_tiers: Vec<Spanned<String>>,
    /// Only customers with at least one of these tags.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub tags: Vec<Spanned<String>>,
    /// Never customers with any of these tags.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub exclude_tags: Vec<Spanned<String>>,
    /// Only these locales (`en-US`, `fr-FR`).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub locales: Vec<Spanned<String>>,
    /// At least this many orders in all.
    pub min_orders: Option<u32>,
    /// At most this many orders in all.
    pub max_orders: Option<u32>,
    /// Ordered within this long before now (e.g. `90d`).
    #[schemars(with = "Option<String>")]
    pub ordered_within: Option<Spanned<String>>,
    /// Did not order within this long before now.
    #[schemars(with = "Option<String>")]
    pub not_ordered_within: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    Marketing,
}

/// The moment that sends a campaign. Which keys apply depends on `kind`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrigger {
    #[schemars(with = "TriggerKind")]
    pub kind: Spanned<TriggerKind>,
    /// How long after the moment it may still be sent (e.g. `48h`).
    #[schemars(with = "Option<String>")]
    pub within: Option<Spanned<String>>,
    /// How long to wait after the moment before sending (cart_abandoned, post_purchase).
    #[schemars(with = "Option<String>")]
    pub delay: Option<Spanned<String>>,
    /// browse: how many views make a moment.
    pub min_views: Option<u32>,
    /// browse: count views per `category` (default) or per `product`.
    pub per: Option<BrowsePer>,
    /// usage_milestone: the metric (`workouts`, `plan_utilisation`).
    #[schemars(with = "Option<String>")]
    pub metric: Option<Spanned<String>>,
    /// usage_milestone: the value to reach (e.g. `20`, `75`).
    pub threshold: Option<f64>,
    /// usage_milestone: `month` or `day` (counted in the customer's time zone), or `total`.
    pub period: Option<Period>,
    /// tier_reached: the tiers that count (default any).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub tiers: Vec<Spanned<String>>,
    /// inactive: no order for this long (e.g. `90d`).
    #[schemars(with = "Option<String>")]
    pub after: Option<Spanned<String>>,
    /// date_window: first day, `MM-DD`.
    #[schemars(with = "Option<String>")]
    pub from: Option<Spanned<String>>,
    /// date_window: last day, `MM-DD` (inclusive).
    #[schemars(with = "Option<String>")]
    pub to: Option<Spanned<String>>,
    /// post_purchase, browse, new_arrival, support_resolved: only these categories.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub categories: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    PostPurchase,
    Browse,
    CartAbandoned,
    SupportResolved,
    UsageMilestone,
    TierReached,
    Inactive,
    SecondVisit,
    NewArrival,
    GiftPurchase,
    DateWindow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BrowsePer {
    Category,
    Product,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Month,
    Total,
}

/// A smart list: where products come from, the guards they must pass, and what to do when too few are found.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawList {
    #[schemars(with = "SourceKind")]
    pub source: Spanned<SourceKind>,
    /// bestsellers, new_arrivals: `catalog`, `most_represented_category`, `visited_category`,
    /// `last_viewed_category`, `trigger_category`, `visited_manufacturer`, or `{ categories: [...] }`
    /// / `{ manufacturers: [...] }`.
    #[schemars(with = "Option<RawScope>")]
    pub scope: Option<Spanned<RawScope>>,
    /// cross_sell, upgrade, ecosystem: `trigger` (the moment's products), `recent_purchases`, or `recent_views`.
    #[schemars(with = "Option<SeedKind>")]
    pub seed: Option<Spanned<SeedKind>>,
    /// How many products (default 3).
    pub limit: Option<u32>,
    /// bestsellers: sales counted over this window (default `90d`); recent_* seeds and visited scopes: look-back.
    #[schemars(with = "Option<String>")]
    pub window: Option<Spanned<String>>,
    /// new_arrivals: launched within this long (default `30d`).
    #[schemars(with = "Option<String>")]
    pub since: Option<Spanned<String>>,
    /// manual: product ids.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub ids: Vec<Spanned<String>>,
    #[serde(default)]
    pub filters: RawFilters,
    /// Lists tried in order when this one finds fewer than `limit` products.
    #[serde(default)]
    pub fallback: Vec<RawFallback>,
    /// When nothing is found after fallbacks: `skip_recipient` (default) or `omit_block`.
    pub on_empty: Option<OnEmpty>,
}

/// A fallback list: like a list, inheriting its `limit` and `filters` unless given.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFallback {
    #[schemars(with = "SourceKind")]
    pub source: Spanned<SourceKind>,
    #[schemars(with = "Option<RawScope>")]
    pub scope: Option<Spanned<RawScope>>,
    #[schemars(with = "Option<SeedKind>")]
    pub seed: Option<Spanned<SeedKind>>,
    #[schemars(with = "Option<String>")]
    pub window: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub since: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub ids: Vec<Spanned<String>>,
    pub filters: Option<RawFilters>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Bestsellers,
    NewArrivals,
    OrderReminders,
    CrossSell,
    SimilarCustomers,
    NextPurchase,
    Auto,
    Upgrade,
    Ecosystem,
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawScope {
    Named(ScopeName),
    Categories { categories: Vec<String> },
    Manufacturers { manufacturers: Vec<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeName {
    Catalog,
    MostRepresentedCategory,
    VisitedCategory,
    LastViewedCategory,
    TriggerCategory,
    VisitedManufacturer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedKind {
    Trigger,
    RecentPurchases,
    RecentViews,
}

/// Guards every product of the list must pass.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFilters {
    /// Only products in stock (default true).
    pub in_stock: Option<bool>,
    /// Leave out what the customer bought: `true` (ever), `false`, or a window like `90d`.
    #[schemars(with = "Option<String>")]
    pub exclude_purchased: Option<Spanned<BoolOrText>>,
    /// Only products rated at least this (0–5); unrated products are left out.
    pub min_rating: Option<f64>,
    /// Price at least this share of the seed product's price (against cannibalisation), e.g. `0.3`.
    pub min_price_ratio: Option<f64>,
    /// At most this many products per category (diversity).
    pub max_per_category: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum BoolOrText {
    Bool(bool),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnEmpty {
    /// Do not mail this recipient (recorded as skipped: empty list).
    SkipRecipient,
    /// Mail without this block.
    OmitBlock,
}

/// A discount shown in the message, with exact prices.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOffer {
    /// Percentage off, e.g. `15`.
    #[schemars(with = "Option<f64>")]
    pub percent_off: Option<Spanned<rust_decimal::Decimal>>,
    /// Fixed amount off, in the customer's currency: a number, or per currency `{ USD: 5, EUR: 5 }`.
    #[schemars(with = "Option<serde_json::Value>")]
    pub amount_off: Option<Spanned<RawAmount>>,
    /// A list name, or `all` (default) for every product in the message.
    #[schemars(with = "Option<String>")]
    pub applies_to: Option<Spanned<String>>,
    /// Minimum order value for the offer, in the customer's currency (number or per currency).
    #[schemars(with = "Option<serde_json::Value>")]
    pub min_order: Option<Spanned<RawAmount>>,
    /// `unique` (an HMAC-derived code per recipient) or a fixed code like `SPRING15`.
    #[schemars(with = "Option<String>")]
    pub code: Option<Spanned<String>>,
    /// Offer validity after sending, e.g. `7d`.
    #[schemars(with = "Option<String>")]
    pub expires_in: Option<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum RawAmount {
    Same(rust_decimal::Decimal),
    PerCurrency(BTreeMap<String, rust_decimal::Decimal>),
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCaps {
    /// At most this many messages of this campaign per customer, e.g. `1/7d`.
    #[schemars(with = "Option<String>")]
    pub per_customer: Option<Spanned<String>>,
    /// At least this long between two messages of this campaign to one customer.
    #[schemars(with = "Option<String>")]
    pub min_gap: Option<Spanned<String>>,
    /// `skip` or `defer` a capped message (default: as in xsell.toml).
    pub on_cap: Option<crate::config::OnCap>,
}
