//! Offers: a campaign's discount made concrete for one recipient — the
//! amount in their currency, the code, the expiry — and the exact prices of
//! each product it applies to.
//!
//! An offer that `expires_in: 7d` ends at the close of the customer's local
//! day seven days after the send, so "valid until 23 November 2026" holds
//! for all of that day where they live. Amounts follow [`crate::money`]'s
//! one rounding rule.

pub mod code;

use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::calendar;
use crate::campaign::{AppliesTo, CodeSpec, Discount, OfferSpec};
use crate::data::{Currency, Customer, Product};
use crate::money;
use crate::signing::SigningKey;

/// The offer for one recipient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PricedOffer {
    /// Percent off (e.g. 15), when the offer is a percentage.
    pub percent: Option<Decimal>,
    /// Amount off in the recipient's currency, when the offer is an amount.
    pub amount: Option<Decimal>,
    pub currency: Currency,
    pub applies_to: AppliesTo,
    pub min_order: Option<Decimal>,
    /// The code to type at checkout, if the offer has one.
    pub code: Option<String>,
    /// Unix seconds when the offer ends.
    pub expires_at: Option<i64>,
}

/// A product's price for one recipient: original and, when the offer applies, discounted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceView {
    pub currency: Currency,
    pub original: Decimal,
    /// `None` when no offer applies to this product.
    pub discounted: Option<Decimal>,
    /// `original - discounted`, zero without a discount.
    pub saving: Decimal,
}

impl PricedOffer {
    /// Whether the offer applies to products of the list `list`.
    pub fn applies_to_list(&self, list: &str) -> bool {
        match &self.applies_to {
            AppliesTo::All => true,
            AppliesTo::List(name) => name == list,
        }
    }

    /// The discounted price of `price` (in the offer's currency); `None`
    /// when the amounts overflow (never for amounts the loader accepts).
    pub fn discount(&self, price: Decimal) -> Option<Decimal> {
        match (self.percent, self.amount) {
            (Some(percent), _) => money::percent_off(price, percent, self.currency),
            (None, Some(amount)) => money::amount_off(price, amount, self.currency),
            (None, None) => Some(money::round(price, self.currency)),
        }
    }

    /// The discount in words, for plans: `15% off`, `$10.00 off`.
    pub fn headline(&self, locale: &str) -> String {
        match (self.percent, self.amount) {
            (Some(percent), _) => format!("{}% off", percent.normalize()),
            (None, Some(amount)) => format!("{} off", money::format(amount, self.currency, locale)),
            (None, None) => "no discount".to_string(),
        }
    }

    /// The last day of the offer, in the customer's calendar and words.
    pub fn expiry_date(&self, tz: Tz, locale: &str) -> Option<String> {
        self.expires_at
            .map(|at| calendar::format_local_date(at, tz, locale))
    }

    /// Whether an order of `total` (in the offer's currency) qualifies.
    pub fn qualifies(&self, total: Decimal) -> bool {
        self.min_order.is_none_or(|min| total >= min)
    }

    /// Builds the offer's amounts for a recipient paying in `currency`;
    /// `None` when an amount offer has no amount for that currency.
    pub fn amounts(
        discount: &Discount,
        currency: Currency,
    ) -> Option<(Option<Decimal>, Option<Decimal>)> {
        match discount {
            Discount::PercentOff(percent) => Some((Some(*percent), None)),
            Discount::AmountOff(amount) => {
                amount.in_currency(currency.code()).map(|a| (None, Some(a)))
            }
        }
    }
}

/// Why a campaign's offer cannot be made to a recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum OfferProblem {
    /// `amount_off` has no amount in the recipient's currency.
    NoAmount { currency: Currency },
    /// `min_order` has no amount in the recipient's currency.
    NoMinOrder { currency: Currency },
}

impl std::fmt::Display for OfferProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OfferProblem::NoAmount { currency } => {
                write!(f, "the offer's amount_off has no amount in {currency}")
            }
            OfferProblem::NoMinOrder { currency } => {
                write!(f, "the offer's min_order has no amount in {currency}")
            }
        }
    }
}

/// Who an offer is for and when it is made: what the code and expiry depend on.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub campaign_id: &'a str,
    pub customer: &'a Customer,
    /// The occurrence's stable key: one code per moment.
    pub occurrence_key: &'a str,
    /// When the message is sent (Unix seconds).
    pub now: i64,
}

/// The campaign's offer made concrete for one recipient: amounts in their
/// currency, their code, the absolute expiry.
pub fn price_offer(
    spec: &OfferSpec,
    recipient: Recipient<'_>,
    key: &SigningKey,
) -> Result<PricedOffer, OfferProblem> {
    let customer = recipient.customer;
    let currency = customer.currency;
    let (percent, amount) = PricedOffer::amounts(&spec.discount, currency)
        .ok_or(OfferProblem::NoAmount { currency })?;
    let min_order = match &spec.min_order {
        None => None,
        Some(min) => Some(money::round(
            min.in_currency(currency.code())
                .ok_or(OfferProblem::NoMinOrder { currency })?,
            currency,
        )),
    };
    let code = match &spec.code {
        CodeSpec::None => None,
        CodeSpec::Fixed(code) => Some(code.clone()),
        CodeSpec::Unique => Some(code::unique_code(
            key,
            recipient.campaign_id,
            &customer.id,
            recipient.occurrence_key,
        )),
    };
    let expires_at = spec.expires_in.map(|expires_in| {
        let last_day = calendar::local_date(
            recipient.now.saturating_add(expires_in.num_seconds()),
            customer.timezone,
        );
        calendar::end_of_day(last_day, customer.timezone)
    });
    Ok(PricedOffer {
        percent,
        amount: amount.map(|a| money::round(a, currency)),
        currency,
        applies_to: spec.applies_to.clone(),
        min_order,
        code,
        expires_at,
    })
}

/// The price of `product` for a recipient paying in `currency`, with the
/// offer applied when it covers `list`. `None` when the product has no price
/// in that currency (it is then not shown to this recipient), or when its
/// discount overflows (the loader refuses amounts that could).
///
/// Only a percentage is taken off each product. An amount (`amount_off: 10`)
/// comes off the order at checkout — once, when `min_order` is met — so
/// products show their undiscounted price and the message states the amount.
pub fn price_view(
    product: &Product,
    currency: Currency,
    offer: Option<&PricedOffer>,
    list: &str,
) -> Option<PriceView> {
    let original = money::round(product.price_in(currency)?, currency);
    let discounted = match offer
        .filter(|o| o.percent.is_some() && o.applies_to_list(list) && o.currency == currency)
    {
        Some(offer) => Some(offer.discount(original)?),
        None => None,
    };
    Some(PriceView {
        currency,
        original,
        discounted,
        saving: match discounted {
            Some(discounted) => original.checked_sub(discounted)?,
            None => Decimal::ZERO,
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{DateTime, TimeDelta};

    use super::*;
    use crate::campaign::Amount;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp()
    }

    fn customer(id: &str, timezone: Tz, currency: &str) -> Customer {
        Customer {
            id: id.into(),
            email: format!("{id}@example.com").into(),
            first_name: "Ana".into(),
            locale: 0,
            timezone,
            tier: 0,
            consent: true,
            created_at: 0,
            tags: Box::new([]),
            currency: c(currency),
        }
    }

    fn product(price: &str, currency: &str, others: &[(&str, &str)]) -> Product {
        Product {
            id: "P1".into(),
            name: "Gentle Body Soap".into(),
            category: 0,
            manufacturer: 0,
            price: d(price),
            currency: c(currency),
            other_prices: others.iter().map(|(code, p)| (c(code), d(p))).collect(),
            rating: None,
            rating_count: 0,
            stock: 1,
            created_at: 0,
            url: "".into(),
            image_url: "".into(),
            family: None,
            level: None,
            compare_at_price: None,
        }
    }

    fn spec(discount: Discount, code: CodeSpec) -> OfferSpec {
        OfferSpec {
            discount,
            applies_to: AppliesTo::List("complete".into()),
            min_order: None,
            code,
            expires_in: Some(TimeDelta::days(7)),
        }
    }

    fn recipient<'a>(customer: &'a Customer, now: &str) -> Recipient<'a> {
        Recipient {
            campaign_id: "post-purchase-completion",
            customer,
            occurrence_key: "order:O1",
            now: at(now),
        }
    }

    const NOW: &str = "2026-11-16T09:00:00Z";

    fn formatted(view: &PriceView, locale: &str) -> (String, String, String) {
        let f = |amount| money::format(amount, view.currency, locale);
        (
            f(view.original),
            f(view.discounted.unwrap()),
            f(view.saving),
        )
    }

    #[test]
    fn fifteen_percent_off_the_issue_examples() {
        let key = SigningKey::new("k");
        let ana = customer("C1", Tz::America__New_York, "USD");
        let offer = price_offer(
            &spec(Discount::PercentOff(d("15")), CodeSpec::None),
            recipient(&ana, NOW),
            &key,
        )
        .unwrap();
        let twenty = price_view(
            &product("20.00", "USD", &[]),
            c("USD"),
            Some(&offer),
            "complete",
        )
        .unwrap();
        assert_eq!(
            formatted(&twenty, "en-US"),
            ("$20.00".into(), "$17.00".into(), "$3.00".into())
        );
        let twenty_four = price_view(
            &product("24.00", "USD", &[]),
            c("USD"),
            Some(&offer),
            "complete",
        )
        .unwrap();
        assert_eq!(
            formatted(&twenty_four, "en-US"),
            ("$24.00".into(), "$20.40".into(), "$3.60".into())
        );
        let paul = customer("C2", Tz::Europe__Paris, "EUR");
        let offer = price_offer(
            &spec(Discount::PercentOff(d("15")), CodeSpec::None),
            recipient(&paul, NOW),
            &key,
        )
        .unwrap();
        let euros = price_view(
            &product("29.00", "USD", &[("EUR", "24.00")]),
            c("EUR"),
            Some(&offer),
            "complete",
        )
        .unwrap();
        assert_eq!(
            formatted(&euros, "fr-FR"),
            (
                "24,00\u{a0}€".into(),
                "20,40\u{a0}€".into(),
                "3,60\u{a0}€".into()
            )
        );
        assert_eq!(offer.headline("fr-FR"), "15% off");
    }

    #[test]
    fn the_offer_only_prices_its_list_and_currency() {
        let ana = customer("C1", Tz::America__New_York, "USD");
        let offer = price_offer(
            &spec(Discount::PercentOff(d("15")), CodeSpec::None),
            recipient(&ana, NOW),
            &SigningKey::new("k"),
        )
        .unwrap();
        let soap = product("20.00", "USD", &[]);
        let other_list = price_view(&soap, c("USD"), Some(&offer), "picks").unwrap();
        assert_eq!((other_list.discounted, other_list.saving), (None, d("0")));
        assert_eq!(
            price_view(&soap, c("EUR"), Some(&offer), "complete"),
            None,
            "no EUR price"
        );
    }

    #[test]
    fn amount_off_per_currency_with_a_minimum_order() {
        let mut amounts = BTreeMap::new();
        amounts.insert("USD".to_string(), d("10"));
        amounts.insert("GBP".to_string(), d("8"));
        amounts.insert("JPY".to_string(), d("1500"));
        let mut minimum = amounts.clone();
        minimum.insert("USD".to_string(), d("50"));
        minimum.insert("GBP".to_string(), d("40"));
        minimum.insert("JPY".to_string(), d("7000"));
        let mut offer_spec = spec(
            Discount::AmountOff(Amount::PerCurrency(amounts)),
            CodeSpec::Fixed("THANKS".into()),
        );
        offer_spec.min_order = Some(Amount::PerCurrency(minimum));
        offer_spec.applies_to = AppliesTo::All;
        let key = SigningKey::new("k");

        let gbp = customer("C3", Tz::Europe__London, "GBP");
        let offer = price_offer(&offer_spec, recipient(&gbp, NOW), &key).unwrap();
        assert_eq!(offer.amount.unwrap().to_string(), "8.00");
        assert_eq!(offer.min_order.unwrap().to_string(), "40.00");
        assert_eq!(offer.code.as_deref(), Some("THANKS"));
        assert_eq!(offer.headline("en-GB"), "£8.00 off");
        assert!(offer.qualifies(d("40.00")) && !offer.qualifies(d("39.99")));
        // An amount comes off the order, not off each product; never below zero.
        let soap = product("9", "USD", &[("GBP", "6.99")]);
        let view = price_view(&soap, c("GBP"), Some(&offer), "any").unwrap();
        assert_eq!(
            (view.original, view.discounted, view.saving),
            (d("6.99"), None, d("0"))
        );
        assert_eq!(offer.discount(d("6.99")).unwrap().to_string(), "0.00");
        assert_eq!(offer.discount(d("40.00")).unwrap().to_string(), "32.00");

        let yen = customer("C4", Tz::Asia__Tokyo, "JPY");
        let offer = price_offer(&offer_spec, recipient(&yen, NOW), &key).unwrap();
        assert_eq!(offer.discount(d("7980")).unwrap().to_string(), "6480");
        assert_eq!(offer.min_order.unwrap().to_string(), "7000");
        assert_eq!(offer.headline("ja-JP"), "￥1,500 off");

        let euro = customer("C5", Tz::Europe__Paris, "EUR");
        assert_eq!(
            price_offer(&offer_spec, recipient(&euro, NOW), &key),
            Err(OfferProblem::NoAmount { currency: c("EUR") })
        );
        offer_spec.discount = Discount::AmountOff(Amount::Same(d("5")));
        assert_eq!(
            price_offer(&offer_spec, recipient(&euro, NOW), &key)
                .unwrap_err()
                .to_string(),
            "the offer's min_order has no amount in EUR"
        );
    }

    #[test]
    fn yen_percent_off_rounds_to_whole_yen() {
        let yen = customer("C4", Tz::Asia__Tokyo, "JPY");
        let offer = price_offer(
            &spec(Discount::PercentOff(d("15")), CodeSpec::None),
            recipient(&yen, NOW),
            &SigningKey::new("k"),
        )
        .unwrap();
        // 1,990 × 0.85 = 1,691.5 → 1,692 (half up); the saving is what is left: 298.
        let view = price_view(
            &product("20", "USD", &[("JPY", "1990")]),
            c("JPY"),
            Some(&offer),
            "complete",
        )
        .unwrap();
        assert_eq!(
            formatted(&view, "ja-JP"),
            ("￥1,990".into(), "￥1,692".into(), "￥298".into())
        );
        assert_eq!(view.original + view.saving - view.saving, view.original);
        assert_eq!(view.discounted.unwrap() + view.saving, view.original);
    }

    #[test]
    fn expiry_is_the_end_of_the_customer_day() {
        let key = SigningKey::new("k");
        // 09:00 UTC on the 16th is 01:00 in Los Angeles: seven days later is the 23rd there.
        let lea = customer("C6", Tz::America__Los_Angeles, "USD");
        let offer = price_offer(
            &spec(Discount::PercentOff(d("15")), CodeSpec::None),
            recipient(&lea, NOW),
            &key,
        )
        .unwrap();
        assert_eq!(offer.expires_at, Some(at("2026-11-24T07:59:59Z")));
        assert_eq!(
            offer
                .expiry_date(Tz::America__Los_Angeles, "en-US")
                .as_deref(),
            Some("November 23, 2026")
        );
        // Tokyo is already on the 16th at 18:00; seven days later is the 23rd, ending 15:00 UTC.
        let yen = customer("C4", Tz::Asia__Tokyo, "JPY");
        let offer = price_offer(
            &spec(Discount::PercentOff(d("15")), CodeSpec::None),
            recipient(&yen, NOW),
            &key,
        )
        .unwrap();
        assert_eq!(offer.expires_at, Some(at("2026-11-23T14:59:59Z")));
        let paul = customer("C2", Tz::Europe__Paris, "EUR");
        let offer = price_offer(
            &spec(Discount::PercentOff(d("15")), CodeSpec::None),
            recipient(&paul, NOW),
            &key,
        )
        .unwrap();
        assert_eq!(
            offer.expiry_date(Tz::Europe__Paris, "fr-FR").as_deref(),
            Some("23 novembre 2026")
        );
        assert_eq!(
            offer.expiry_date(Tz::Europe__Paris, "en-GB").as_deref(),
            Some("23 November 2026")
        );
    }

    #[test]
    fn unique_codes_per_recipient_and_moment() {
        let key = SigningKey::new("k");
        let ana = customer("C1", Tz::America__New_York, "USD");
        let ben = customer("C2", Tz::America__New_York, "USD");
        let offer_spec = spec(Discount::PercentOff(d("15")), CodeSpec::Unique);
        let code_of = |customer: &Customer, key_text: &'static str, now: &str| {
            let mut r = recipient(customer, now);
            r.occurrence_key = key_text;
            price_offer(&offer_spec, r, &key).unwrap().code.unwrap()
        };
        let first = code_of(&ana, "order:O1", NOW);
        assert_eq!(
            first,
            code_of(&ana, "order:O1", "2026-11-16T10:00:00Z"),
            "stable across reruns"
        );
        assert_ne!(first, code_of(&ben, "order:O1", NOW));
        assert_ne!(first, code_of(&ana, "order:O2", NOW));
        assert_eq!(
            first,
            code::unique_code(&key, "post-purchase-completion", "C1", "order:O1")
        );
    }
}
