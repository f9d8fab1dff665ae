//! A campaign after checking: every duration parsed, every reference to a
//! category, product, tier or template known to exist, every default filled
//! in. Downstream code (triggers, lists, offers, rendering, sending) takes
//! only these types.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::TimeDelta;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

pub use super::raw::{
    BrowsePer, CatchUp, OnEmpty, Period, ScopeName, SeedKind, SourceKind, TriggerKind,
};
use crate::config::OnCap;
use crate::units::{Rate, serialize_duration, serialize_optional_duration};

#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// The campaign file, for error messages that point into it.
    #[serde(skip)]
    pub file: CampaignFile,
    /// Template file name, relative to the templates folder.
    pub template: String,
    pub subject: String,
    pub preheader: Option<String>,
    pub audience: Audience,
    pub trigger: Option<Trigger>,
    pub schedule: Option<Schedule>,
    pub lists: Vec<ListSpec>,
    pub offer: Option<OfferSpec>,
    pub caps: CampaignCaps,
    /// Control group share in basis points (1000 = 10%).
    pub holdout_basis_points: u32,
    pub utm: BTreeMap<String, String>,
    /// Component name → template file overriding it for this campaign.
    pub components: BTreeMap<String, String>,
    /// How long after a send a purchase counts for `xsell report`.
    #[serde(serialize_with = "serialize_duration")]
    pub attribution_window: TimeDelta,
    /// The A/B variant this is (None: the campaign as written).
    pub variant: Option<String>,
    /// The campaign's variants, each a whole campaign with its changes applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
}

/// One variant of an A/B test.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub id: String,
    pub weight: u32,
    #[serde(skip)]
    pub campaign: Campaign,
}

impl Campaign {
    /// The campaign as `customer_id` gets it: their variant, or the campaign itself.
    pub fn variant_for(&self, customer_id: &str) -> &Campaign {
        let total: u64 = self.variants.iter().map(|v| u64::from(v.weight)).sum();
        if total == 0 {
            return self;
        }
        let mut bucket = variant_hash(&self.id, customer_id) % total;
        for variant in &self.variants {
            if bucket < u64::from(variant.weight) {
                return &variant.campaign;
            }
            bucket -= u64::from(variant.weight);
        }
        self
    }

    /// A variant by name (None, or a name not in the campaign: the campaign itself).
    pub fn variant_named(&self, name: Option<&str>) -> &Campaign {
        name.and_then(|name| self.variants.iter().find(|v| v.id == name))
            .map_or(self, |v| &v.campaign)
    }

    /// The key of this campaign's compiled templates: one per variant.
    pub fn render_key(&self) -> String {
        match &self.variant {
            Some(variant) => format!("{}~{variant}", self.id),
            None => self.id.clone(),
        }
    }
}

/// A seeded hash of (campaign, customer) for variant assignment, independent
/// of the holdout's.
fn variant_hash(campaign_id: &str, customer_id: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in ["xsell-variant-v1", campaign_id, customer_id] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Where a campaign came from, and where its templated fields are in it.
#[derive(Debug, Clone, Default)]
pub struct CampaignFile {
    /// As shown to users (workspace-relative).
    pub path: PathBuf,
    pub text: Arc<str>,
    pub subject_at: (usize, usize),
    pub preheader_at: (usize, usize),
    pub template_at: (usize, usize),
}

/// Who may receive the campaign. Marketing consent is always required.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Audience {
    pub tiers: Vec<String>,
    pub exclude_tiers: Vec<String>,
    pub tags: Vec<String>,
    pub exclude_tags: Vec<String>,
    pub locales: Vec<String>,
    pub min_orders: Option<u32>,
    pub max_orders: Option<u32>,
    #[serde(serialize_with = "serialize_optional_duration")]
    pub ordered_within: Option<TimeDelta>,
    #[serde(serialize_with = "serialize_optional_duration")]
    pub not_ordered_within: Option<TimeDelta>,
}

/// The moment that sends a campaign, with its window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// An order, from `delay` to `within` after it.
    PostPurchase {
        #[serde(serialize_with = "serialize_duration")]
        within: TimeDelta,
        #[serde(serialize_with = "serialize_duration")]
        delay: TimeDelta,
        categories: Vec<String>,
    },
    /// `min_views` views of one category (or product) within `within`, and no order since.
    Browse {
        min_views: u32,
        per: BrowsePer,
        #[serde(serialize_with = "serialize_duration")]
        within: TimeDelta,
        categories: Vec<String>,
    },
    /// A cart with no later order, `delay` after it, until `within` after it.
    CartAbandoned {
        #[serde(serialize_with = "serialize_duration")]
        delay: TimeDelta,
        #[serde(serialize_with = "serialize_duration")]
        within: TimeDelta,
    },
    SupportResolved {
        #[serde(serialize_with = "serialize_duration")]
        within: TimeDelta,
        categories: Vec<String>,
    },
    /// A usage metric reaching `threshold` in a period (month/day in the customer's time zone).
    UsageMilestone {
        metric: String,
        threshold: f64,
        period: Period,
        #[serde(serialize_with = "serialize_duration")]
        within: TimeDelta,
    },
    TierReached {
        tiers: Vec<String>,
        #[serde(serialize_with = "serialize_duration")]
        within: TimeDelta,
    },
    /// No order for `after`; the moment lasts `within`.
    Inactive {
        #[serde(serialize_with = "serialize_duration")]
        after: TimeDelta,
        #[serde(serialize_with = "serialize_duration")]
        within: TimeDelta,
    },
    /// A customer coming back for a second session.
    SecondVisit {
        #[serde(serialize_with = "serialize_duration")]
        within: TimeDelta,
    },
    /// A product launched in a category the customer engaged with.
    NewArrival {
        #[serde(serialize_with = "serialize_duration")]
        within: TimeDelta,
        categories: Vec<String>,
    },
    GiftPurchase {
        #[serde(serialize_with = "serialize_duration")]
        within: TimeDelta,
    },
    /// A seasonal window of days, `from` to `to` inclusive, in the customer's time zone.
    DateWindow { from: (u32, u32), to: (u32, u32) },
}

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        match self {
            Trigger::PostPurchase { .. } => TriggerKind::PostPurchase,
            Trigger::Browse { .. } => TriggerKind::Browse,
            Trigger::CartAbandoned { .. } => TriggerKind::CartAbandoned,
            Trigger::SupportResolved { .. } => TriggerKind::SupportResolved,
            Trigger::UsageMilestone { .. } => TriggerKind::UsageMilestone,
            Trigger::TierReached { .. } => TriggerKind::TierReached,
            Trigger::Inactive { .. } => TriggerKind::Inactive,
            Trigger::SecondVisit { .. } => TriggerKind::SecondVisit,
            Trigger::NewArrival { .. } => TriggerKind::NewArrival,
            Trigger::GiftPurchase { .. } => TriggerKind::GiftPurchase,
            Trigger::DateWindow { .. } => TriggerKind::DateWindow,
        }
    }
}

impl TriggerKind {
    /// Whether the moment is about products (so lists may seed from it and scope to its category).
    pub fn has_products(self) -> bool {
        matches!(
            self,
            TriggerKind::PostPurchase
                | TriggerKind::Browse
                | TriggerKind::CartAbandoned
                | TriggerKind::SupportResolved
                | TriggerKind::NewArrival
                | TriggerKind::GiftPurchase
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            TriggerKind::PostPurchase => "post_purchase",
            TriggerKind::Browse => "browse",
            TriggerKind::CartAbandoned => "cart_abandoned",
            TriggerKind::SupportResolved => "support_resolved",
            TriggerKind::UsageMilestone => "usage_milestone",
            TriggerKind::TierReached => "tier_reached",
            TriggerKind::Inactive => "inactive",
            TriggerKind::SecondVisit => "second_visit",
            TriggerKind::NewArrival => "new_arrival",
            TriggerKind::GiftPurchase => "gift_purchase",
            TriggerKind::DateWindow => "date_window",
        }
    }
}

/// When `xsell run` sends or evaluates the campaign.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    #[serde(rename = "cron")]
    pub text: String,
    #[serde(skip)]
    pub cron: croner::Cron,
    #[serde(serialize_with = "serialize_tz")]
    pub timezone: Tz,
    pub catch_up: CatchUp,
    /// A newsletter run later than this after its due time is skipped.
    #[serde(serialize_with = "serialize_optional_duration")]
    pub max_lateness: Option<TimeDelta>,
}

fn serialize_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// A smart list: a source, its guards and fallbacks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListSpec {
    pub name: String,
    pub limit: usize,
    pub primary: Pick,
    /// Tried in order while fewer than `limit` products are found.
    pub fallback: Vec<Pick>,
    pub on_empty: OnEmpty,
}

/// One source of products and the guards they pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pick {
    pub source: Source,
    pub filters: Filters,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// Most sold in the scope over `window`.
    Bestsellers {
        scope: Scope,
        #[serde(serialize_with = "serialize_duration")]
        window: TimeDelta,
    },
    /// Launched within `since`, in the scope.
    NewArrivals {
        scope: Scope,
        #[serde(serialize_with = "serialize_duration")]
        since: TimeDelta,
    },
    /// Products the customer bought whose usual reorder interval has passed.
    OrderReminders,
    /// Complements of the seed products (co-purchased).
    CrossSell {
        seed: Seed,
    },
    /// Bought by customers with similar histories.
    SimilarCustomers,
    /// What the customer's purchases predict they buy next (a model learnt
    /// from every customer's purchases jointly).
    NextPurchase,
    /// The source that did best on the shop's own recent history (chosen
    /// when the models are built; see `recommend/auto.rs`).
    Auto,
    /// Same family or category, higher level.
    Upgrade {
        seed: Seed,
    },
    /// Same family as something owned, not yet owned.
    Ecosystem {
        seed: Seed,
    },
    Manual {
        ids: Vec<String>,
    },
}

impl Source {
    /// Whether the source reads the customer's own past (purchases, views):
    /// for an anonymous visitor it finds nothing.
    pub fn needs_history(&self) -> bool {
        match self {
            Source::Bestsellers { scope, .. } | Source::NewArrivals { scope, .. } => !matches!(
                scope,
                Scope::Catalog
                    | Scope::Categories { .. }
                    | Scope::Manufacturers { .. }
                    | Scope::TriggerCategory
            ),
            Source::CrossSell { seed } | Source::Upgrade { seed } | Source::Ecosystem { seed } => {
                !matches!(seed, Seed::Trigger)
            }
            Source::OrderReminders
            | Source::SimilarCustomers
            | Source::NextPurchase
            | Source::Auto => true,
            Source::Manual { .. } => false,
        }
    }

    pub fn kind(&self) -> SourceKind {
        match self {
            Source::Bestsellers { .. } => SourceKind::Bestsellers,
            Source::NewArrivals { .. } => SourceKind::NewArrivals,
            Source::OrderReminders => SourceKind::OrderReminders,
            Source::CrossSell { .. } => SourceKind::CrossSell,
            Source::SimilarCustomers => SourceKind::SimilarCustomers,
            Source::NextPurchase => SourceKind::NextPurchase,
            Source::Auto => SourceKind::Auto,
            Source::Upgrade { .. } => SourceKind::Upgrade,
            Source::Ecosystem { .. } => SourceKind::Ecosystem,
            Source::Manual { .. } => SourceKind::Manual,
        }
    }
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Bestsellers => "bestsellers",
            SourceKind::NewArrivals => "new_arrivals",
            SourceKind::OrderReminders => "order_reminders",
            SourceKind::CrossSell => "cross_sell",
            SourceKind::SimilarCustomers => "similar_customers",
            SourceKind::NextPurchase => "next_purchase",
            SourceKind::Auto => "auto",
            SourceKind::Upgrade => "upgrade",
            SourceKind::Ecosystem => "ecosystem",
            SourceKind::Manual => "manual",
        }
    }
}

/// Which products a bestsellers or new-arrivals list draws from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Scope {
    Catalog,
    Categories {
        categories: Vec<String>,
    },
    Manufacturers {
        manufacturers: Vec<String>,
    },
    /// The category the customer bought most in.
    MostRepresentedCategory,
    /// Any category the customer viewed within `window`.
    VisitedCategory {
        #[serde(serialize_with = "serialize_duration")]
        window: TimeDelta,
    },
    LastViewedCategory,
    /// The category of the moment's product.
    TriggerCategory,
    /// Any manufacturer the customer viewed within `window`.
    VisitedManufacturer {
        #[serde(serialize_with = "serialize_duration")]
        window: TimeDelta,
    },
}

/// The products a cross-sell, upgrade or ecosystem list starts from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "seed", rename_all = "snake_case")]
pub enum Seed {
    /// The moment's products (the order's items, the cart, the viewed product…).
    Trigger,
    RecentPurchases {
        #[serde(serialize_with = "serialize_duration")]
        window: TimeDelta,
    },
    RecentViews {
        #[serde(serialize_with = "serialize_duration")]
        window: TimeDelta,
    },
}

/// Guards every picked product must pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filters {
    pub in_stock: bool,
    pub exclude_purchased: ExcludePurchased,
    pub min_rating: Option<f32>,
    /// Price at least this share of the most expensive seed product.
    pub min_price_ratio: Option<Decimal>,
    pub max_per_category: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExcludePurchased {
    Never,
    Ever,
    #[serde(serialize_with = "serialize_duration")]
    Within(TimeDelta),
}

/// A discount shown in the message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferSpec {
    pub discount: Discount,
    pub applies_to: AppliesTo,
    pub min_order: Option<Amount>,
    pub code: CodeSpec,
    #[serde(serialize_with = "serialize_optional_duration")]
    pub expires_in: Option<TimeDelta>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    /// Percent off, e.g. 15 for 15%.
    PercentOff(Decimal),
    AmountOff(Amount),
}

/// A money amount in the customer's currency: the same number everywhere, or per currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Amount {
    Same(Decimal),
    PerCurrency(BTreeMap<String, Decimal>),
}

impl Amount {
    /// The amount for a currency, if the offer defines one for it.
    pub fn in_currency(&self, currency: &str) -> Option<Decimal> {
        match self {
            Amount::Same(amount) => Some(*amount),
            Amount::PerCurrency(amounts) => amounts.get(currency).copied(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    All,
    List(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSpec {
    /// No code: the discount applies by itself (e.g. through the link).
    None,
    Fixed(String),
    /// A per-recipient code derived with an HMAC, verifiable later.
    Unique,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CampaignCaps {
    pub per_customer: Option<Rate>,
    #[serde(serialize_with = "serialize_optional_duration")]
    pub min_gap: Option<TimeDelta>,
    pub on_cap: Option<OnCap>,
}
