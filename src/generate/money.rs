//! Prices as integer cents, so generated money is exact and always printed with
//! two decimals (`8.99`, `120.00`) — never through `f64` formatting.

use std::fmt;

/// An amount in the smallest unit of a two-decimal currency (USD, EUR, GBP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(pub i64);

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Cents {
    /// A shop-style price from a price in another currency: `self` converted at
    /// `rate_percent` / 100, rounded to whole units, keeping a `.99` ending.
    /// `8.99` at 92 % gives `7.99`; `24.00` at 92 % gives `22.00`.
    pub fn convert(self, rate_percent: i64) -> Cents {
        let converted = self.0 * rate_percent; // in 1/100 cents
        let units = ((converted + 5_000) / 10_000).max(1); // round half up to whole units
        if self.0 % 100 == 99 {
            Cents(units * 100 - 1)
        } else {
            Cents(units * 100)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_two_decimals() {
        assert_eq!(Cents(899).to_string(), "8.99");
        assert_eq!(Cents(12000).to_string(), "120.00");
        assert_eq!(Cents(5).to_string(), "0.05");
        assert_eq!(Cents(-150).to_string(), "-1.50");
    }

    #[test]
    fn converts_to_round_shop_prices() {
        assert_eq!(Cents(899).convert(92), Cents(799));
        assert_eq!(Cents(2400).convert(92), Cents(2200));
        assert_eq!(Cents(8999).convert(92), Cents(8299));
        assert_eq!(Cents(2400).convert(79), Cents(1900));
        assert_eq!(Cents(99).convert(50), Cents(99));
    }
}
