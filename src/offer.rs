//! Offers: a campaign's discount made concrete for one recipient — the
//! amount in their currency, the code, the expiry — and the exact prices of
//! each product it applies to.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::campaign::{AppliesTo, Discount};
use crate::data::{Currency, Product};
use crate::money;

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

    /// The discounted price of `price` (in the offer's currency).
    pub fn discount(&self, price: Decimal) -> Decimal {
        match (self.percent, self.amount) {
            (Some(percent), _) => money::percent_off(price, percent, self.currency),
            (None, Some(amount)) => money::amount_off(price, amount, self.currency),
            (None, None) => money::round(price, self.currency),
        }
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

/// The price of `product` for a recipient paying in `currency`, with the
/// offer applied when it covers `list`. `None` when the product has no price
/// in that currency (it is then not shown to this recipient).
pub fn price_view(
    product: &Product,
    currency: Currency,
    offer: Option<&PricedOffer>,
    list: &str,
) -> Option<PriceView> {
    let original = money::round(product.price_in(currency)?, currency);
    let discounted = offer
        .filter(|o| o.applies_to_list(list) && o.currency == currency)
        .map(|o| o.discount(original));
    Some(PriceView {
        currency,
        original,
        discounted,
        saving: discounted.map_or(Decimal::ZERO, |d| original - d),
    })
}
