//! The Tera context of one message: what a template can say about the shop,
//! the customer, the moment, the lists and the offer (the reference for
//! designers is in [`crate::render`]'s header and the README).
//!
//! Everything a customer or the catalog provides is cleaned first (control
//! characters and line breaks become spaces, runs of spaces collapse), so no
//! value can break a header or a line of the message; HTML escaping is Tera's
//! job (autoescape is on for `.mjml` templates).

use std::borrow::Cow;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tera::Value;

use super::MessageInput;
use super::format::{self, DateStyle};
use super::tracking::track;
use crate::data::{Currency, Customer, ProductIx, Store};
use crate::money;
use crate::offer::{PricedOffer, price_view};
use crate::trigger::Detail;

/// A map value from fixed keys.
fn object<const N: usize>(entries: [(&'static str, Value); N]) -> Value {
    let mut map = tera::Map::with_capacity(N);
    for (key, value) in entries {
        map.insert(key.into(), value);
    }
    Value::from(map)
}

fn text(value: &str) -> Value {
    Value::from(clean(value).as_ref())
}

fn optional(value: Option<String>) -> Value {
    value.map_or_else(Value::none, Value::from)
}

/// A customer- or catalog-provided text made safe for any place in a
/// message: control characters, line and paragraph separators and other
/// spacing become one space (no-break spaces are kept), runs of spaces
/// collapse, the ends are trimmed, and the noncharacters the renderer uses
/// internally (U+FDD0–U+FDEF, U+FFFE, U+FFFF) are dropped along with
/// zero-width spaces.
pub fn clean(value: &str) -> Cow<'_, str> {
    fn spacing(c: char) -> bool {
        c.is_control() || (c.is_whitespace() && c != '\u{a0}')
    }
    fn dropped(c: char) -> bool {
        matches!(c, '\u{FDD0}'..='\u{FDEF}' | '\u{FFFE}' | '\u{FFFF}' | '\u{200B}')
    }
    let already_clean = !value.starts_with(spacing)
        && !value.ends_with(spacing)
        && !value.chars().any(|c| dropped(c) || (spacing(c) && c != ' '))
        && !value.contains("  ");
    if already_clean {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut pending_space = false;
    for c in value.chars() {
        if dropped(c) {
            continue;
        }
        if spacing(c) {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Builds the context of one message. `subject` and `preheader` are added
/// by the caller once they are rendered.
pub fn build(input: &MessageInput<'_>, unsubscribe_url: &str) -> tera::Context {
    let store = input.store;
    let customer = store.customer(input.customer);
    let locale = store.locales().name(customer.locale);
    let view = ProductViews {
        store,
        currency: customer.currency,
        locale,
        offer: input.offer,
        utm: &input.campaign.utm,
    };
    let mut context = tera::Context::new();
    let config = input.config;
    context.insert_value(
        "shop",
        object([
            ("name", text(&config.shop.name)),
            ("website", text(&config.shop.website)),
            ("postal_address", text(&config.shop.postal_address)),
        ]),
    );
    context.insert_value(
        "campaign",
        object([
            ("id", Value::from(input.campaign.id.as_str())),
            ("name", text(&input.campaign.name)),
        ]),
    );
    context.insert_value("customer", customer_value(store, customer));
    context.insert_value("trigger", trigger_value(input, &view));
    let mut lists = tera::Map::with_capacity(input.campaign.lists.len());
    for spec in &input.campaign.lists {
        let resolved = input.lists.iter().find(|l| l.name == spec.name);
        let products: Vec<Value> = resolved
            .map(|list| {
                list.items
                    .iter()
                    .filter_map(|item| view.product(item.product, &list.name, &item.reason))
                    .collect()
            })
            .unwrap_or_default();
        let count = products.len();
        lists.insert(
            spec.name.clone().into(),
            object([
                ("name", Value::from(spec.name.as_str())),
                ("products", Value::from(products)),
                ("count", Value::from(count)),
            ]),
        );
    }
    context.insert_value("lists", Value::from(lists));
    context.insert_value(
        "offer",
        input.offer.map_or_else(Value::none, |offer| {
            offer_value(offer, customer, locale, &input.campaign.offer)
        }),
    );
    context.insert_value("unsubscribe_url", Value::from(unsubscribe_url));
    context.insert_value(
        "today",
        Value::from(format::date(
            input.now,
            customer.timezone,
            locale,
            DateStyle::Long,
        )),
    );
    context.insert_value(
        "year",
        Value::from(format::date_with(input.now, customer.timezone, locale, "%Y")),
    );
    context
}

fn customer_value(store: &Store, customer: &Customer) -> Value {
    let locale = store.locales().name(customer.locale);
    let tags: Vec<Value> = customer
        .tags
        .iter()
        .map(|tag| text(store.tags().name(*tag)))
        .collect();
    object([
        ("id", text(&customer.id)),
        ("first_name", text(&customer.first_name)),
        ("email", text(&customer.email)),
        ("locale", text(locale)),
        ("language", Value::from(format::language(locale))),
        ("timezone", Value::from(customer.timezone.name())),
        ("tier", text(store.tiers().name(customer.tier))),
        ("currency", Value::from(customer.currency.code())),
        ("tags", Value::from(tags)),
    ])
}

/// Turns products into what a product card shows, for one recipient.
struct ProductViews<'a> {
    store: &'a Store,
    currency: Currency,
    locale: &'a str,
    offer: Option<&'a PricedOffer>,
    utm: &'a std::collections::BTreeMap<String, String>,
}

impl ProductViews<'_> {
    /// The product as a card shows it, with prices for this recipient (and
    /// the offer when it covers `list`); `None` when the product is not sold
    /// in the recipient's currency.
    fn product(&self, ix: ProductIx, list: &str, reason: &str) -> Option<Value> {
        let product = self.store.product(ix);
        let price = price_view(product, self.currency, self.offer, list)?;
        let money = |amount: Decimal| money::format(amount, self.currency, self.locale);
        // Only a percentage offer has one percentage for every product; an
        // amount off is shown as the amount saved.
        let percent = price
            .discounted
            .and(self.offer.and_then(|offer| offer.percent));
        let has_discount = price.discounted.is_some_and(|d| d < price.original);
        let price_value = object([
            ("original", Value::from(money(price.original))),
            ("current", Value::from(money(price.discounted.unwrap_or(price.original)))),
            ("discounted", optional(price.discounted.map(money))),
            (
                "saving",
                optional(has_discount.then(|| money(price.saving))),
            ),
            ("percent", decimal_value(percent.filter(|_| has_discount))),
            ("has_discount", Value::from(has_discount)),
        ]);
        let rating = product.rating.filter(|_| product.rating_count > 0);
        let store = self.store;
        Some(object([
            ("id", text(&product.id)),
            ("name", text(&product.name)),
            ("url", Value::from(track(&clean(&product.url), self.utm))),
            ("image_url", text(&product.image_url)),
            ("category", text(store.categories().name(product.category))),
            (
                "manufacturer",
                text(store.manufacturers().name(product.manufacturer)),
            ),
            (
                "rating",
                optional(rating.map(|r| format::rating(r, self.locale))),
            ),
            ("rating_count", Value::from(product.rating_count)),
            (
                "reviews",
                Value::from(format::count(u64::from(product.rating_count), self.locale)),
            ),
            (
                "stars",
                optional(rating.map(|r| format::stars(f64::from(r)))),
            ),
            ("reason", text(reason)),
            ("price", price_value),
        ]))
    }
}

/// A whole decimal as an integer, otherwise as a float (Tera has no decimals;
/// these are percentages, never money).
fn decimal_value(value: Option<Decimal>) -> Value {
    match value {
        None => Value::none(),
        Some(value) if value.fract().is_zero() => value.to_i64().map_or_else(Value::none, Value::from),
        Some(value) => value.to_f64().map_or_else(Value::none, Value::from),
    }
}

fn trigger_value(input: &MessageInput<'_>, view: &ProductViews<'_>) -> Value {
    let store = input.store;
    let customer = store.customer(input.customer);
    let locale = view.locale;
    let kind = input
        .campaign
        .trigger
        .as_ref()
        .map_or_else(Value::none, |t| Value::from(t.kind().name()));
    let Some(occurrence) = input.occurrence else {
        return object([
            ("kind", kind),
            ("at", Value::none()),
            ("product", Value::none()),
            ("products", Value::from(Vec::<Value>::new())),
            ("category", Value::none()),
            ("order", Value::none()),
            ("views", Value::none()),
            ("metric", Value::none()),
            ("tier", Value::none()),
            ("days", Value::none()),
        ]);
    };
    let products: Vec<Value> = occurrence
        .products
        .iter()
        .filter_map(|ix| view.product(*ix, "", ""))
        .collect();
    let order = occurrence.order.map_or_else(Value::none, |ix| {
        let order = store.order(ix);
        object([
            ("id", text(&order.id)),
            (
                "date",
                Value::from(format::date(
                    order.ts,
                    customer.timezone,
                    locale,
                    DateStyle::Long,
                )),
            ),
            ("items", Value::from(store.order_lines(ix).len())),
        ])
    });
    let (mut views, mut metric, mut tier, mut days) =
        (Value::none(), Value::none(), Value::none(), Value::none());
    match &occurrence.detail {
        Detail::None => {}
        Detail::Views { count } => views = Value::from(*count),
        Detail::Metric {
            name,
            value,
            threshold,
        } => {
            metric = object([
                ("name", text(name)),
                ("value", Value::from(format::number(*value, 2, locale))),
                ("threshold", Value::from(format::number(*threshold, 2, locale))),
                ("count", Value::from(*value)),
            ])
        }
        Detail::Tier { tier: name } => tier = text(name),
        Detail::Inactive { days: count } => days = Value::from(*count),
    }
    object([
        ("kind", kind),
        (
            "at",
            Value::from(format::date(
                occurrence.at,
                customer.timezone,
                locale,
                DateStyle::Long,
            )),
        ),
        ("product", products.first().cloned().unwrap_or_else(Value::none)),
        ("products", Value::from(products)),
        (
            "category",
            occurrence
                .category
                .map_or_else(Value::none, |c| text(store.categories().name(c))),
        ),
        ("order", order),
        ("views", views),
        ("metric", metric),
        ("tier", tier),
        ("days", days),
    ])
}

fn offer_value(
    offer: &PricedOffer,
    customer: &Customer,
    locale: &str,
    spec: &Option<crate::campaign::OfferSpec>,
) -> Value {
    let money = |amount: Decimal| money::format(amount, offer.currency, locale);
    let applies_to = match &offer.applies_to {
        crate::campaign::AppliesTo::All => "all".to_string(),
        crate::campaign::AppliesTo::List(name) => name.clone(),
    };
    let _ = spec;
    object([
        ("percent", decimal_value(offer.percent)),
        ("amount", optional(offer.amount.map(money))),
        ("code", optional(offer.code.as_deref().map(|c| clean(c).into_owned()))),
        (
            "expires_at",
            optional(offer.expires_at.map(|at| {
                format::date(at, customer.timezone, locale, DateStyle::Long)
            })),
        ),
        ("min_order", optional(offer.min_order.map(money))),
        ("applies_to", Value::from(applies_to)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_makes_values_single_line_and_trimmed() {
        assert_eq!(clean("Ana"), "Ana");
        assert!(matches!(clean("Ana Lopez"), Cow::Borrowed(_)));
        assert_eq!(clean("  Ana\r\nBcc: x@evil.example \t"), "Ana Bcc: x@evil.example");
        assert_eq!(clean("a\u{2028}b\u{85}c\u{202f}d"), "a b c d");
        assert_eq!(clean("keep\u{a0}nbsp"), "keep\u{a0}nbsp");
        assert_eq!(clean("x\u{FDD0}y\u{200B}z\u{FFFF}"), "xyz");
        assert_eq!(clean("\u{1}\u{7f}"), "");
    }
}
