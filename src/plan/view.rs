//! A plan as people read it: customers, moments, lists with each product's
//! price and reason, offers and skip reasons in words. `xsell plan`,
//! `xsell preview` and the preview server show the same views.

use serde::Serialize;

use crate::calendar::rfc3339;
use crate::campaign::{AppliesTo, Campaign, CodeSpec, Discount, OnEmpty, Trigger};
use crate::data::{Customer, Store};
use crate::money;
use crate::offer::{PricedOffer, price_view};
use crate::plan::{PlannedMessage, SkipReason};
use crate::trigger::{Detail, Occurrence};
use crate::units::format_duration;

#[derive(Serialize)]
pub struct CustomerView {
    pub id: String,
    pub first_name: String,
    pub email: String,
    pub locale: String,
    pub timezone: String,
    pub currency: String,
}

#[derive(Serialize)]
pub struct MomentView {
    pub key: String,
    pub at: String,
    pub products: Vec<String>,
    pub category: Option<String>,
    pub order: Option<String>,
    pub detail: Detail,
}

#[derive(Serialize)]
pub struct PlannedView {
    pub customer: CustomerView,
    pub moment: MomentView,
    pub lists: Vec<ListView>,
    pub offer: Option<OfferView>,
    /// The A/B variant shown, when the campaign has variants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Serialize)]
pub struct ListView {
    pub name: String,
    pub on_empty: OnEmpty,
    pub products: Vec<ProductView>,
}

#[derive(Serialize)]
pub struct ProductView {
    pub id: String,
    pub name: String,
    pub source: &'static str,
    pub reason: String,
    /// `$24.00`, or `$24.00 → $20.40` when the offer applies; empty when not sold in the currency.
    pub price: String,
}

#[derive(Serialize)]
pub struct OfferView {
    pub headline: String,
    pub applies_to: String,
    pub min_order: Option<String>,
    pub code: Option<String>,
    pub expires_at: Option<String>,
    /// The last day, as the customer reads it.
    pub expires_on: Option<String>,
}

pub fn customer_view(store: &Store, customer: &Customer) -> CustomerView {
    CustomerView {
        id: customer.id.to_string(),
        first_name: customer.first_name.to_string(),
        email: customer.email.to_string(),
        locale: store.locales().name(customer.locale).to_string(),
        timezone: customer.timezone.name().to_string(),
        currency: customer.currency.to_string(),
    }
}

pub fn moment_view(store: &Store, occurrence: &Occurrence) -> MomentView {
    MomentView {
        key: occurrence.key.clone(),
        at: rfc3339(occurrence.at),
        products: occurrence
            .products
            .iter()
            .map(|p| store.product(*p).id.to_string())
            .collect(),
        category: occurrence
            .category
            .map(|c| store.categories().name(c).to_string()),
        order: occurrence.order.map(|o| store.order(o).id.to_string()),
        detail: occurrence.detail.clone(),
    }
}

pub fn describe_moment(moment: &MomentView) -> String {
    let mut text = format!("{} at {}", moment.key, moment.at);
    match &moment.detail {
        Detail::None => {}
        Detail::Views { count } => text.push_str(&format!(" · {count} views")),
        Detail::Metric {
            name,
            value,
            threshold,
        } => text.push_str(&format!(" · {name} {value} (threshold {threshold})")),
        Detail::Tier { tier } => text.push_str(&format!(" · now {tier}")),
        Detail::Inactive { days } => text.push_str(&format!(" · {days} days since the last order")),
    }
    if !moment.products.is_empty() {
        text.push_str(&format!(" · about {}", moment.products.join(", ")));
    }
    text
}

pub fn planned_view(store: &Store, message: &PlannedMessage) -> PlannedView {
    let customer = store.customer(message.occurrence.customer);
    let locale = store.locales().name(customer.locale);
    let offer = message.offer.as_ref();
    PlannedView {
        customer: customer_view(store, customer),
        moment: moment_view(store, &message.occurrence),
        lists: message
            .lists
            .iter()
            .map(|list| ListView {
                name: list.name.clone(),
                on_empty: list.on_empty,
                products: list
                    .items
                    .iter()
                    .map(|item| {
                        let product = store.product(item.product);
                        let price = price_view(product, customer.currency, offer, &list.name)
                            .map(|view| {
                                let original = money::format(view.original, view.currency, locale);
                                match view.discounted {
                                    Some(discounted) => format!(
                                        "{original} → {}",
                                        money::format(discounted, view.currency, locale)
                                    ),
                                    None => original,
                                }
                            })
                            .unwrap_or_default();
                        ProductView {
                            id: product.id.to_string(),
                            name: product.name.to_string(),
                            source: item.source.name(),
                            reason: item.reason.clone(),
                            price,
                        }
                    })
                    .collect(),
            })
            .collect(),
        offer: offer.map(|o| offer_view(o, customer, locale)),
        variant: message.variant.clone(),
    }
}

/// `$10.00 / €10.00 / £8.00`, or `10 (in each customer's currency)`.
pub fn describe_amount(amount: &crate::campaign::Amount) -> String {
    match amount {
        crate::campaign::Amount::Same(value) => {
            format!("{} (in each customer's currency)", value.normalize())
        }
        crate::campaign::Amount::PerCurrency(amounts) => amounts
            .iter()
            .map(|(code, value)| match crate::data::Currency::parse(code) {
                Some(currency) => money::format(*value, currency, "en"),
                None => format!("{value} {code}"),
            })
            .collect::<Vec<_>>()
            .join(" / "),
    }
}

pub fn applies_to(applies: &AppliesTo) -> String {
    match applies {
        AppliesTo::All => "on everything".to_string(),
        AppliesTo::List(list) => format!("on {list}"),
    }
}

pub fn offer_view(offer: &PricedOffer, customer: &Customer, locale: &str) -> OfferView {
    OfferView {
        headline: offer.headline(locale),
        applies_to: applies_to(&offer.applies_to),
        min_order: offer
            .min_order
            .map(|m| money::format(m, offer.currency, locale)),
        code: offer.code.clone(),
        expires_at: offer.expires_at.map(rfc3339),
        expires_on: offer.expiry_date(customer.timezone, locale),
    }
}

pub fn describe_reason(campaign: &Campaign, reason: &SkipReason) -> String {
    use crate::config::OnCap;
    match reason {
        SkipReason::NotInAudience { miss } => miss.to_string(),
        SkipReason::Suppressed { suppression } => format!(
            "suppressed: {} since {}",
            suppression.reason.name(),
            rfc3339(suppression.since)
        ),
        SkipReason::HeldOut => format!(
            "held out (control group of {}%)",
            rust_decimal::Decimal::new(campaign.holdout_basis_points.into(), 2).normalize()
        ),
        SkipReason::AlreadyHandled { handled } => format!(
            "already {} for this moment at {}",
            handled.outcome.name(),
            rfc3339(handled.at)
        ),
        SkipReason::Capped {
            cap,
            allowed_at,
            on_cap,
        } => match (on_cap, allowed_at) {
            (OnCap::Defer, Some(at)) => format!("{cap}: deferred until {}", rfc3339(*at)),
            (OnCap::Skip, Some(at)) => {
                format!("{cap}: skipped (next allowed {})", rfc3339(*at))
            }
            (_, None) => format!("{cap}: never allowed"),
        },
        SkipReason::EmptyList { list } => {
            format!("list {list} is empty (on_empty: skip_recipient)")
        }
        SkipReason::Offer { problem } => problem.to_string(),
        SkipReason::NotPriced {
            currency,
            product: None,
        } => format!("no product in the catalog has a price in {currency}"),
        SkipReason::NotPriced {
            currency,
            product: Some(product),
        } => format!("{product} (the moment's product) has no price in {currency}"),
    }
}

pub fn describe_trigger(campaign: &Campaign) -> String {
    let d = |delta: &chrono::TimeDelta| format_duration(*delta);
    let only = |categories: &[String]| {
        if categories.is_empty() {
            String::new()
        } else {
            format!(" in {}", categories.join(", "))
        }
    };
    let holdout = if campaign.holdout_basis_points > 0 {
        format!(
            " · holdout {}%",
            rust_decimal::Decimal::new(campaign.holdout_basis_points.into(), 2).normalize()
        )
    } else {
        String::new()
    };
    let trigger = match &campaign.trigger {
        None => match &campaign.schedule {
            Some(schedule) => format!(
                "none: a newsletter to the audience, one per run of \"{}\" ({})",
                schedule.text,
                schedule.timezone.name()
            ),
            None => "none: a one-off newsletter to the audience".to_string(),
        },
        Some(trigger) => match trigger {
            Trigger::PostPurchase {
                within,
                delay,
                categories,
            } => format!(
                "post_purchase{}: from {} to {} after an order",
                only(categories),
                d(delay),
                d(within)
            ),
            Trigger::Browse {
                min_views,
                per,
                within,
                categories,
            } => format!(
                "browse{}: {min_views}+ views of a {} within {}, no order since",
                only(categories),
                match per {
                    crate::campaign::BrowsePer::Category => "category",
                    crate::campaign::BrowsePer::Product => "product",
                },
                d(within)
            ),
            Trigger::CartAbandoned { delay, within } => format!(
                "cart_abandoned: from {} to {} after a cart with no order since",
                d(delay),
                d(within)
            ),
            Trigger::SupportResolved { within, categories } => format!(
                "support_resolved{}: within {} of a resolved ticket",
                only(categories),
                d(within)
            ),
            Trigger::UsageMilestone {
                metric,
                threshold,
                period,
                within,
            } => format!(
                "usage_milestone: {metric} reaches {threshold} in a {} (customer's time zone), within {}",
                match period {
                    crate::campaign::Period::Day => "day",
                    crate::campaign::Period::Month => "month",
                    crate::campaign::Period::Total => "lifetime",
                },
                d(within)
            ),
            Trigger::TierReached { tiers, within } => format!(
                "tier_reached{}: within {} of the change",
                if tiers.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", tiers.join(", "))
                },
                d(within)
            ),
            Trigger::Inactive { after, within } => format!(
                "inactive: no order for {}, for {} after that",
                d(after),
                d(within)
            ),
            Trigger::SecondVisit { within } => {
                format!("second_visit: within {} of the second visit", d(within))
            }
            Trigger::NewArrival { within, categories } => format!(
                "new_arrival{}: launched within {} in a category the customer engaged with",
                only(categories),
                d(within)
            ),
            Trigger::GiftPurchase { within } => {
                format!("gift_purchase: within {} of a gift order", d(within))
            }
            Trigger::DateWindow { from, to } => format!(
                "date_window: {:02}-{:02} to {:02}-{:02} in each customer's calendar",
                from.0, from.1, to.0, to.1
            ),
        },
    };
    format!("{trigger}{holdout}")
}

/// The campaign's offer in one line: "15% off on moisturisers on orders from
/// $30.00, a unique code per recipient, expires in 7d".
pub fn describe_offer(campaign: &Campaign) -> Option<String> {
    let o = campaign.offer.as_ref()?;
    let discount = match &o.discount {
        Discount::PercentOff(p) => format!("{}% off", p.normalize()),
        Discount::AmountOff(amount) => format!("{} off", describe_amount(amount)),
    };
    let code = match &o.code {
        CodeSpec::None => "no code".to_string(),
        CodeSpec::Fixed(code) => format!("code {code}"),
        CodeSpec::Unique => "a unique code per recipient".to_string(),
    };
    let expiry = o
        .expires_in
        .map(|d| format!(", expires in {}", format_duration(d)))
        .unwrap_or_default();
    let minimum = o
        .min_order
        .as_ref()
        .map(|m| format!(" on orders from {}", describe_amount(m)))
        .unwrap_or_default();
    Some(format!(
        "{discount} {}{minimum}, {code}{expiry}",
        applies_to(&o.applies_to)
    ))
}

/// A planned message as indented lines: the moment, each list with its
/// products (price and reason), the offer.
pub fn message_lines(message: &PlannedView) -> Vec<String> {
    let mut lines = vec![format!("    moment {}", describe_moment(&message.moment))];
    if let Some(variant) = &message.variant {
        lines.push(format!("    variant {variant}"));
    }
    for list in &message.lists {
        if list.products.is_empty() {
            lines.push(format!("    {}: empty, block left out", list.name));
            continue;
        }
        lines.push(format!("    {}:", list.name));
        for p in &list.products {
            lines.push(format!(
                "      {} {} — {} — {}: {}",
                p.id, p.name, p.price, p.source, p.reason
            ));
        }
    }
    if let Some(offer) = &message.offer {
        let mut text = format!("    offer {} {}", offer.headline, offer.applies_to);
        if let Some(min) = &offer.min_order {
            text.push_str(&format!(" on orders from {min}"));
        }
        if let Some(code) = &offer.code {
            text.push_str(&format!(" · code {code}"));
        }
        if let Some(day) = &offer.expires_on {
            text.push_str(&format!(" · until {day}"));
        }
        lines.push(text);
    }
    lines
}
