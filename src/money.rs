//! Exact money: discounts on decimals with one rounding rule, and prices
//! written the way a customer's locale writes them.
//!
//! **The rounding rule.** A discounted price is rounded *half up* (away from
//! zero) to the currency's minor unit (2 digits for USD and EUR, 0 for JPY,
//! 3 for BHD — from ISO 4217 via the `iso_currency` crate). The saving is the
//! original minus the rounded discounted price, so the two always add up.
//! Money is never an `f64`.
//!
//! **Formatting.** A small table of the locales we serve gives the decimal
//! and group separators and where the symbol goes (`$17.00`, `17,00 €`,
//! `17,00 €` in German, `£17.00`, `￥1,700`). Unknown locales fall back to
//! English conventions; unknown symbols to the ISO code (`CHF 17.00`). ICU's
//! currency formatter would cover every locale but is experimental and heavy
//! for the handful an email campaign uses.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::data::Currency;

/// Digits after the decimal point in the currency's minor unit (2 when unknown).
pub fn minor_digits(currency: Currency) -> u32 {
    iso_currency::Currency::from_code(currency.code())
        .and_then(|c| c.exponent())
        .map_or(2, u32::from)
}

/// Rounds half up (away from zero) to the currency's minor unit.
pub fn round(amount: Decimal, currency: Currency) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(
        minor_digits(currency),
        RoundingStrategy::MidpointAwayFromZero,
    );
    rounded.rescale(minor_digits(currency));
    rounded
}

/// `price` less `percent` % (0–100), rounded by the rule above; `None` when
/// the amounts are beyond what a decimal holds (the loader refuses such
/// prices, so this is a guard, never a panic).
pub fn percent_off(price: Decimal, percent: Decimal, currency: Currency) -> Option<Decimal> {
    let kept = Decimal::ONE_HUNDRED.checked_sub(percent)?;
    let discounted = price.checked_mul(kept)?.checked_div(Decimal::ONE_HUNDRED)?;
    Some(round(discounted, currency).max(zero(currency)))
}

/// `price` less a fixed `amount`, never below zero; `None` on overflow.
pub fn amount_off(price: Decimal, amount: Decimal, currency: Currency) -> Option<Decimal> {
    Some(round(price.checked_sub(amount)?, currency).max(zero(currency)))
}

/// The largest amount xsell accepts anywhere (prices, order values, offer
/// amounts): a trillion units of any currency. Far above any real price,
/// and far enough below `Decimal::MAX` that sums and discounts of such
/// amounts never overflow.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

fn zero(currency: Currency) -> Decimal {
    let mut zero = Decimal::ZERO;
    zero.rescale(minor_digits(currency));
    zero
}

/// How a locale writes amounts.
struct Style {
    decimal: char,
    group: &'static str,
    /// `true`: `$17.00`; `false`: `17,00 €`.
    symbol_first: bool,
}

fn style(locale: &str) -> Style {
    let language = locale
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase();
    match language.as_str() {
        // CLDR: French groups with a narrow no-break space and puts the symbol after a no-break space.
        "fr" => Style {
            decimal: ',',
            group: "\u{202f}",
            symbol_first: false,
        },
        "de" | "es" | "it" | "nl" | "pt" => Style {
            decimal: ',',
            group: ".",
            symbol_first: false,
        },
        _ => Style {
            decimal: '.',
            group: ",",
            symbol_first: true,
        },
    }
}

fn symbol(currency: Currency, locale: &str) -> Option<&'static str> {
    let region = locale
        .split(['-', '_'])
        .nth(1)
        .unwrap_or_default()
        .to_ascii_uppercase();
    Some(match currency.code() {
        "USD" if region == "US" || region.is_empty() => "$",
        "USD" => "US$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" if locale.starts_with("ja") => "￥",
        "JPY" => "¥",
        "CAD" if region == "CA" => "$",
        "CAD" => "CA$",
        "AUD" if region == "AU" => "$",
        "AUD" => "A$",
        "INR" => "₹",
        _ => return None,
    })
}

/// The amount as the customer reads it: `$1,234.50`, `1 234,50 €`, `￥1,700`.
pub fn format(amount: Decimal, currency: Currency, locale: &str) -> String {
    let style = style(locale);
    let number = format_number(round(amount, currency), minor_digits(currency), &style);
    match (symbol(currency, locale), style.symbol_first) {
        (Some(symbol), true) => match number.strip_prefix('-') {
            Some(positive) => format!("-{symbol}{positive}"),
            None => format!("{symbol}{number}"),
        },
        (Some(symbol), false) => format!("{number}\u{a0}{symbol}"),
        (None, true) => format!("{}\u{a0}{number}", currency.code()),
        (None, false) => format!("{number}\u{a0}{}", currency.code()),
    }
}

/// The amount without symbol, in the locale's separators: `1,234.50` or `1 234,50`.
pub fn format_number_in(amount: Decimal, currency: Currency, locale: &str) -> String {
    format_number(
        round(amount, currency),
        minor_digits(currency),
        &style(locale),
    )
}

fn format_number(amount: Decimal, digits: u32, style: &Style) -> String {
    let mut amount = amount;
    amount.rescale(digits);
    let text = amount.abs().to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    if amount.is_sign_negative() && !amount.is_zero() {
        out.push('-');
    }
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push_str(style.group);
        }
        out.push(c);
    }
    if !fraction.is_empty() {
        out.push(style.decimal);
        out.push_str(fraction);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn fifteen_percent_off_the_examples() {
        let usd = c("USD");
        assert_eq!(
            format(percent_off(d("20.00"), d("15"), usd).unwrap(), usd, "en-US"),
            "$17.00"
        );
        assert_eq!(
            format(percent_off(d("24.00"), d("15"), usd).unwrap(), usd, "en-US"),
            "$20.40"
        );
        let eur = c("EUR");
        assert_eq!(format(d("24.00"), eur, "fr-FR"), "24,00\u{a0}€");
        assert_eq!(
            format(percent_off(d("24.00"), d("15"), eur).unwrap(), eur, "fr-FR"),
            "20,40\u{a0}€"
        );
    }

    #[test]
    fn rounding_is_half_up_to_the_minor_unit() {
        let usd = c("USD");
        // 19.99 × 0.85 = 16.9915 → 16.99; 0.10 × 0.85 = 0.085 → 0.09 (half up, not half even).
        assert_eq!(percent_off(d("19.99"), d("15"), usd).unwrap(), d("16.99"));
        assert_eq!(percent_off(d("0.10"), d("15"), usd).unwrap(), d("0.09"));
        assert_eq!(percent_off(d("0.30"), d("15"), usd).unwrap(), d("0.26")); // 0.255 → 0.26
        assert_eq!(percent_off(d("9.99"), d("33.33"), usd).unwrap(), d("6.66")); // 6.660333
        assert_eq!(
            percent_off(d("10"), d("100"), usd).unwrap().to_string(),
            "0.00"
        );
        assert_eq!(
            amount_off(d("8.00"), d("10"), usd).unwrap().to_string(),
            "0.00"
        );
        assert_eq!(
            percent_off(d("20"), d("15"), usd).unwrap().to_string(),
            "17.00",
            "always shown with the minor unit"
        );
    }

    #[test]
    fn a_currency_without_minor_unit() {
        let jpy = c("JPY");
        assert_eq!(minor_digits(jpy), 0);
        assert_eq!(percent_off(d("1999"), d("15"), jpy).unwrap(), d("1699")); // 1699.15
        assert_eq!(percent_off(d("1990"), d("15"), jpy).unwrap(), d("1692")); // 1691.5 → 1692
        assert_eq!(format(d("1692"), jpy, "ja-JP"), "￥1,692");
        assert_eq!(format(d("1692"), jpy, "en-US"), "¥1,692");
        let bhd = c("BHD");
        assert_eq!(minor_digits(bhd), 3);
        assert_eq!(format(d("1.2345"), bhd, "en-US"), "BHD\u{a0}1.235");
    }

    #[test]
    fn grouping_per_locale() {
        assert_eq!(format(d("1234567.5"), c("USD"), "en-US"), "$1,234,567.50");
        assert_eq!(
            format(d("1234.5"), c("EUR"), "fr-FR"),
            "1\u{202f}234,50\u{a0}€"
        );
        assert_eq!(format(d("1234.5"), c("EUR"), "de-DE"), "1.234,50\u{a0}€");
        assert_eq!(format(d("1234.5"), c("GBP"), "en-GB"), "£1,234.50");
        assert_eq!(format(d("20"), c("USD"), "en-GB"), "US$20.00");
        assert_eq!(format(d("20"), c("CHF"), "de-CH"), "20,00\u{a0}CHF");
        assert_eq!(format(d("-5"), c("USD"), "en-US"), "-$5.00");
        assert_eq!(
            format_number_in(d("1234.5"), c("EUR"), "fr-FR"),
            "1\u{202f}234,50"
        );
    }

    #[test]
    fn offer_edge_cases() {
        let usd = c("USD");
        // Fractional percents: 0.99 × 0.875 = 0.86625 → 0.87.
        assert_eq!(percent_off(d("0.99"), d("12.5"), usd).unwrap(), d("0.87"));
        // A cent stays a cent (0.0085 → 0.01), and a deep discount may reach zero.
        assert_eq!(percent_off(d("0.01"), d("15"), usd).unwrap(), d("0.01"));
        assert_eq!(
            percent_off(d("0.49"), d("99"), usd).unwrap().to_string(),
            "0.00"
        );
        // Large amounts stay exact.
        assert_eq!(
            percent_off(d("99999999.99"), d("15"), usd)
                .unwrap()
                .to_string(),
            "84999999.99"
        );
        // Three-digit currencies round half up at the third digit: 0.0045 → 0.005.
        let bhd = c("BHD");
        assert_eq!(
            percent_off(d("0.005"), d("10"), bhd).unwrap().to_string(),
            "0.005"
        );
        assert_eq!(
            percent_off(d("1"), d("15"), bhd).unwrap().to_string(),
            "0.850"
        );
        // An amount larger than the price in yen: zero, without decimals.
        let jpy = c("JPY");
        assert_eq!(
            amount_off(d("999"), d("1500"), jpy).unwrap().to_string(),
            "0"
        );
        assert_eq!(
            format(amount_off(d("999"), d("1500"), jpy).unwrap(), jpy, "ja-JP"),
            "￥0"
        );
    }
}
