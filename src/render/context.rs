//! The Tera context of one message: what a template can say about the shop,
//! the customer, the moment, the lists and the offer. The structs below
//! *are* the reference designers write against (also in [`crate::render`]'s
//! header and the README): each field is a name in templates.
//!
//! Everything a customer or the catalog provides is cleaned first (control
//! characters and line breaks become spaces, runs of spaces collapse), so no
//! value can break a header or a line of the message; HTML escaping is Tera's
//! job (autoescape is on for `.mjml` templates). Prices and dates are
//! formatted here, for the customer's currency, language and time zone.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use rust_decimal::Decimal;
use serde::Serialize;

use super::MessageInput;
use super::format::{self, DateMemo, DateStyle};
use super::tracking::Tracker;
use crate::data::{Currency, ProductIx, Store};
use crate::money;
use crate::offer::{PricedOffer, price_view};
use crate::trigger::Detail;

/// A customer- or catalog-provided text made safe for any place in a
/// message: control characters, line and paragraph separators and other
/// spacing become one space (no-break spaces are kept), runs of spaces
/// collapse, the ends are trimmed, and noncharacters (U+FDD0–U+FDEF,
/// U+FFFE, U+FFFF) and zero-width spaces are dropped.
pub fn clean(value: &str) -> Cow<'_, str> {
    fn spacing(c: char) -> bool {
        c.is_control() || (c.is_whitespace() && c != '\u{a0}')
    }
    fn dropped(c: char) -> bool {
        matches!(
            c,
            '\u{FDD0}'..='\u{FDEF}' | '\u{FFFE}' | '\u{FFFF}' | '\u{200B}'
        )
    }
    if is_clean(value, spacing, dropped) {
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

/// One pass: printable ASCII and single inner spaces are fine as they are;
/// other characters are looked at one by one.
fn is_clean(value: &str, spacing: fn(char) -> bool, dropped: fn(char) -> bool) -> bool {
    let bytes = value.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') {
        return false;
    }
    let mut previous_space = false;
    for (index, &byte) in bytes.iter().enumerate() {
        match byte {
            b' ' if previous_space => return false,
            b' ' => previous_space = true,
            0x21..=0x7e => previous_space = false,
            0x80.. if !value.is_char_boundary(index) => {}
            0x80.. => {
                let c = value[index..].chars().next().unwrap_or(' ');
                if spacing(c) || dropped(c) {
                    return false;
                }
                previous_space = false;
            }
            _ => return false,
        }
    }
    true
}

/// The whole context, as templates see it.
#[derive(Serialize)]
pub struct MessageContext<'a> {
    pub shop: Shop<'a>,
    pub campaign: CampaignContext<'a>,
    pub customer: CustomerContext<'a>,
    pub trigger: TriggerContext<'a>,
    /// Every list of the campaign by name, possibly empty.
    pub lists: BTreeMap<&'a str, ListContext<'a>>,
    /// None when the campaign has no offer (or none for this customer).
    pub offer: Option<OfferContext<'a>>,
    /// Signed, per recipient.
    pub unsubscribe_url: &'a str,
    /// The message's landing page on the shop's site (signed, per message):
    /// its products and more from the same lists. Empty without a landing URL.
    pub more_url: String,
    /// `now` as a long date in the customer's time zone and language.
    pub today: String,
    pub year: String,
}

#[derive(Serialize)]
pub struct Shop<'a> {
    pub name: Cow<'a, str>,
    pub website: Cow<'a, str>,
    pub postal_address: Cow<'a, str>,
}

#[derive(Serialize)]
pub struct CampaignContext<'a> {
    pub id: &'a str,
    pub name: Cow<'a, str>,
}

#[derive(Serialize)]
pub struct CustomerContext<'a> {
    pub id: Cow<'a, str>,
    /// May be empty.
    pub first_name: Cow<'a, str>,
    pub email: Cow<'a, str>,
    /// As given: `fr-FR`.
    pub locale: Cow<'a, str>,
    /// Lowercase letters only (`fr`), or `und`: safe anywhere.
    pub language: String,
    pub timezone: &'a str,
    pub tier: Cow<'a, str>,
    pub currency: &'a str,
    pub tags: Vec<Cow<'a, str>>,
}

/// The moment that sent the message; fields that do not apply are none.
#[derive(Serialize)]
pub struct TriggerContext<'a> {
    /// `post_purchase`, `browse`, … or none for a newsletter.
    pub kind: Option<&'static str>,
    /// When it happened, as a long date.
    pub at: Option<String>,
    /// The first of `products`.
    pub product: Option<ProductContext<'a>>,
    pub products: Vec<ProductContext<'a>>,
    pub category: Option<Cow<'a, str>>,
    pub order: Option<OrderContext<'a>>,
    /// Browse: how many views.
    pub views: Option<u32>,
    pub metric: Option<MetricContext<'a>>,
    /// Tier reached.
    pub tier: Option<Cow<'a, str>>,
    /// Inactive: days without an order.
    pub days: Option<u32>,
}

#[derive(Serialize)]
pub struct OrderContext<'a> {
    pub id: Cow<'a, str>,
    pub date: String,
    pub items: usize,
}

#[derive(Serialize)]
pub struct MetricContext<'a> {
    pub name: Cow<'a, str>,
    /// Formatted for the customer: `20`, `12,5`.
    pub value: String,
    pub threshold: String,
    /// The value as a number, for comparisons.
    pub count: f64,
}

#[derive(Serialize)]
pub struct ListContext<'a> {
    pub name: &'a str,
    pub products: Vec<ProductContext<'a>>,
    pub count: usize,
}

/// A product as a card shows it, for one recipient: its [`ProductCard`]
/// and why it was picked (`reason`), one map for templates.
#[derive(Clone)]
pub struct ProductContext<'a> {
    pub card: Arc<ProductCard>,
    /// Why it was picked.
    pub reason: Cow<'a, str>,
}

/// What a product card shows that does not depend on why it was picked.
#[derive(Debug, Serialize)]
pub struct ProductCard {
    pub id: String,
    pub name: String,
    /// With the campaign's UTM parameters.
    pub url: String,
    pub image_url: String,
    pub category: String,
    pub manufacturer: String,
    /// `4.8` (`4,8` in French), none without reviews.
    pub rating: Option<String>,
    pub rating_count: u32,
    /// The count as written for the customer: `1,204`.
    pub reviews: String,
    /// `★★★★½`, none without reviews.
    pub stars: Option<String>,
    pub price: PriceContext,
}

impl Serialize for ProductContext<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let card = &self.card;
        let mut map = serializer.serialize_struct("Product", 12)?;
        map.serialize_field("id", &card.id)?;
        map.serialize_field("name", &card.name)?;
        map.serialize_field("url", &card.url)?;
        map.serialize_field("image_url", &card.image_url)?;
        map.serialize_field("category", &card.category)?;
        map.serialize_field("manufacturer", &card.manufacturer)?;
        map.serialize_field("rating", &card.rating)?;
        map.serialize_field("rating_count", &card.rating_count)?;
        map.serialize_field("reviews", &card.reviews)?;
        map.serialize_field("stars", &card.stars)?;
        map.serialize_field("reason", &self.reason)?;
        map.serialize_field("price", &card.price)?;
        map.end()
    }
}

/// A number as templates print it: `15`, not `15.0`; `12.5`.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
#[serde(untagged)]
pub enum Figure {
    Whole(i64),
    Fraction(f64),
}

impl Figure {
    fn of(value: Decimal) -> Option<Figure> {
        use rust_decimal::prelude::ToPrimitive;
        if value.fract().is_zero() {
            value.to_i64().map(Figure::Whole)
        } else {
            value.to_f64().map(Figure::Fraction)
        }
    }
}

/// Prices, formatted in the customer's currency and locale.
#[derive(Debug, Serialize, Clone)]
pub struct PriceContext {
    pub original: String,
    /// What they pay.
    pub current: String,
    pub discounted: Option<String>,
    pub saving: Option<String>,
    /// The offer's percentage; none for an amount off.
    pub percent: Option<Figure>,
    pub has_discount: bool,
}

#[derive(Serialize)]
pub struct OfferContext<'a> {
    pub percent: Option<Figure>,
    /// Formatted: `$10.00`.
    pub amount: Option<String>,
    pub code: Option<Cow<'a, str>>,
    /// A long date.
    pub expires_at: Option<String>,
    pub min_order: Option<String>,
    /// A list name, or `all`.
    pub applies_to: &'a str,
}

/// Builds the context of one message. `subject` and `preheader` are added
/// by the caller once they are rendered.
/// What context building remembers from one message to the next, per
/// campaign: tracked links, product cards, dates. (Only ever by content,
/// so the memo can never hand out something stale.)
#[derive(Debug)]
pub struct Memo {
    pub tracker: Arc<Tracker>,
    pub cards: CardMemo,
    pub dates: DateMemo,
}

impl Memo {
    pub fn new(utm: &BTreeMap<String, String>) -> Memo {
        Memo {
            tracker: Arc::new(Tracker::new(utm)),
            cards: CardMemo::default(),
            dates: DateMemo::default(),
        }
    }
}

pub fn build(input: &MessageInput<'_>, unsubscribe_url: &str, memo: &Memo) -> tera::Context {
    let context = message_context(input, unsubscribe_url, memo);
    tera::Context::from_serialize(&context).unwrap_or_default()
}

fn message_context<'a>(
    input: &'a MessageInput<'a>,
    unsubscribe_url: &'a str,
    memo: &'a Memo,
) -> MessageContext<'a> {
    let store = input.store;
    let customer = store.customer(input.customer);
    let locale = store.locales().name(customer.locale);
    let products = Products {
        store,
        currency: customer.currency,
        locale,
        offer: input.offer,
        tracker: &memo.tracker,
        cards: &memo.cards,
        dates: &memo.dates,
    };
    let config = input.config;
    let mut lists = BTreeMap::new();
    for spec in &input.campaign.lists {
        let resolved = input.lists.iter().find(|l| l.name == spec.name);
        let views: Vec<ProductContext<'a>> = resolved
            .map(|list| {
                list.items
                    .iter()
                    .filter_map(|item| products.view(item.product, &list.name, &item.reason))
                    .collect()
            })
            .unwrap_or_default();
        lists.insert(
            spec.name.as_str(),
            ListContext {
                name: &spec.name,
                count: views.len(),
                products: views,
            },
        );
    }
    let date = |seconds: i64, style| memo.dates.date(seconds, customer.timezone, locale, style);
    MessageContext {
        shop: Shop {
            name: clean(&config.shop.name),
            website: clean(&config.shop.website),
            postal_address: clean(&config.shop.postal_address),
        },
        campaign: CampaignContext {
            id: &input.campaign.id,
            name: clean(&input.campaign.name),
        },
        customer: CustomerContext {
            id: clean(&customer.id),
            first_name: clean(&customer.first_name),
            email: clean(&customer.email),
            locale: clean(locale),
            language: language_code(locale),
            timezone: customer.timezone.name(),
            tier: clean(store.tiers().name(customer.tier)),
            currency: customer.currency.code(),
            tags: customer
                .tags
                .iter()
                .map(|tag| clean(store.tags().name(*tag)))
                .collect(),
        },
        trigger: trigger_context(input, &products),
        lists,
        offer: input.offer.map(|offer| OfferContext {
            percent: offer.percent.and_then(Figure::of),
            amount: offer
                .amount
                .map(|a| money::format(a, offer.currency, locale)),
            code: offer.code.as_deref().map(clean),
            expires_at: offer.expires_at.map(|at| date(at, DateStyle::Long)),
            min_order: offer
                .min_order
                .map(|a| money::format(a, offer.currency, locale)),
            applies_to: match &offer.applies_to {
                crate::campaign::AppliesTo::All => "all",
                crate::campaign::AppliesTo::List(name) => name,
            },
        }),
        unsubscribe_url,
        more_url: super::landing::url(
            &config.site.landing_url,
            input.key,
            &super::landing::MessageRef {
                customer: customer.id.to_string(),
                campaign: input.campaign.id.clone(),
                occurrence: input
                    .occurrence
                    .map_or_else(|| crate::trigger::newsletter_key(None), |o| o.key.clone()),
            },
        ),
        today: date(input.now, DateStyle::Long),
        year: format::year(input.now, customer.timezone).to_string(),
    }
}

/// The language subtag, lowercase ASCII letters only, else `und`.
fn language_code(locale: &str) -> String {
    let language = format::language(locale);
    if (2..=8).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase()) {
        language
    } else {
        "und".to_string()
    }
}

/// A product card for a visitor of the shop's site (`xsell listen`'s
/// placements and landing page): prices in `currency` and `locale`, no
/// offer, URLs with `memo`'s UTM parameters; `None` when the product is not
/// sold in that currency.
pub fn site_card<'a>(
    store: &'a Store,
    product: ProductIx,
    currency: Currency,
    locale: &'a str,
    reason: &'a str,
    memo: &'a Memo,
) -> Option<ProductContext<'a>> {
    let products = Products {
        store,
        currency,
        locale,
        offer: None,
        tracker: &memo.tracker,
        cards: &memo.cards,
        dates: &memo.dates,
    };
    products.view(product, "", reason)
}

/// Turns products into what a product card shows, for one recipient.
struct Products<'a> {
    store: &'a Store,
    currency: Currency,
    locale: &'a str,
    offer: Option<&'a PricedOffer>,
    tracker: &'a Tracker,
    cards: &'a CardMemo,
    dates: &'a DateMemo,
}

impl<'a> Products<'a> {
    /// The product with prices for this recipient (and the offer when it
    /// covers `list`); `None` when it is not sold in their currency.
    fn view(&self, ix: ProductIx, list: &str, reason: &'a str) -> Option<ProductContext<'a>> {
        let store = self.store;
        let product = store.product(ix);
        let price = product.price_in(self.currency)?;
        let offer = self
            .offer
            .filter(|o| o.applies_to_list(list) && o.currency == self.currency);
        let facts = CardFacts {
            id: &product.id,
            name: &product.name,
            url: &product.url,
            image_url: &product.image_url,
            category: store.categories().name(product.category),
            manufacturer: store.manufacturers().name(product.manufacturer),
            price,
            rating: product.rating.map(f32::to_bits),
            rating_count: product.rating_count,
            currency: self.currency,
            locale: self.locale,
            percent: offer.and_then(|o| o.percent),
            amount: offer.and_then(|o| o.amount),
        };
        let card = self.cards.get_or_make(&facts, || self.card(ix, list));
        Some(ProductContext {
            card: card?,
            reason: clean(reason),
        })
    }

    fn card(&self, ix: ProductIx, list: &str) -> Option<ProductCard> {
        let store = self.store;
        let product = store.product(ix);
        let price = price_view(product, self.currency, self.offer, list)?;
        let money = |amount: Decimal| money::format(amount, self.currency, self.locale);
        let has_discount = price.discounted.is_some_and(|d| d < price.original);
        // Only a percentage offer has one percentage for every product; an
        // amount off is shown as the amount saved.
        let percent = self
            .offer
            .and_then(|offer| offer.percent)
            .filter(|_| has_discount)
            .and_then(Figure::of);
        let rating = product.rating.filter(|_| product.rating_count > 0);
        let original = money(price.original);
        let discounted = price.discounted.map(money);
        Some(ProductCard {
            id: clean(&product.id).into_owned(),
            name: clean(&product.name).into_owned(),
            url: self.tracker.track(&clean(&product.url)),
            image_url: clean(&product.image_url).into_owned(),
            category: clean(store.categories().name(product.category)).into_owned(),
            manufacturer: clean(store.manufacturers().name(product.manufacturer)).into_owned(),
            rating: rating.map(|r| format::rating(r, self.locale)),
            rating_count: product.rating_count,
            reviews: format::count(u64::from(product.rating_count), self.locale),
            stars: rating.map(|r| format::stars(f64::from(r))),
            price: PriceContext {
                current: discounted.clone().unwrap_or_else(|| original.clone()),
                original,
                discounted: discounted.filter(|_| has_discount),
                saving: has_discount.then(|| money(price.saving)),
                percent,
                has_discount,
            },
        })
    }
}

/// Everything a product card is made of: two cards with the same facts are
/// the same card.
#[derive(Debug, Clone, Copy, PartialEq, Hash)]
struct CardFacts<'a> {
    id: &'a str,
    name: &'a str,
    url: &'a str,
    image_url: &'a str,
    category: &'a str,
    manufacturer: &'a str,
    price: Decimal,
    rating: Option<u32>,
    rating_count: u32,
    currency: Currency,
    locale: &'a str,
    percent: Option<Decimal>,
    amount: Option<Decimal>,
}

/// The facts of a remembered card, owned.
#[derive(Debug)]
struct OwnedFacts {
    texts: Box<[Box<str>; 7]>,
    price: Decimal,
    rating: Option<u32>,
    rating_count: u32,
    currency: Currency,
    percent: Option<Decimal>,
    amount: Option<Decimal>,
}

impl OwnedFacts {
    fn of(facts: &CardFacts<'_>) -> OwnedFacts {
        OwnedFacts {
            texts: Box::new(
                [
                    facts.id,
                    facts.name,
                    facts.url,
                    facts.image_url,
                    facts.category,
                    facts.manufacturer,
                    facts.locale,
                ]
                .map(Box::from),
            ),
            price: facts.price,
            rating: facts.rating,
            rating_count: facts.rating_count,
            currency: facts.currency,
            percent: facts.percent,
            amount: facts.amount,
        }
    }

    fn matches(&self, facts: &CardFacts<'_>) -> bool {
        let texts = [
            facts.id,
            facts.name,
            facts.url,
            facts.image_url,
            facts.category,
            facts.manufacturer,
            facts.locale,
        ];
        self.texts.iter().zip(texts).all(|(a, b)| **a == *b)
            && self.price == facts.price
            && self.rating == facts.rating
            && self.rating_count == facts.rating_count
            && self.currency == facts.currency
            && self.percent == facts.percent
            && self.amount == facts.amount
    }
}

/// A card and the facts it was made of.
type Remembered = (OwnedFacts, Arc<ProductCard>);

/// Product cards already made for a campaign, found again by their facts
/// (never by a product's position, so another catalog cannot get a stale
/// card). A card costs a dozen formatted texts; a catalog's products come
/// back in message after message.
#[derive(Debug, Default)]
pub struct CardMemo {
    cards: RwLock<HashMap<u64, Vec<Remembered>>>,
    hasher: ahash::RandomState,
}

/// Cards remembered per campaign, at most (a card is ~0.6 KB).
const CARDS: usize = 50_000;

impl CardMemo {
    fn get_or_make(
        &self,
        facts: &CardFacts<'_>,
        make: impl FnOnce() -> Option<ProductCard>,
    ) -> Option<Arc<ProductCard>> {
        let hash = self.hasher.hash_one(facts);
        {
            let cards = self.cards.read().unwrap_or_else(|p| p.into_inner());
            if let Some(found) = cards
                .get(&hash)
                .and_then(|same| same.iter().find(|(owned, _)| owned.matches(facts)))
            {
                return Some(Arc::clone(&found.1));
            }
        }
        let card = Arc::new(make()?);
        let mut cards = self.cards.write().unwrap_or_else(|p| p.into_inner());
        if cards.len() < CARDS {
            cards
                .entry(hash)
                .or_default()
                .push((OwnedFacts::of(facts), Arc::clone(&card)));
        }
        Some(card)
    }
}

fn trigger_context<'a>(input: &'a MessageInput<'a>, products: &Products<'a>) -> TriggerContext<'a> {
    let store = input.store;
    let customer = store.customer(input.customer);
    let locale = products.locale;
    let kind = input.campaign.trigger.as_ref().map(|t| t.kind().name());
    let mut context = TriggerContext {
        kind,
        at: None,
        product: None,
        products: Vec::new(),
        category: None,
        order: None,
        views: None,
        metric: None,
        tier: None,
        days: None,
    };
    let Some(occurrence) = input.occurrence else {
        return context;
    };
    let date = |seconds: i64| {
        products
            .dates
            .date(seconds, customer.timezone, locale, DateStyle::Long)
    };
    context.at = Some(date(occurrence.at));
    context.products = occurrence
        .products
        .iter()
        .filter_map(|ix| products.view(*ix, "", ""))
        .collect();
    context.product = context.products.first().cloned();
    context.category = occurrence
        .category
        .map(|c| clean(store.categories().name(c)));
    context.order = occurrence.order.map(|ix| OrderContext {
        id: clean(&store.order(ix).id),
        date: date(store.order(ix).ts),
        items: store.order_lines(ix).len(),
    });
    match &occurrence.detail {
        Detail::None => {}
        Detail::Views { count } => context.views = Some(*count),
        Detail::Metric {
            name,
            value,
            threshold,
        } => {
            context.metric = Some(MetricContext {
                name: clean(name),
                value: format::number(*value, 2, locale),
                threshold: format::number(*threshold, 2, locale),
                count: *value,
            })
        }
        Detail::Tier { tier } => context.tier = Some(clean(tier)),
        Detail::Inactive { days } => context.days = Some(*days),
    }
    context
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_makes_values_single_line_and_trimmed() {
        assert_eq!(clean("Ana"), "Ana");
        assert!(matches!(clean("Ana Lopez"), Cow::Borrowed(_)));
        assert!(matches!(clean("Zoë Crème"), Cow::Borrowed(_)));
        assert_eq!(
            clean("  Ana\r\nBcc: x@evil.example \t"),
            "Ana Bcc: x@evil.example"
        );
        assert_eq!(clean("a\u{2028}b\u{85}c\u{202f}d"), "a b c d");
        assert_eq!(clean("keep\u{a0}nbsp"), "keep\u{a0}nbsp");
        assert_eq!(clean("x\u{FDD0}y\u{200B}z\u{FFFF}"), "xyz");
        assert_eq!(clean("a  b"), "a b");
        assert_eq!(clean("\u{1}\u{7f}"), "");
    }

    #[test]
    fn language_codes_are_safe_in_attributes() {
        assert_eq!(language_code("fr-FR"), "fr");
        assert_eq!(language_code("EN_us"), "en");
        assert_eq!(language_code("x\"><script>"), "und");
        assert_eq!(language_code(""), "und");
    }
}
