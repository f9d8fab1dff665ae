//! How values read in the customer's language: ratings and star glyphs,
//! percentages, dates in their time zone, plural forms. Shared by the
//! context (pre-formatted values) and the template filters.
//!
//! Money is not here: [`crate::money::format`] writes amounts.

use chrono::{DateTime, Locale, TimeZone};
use chrono_tz::Tz;

/// The language part of a BCP 47 tag, lowercased: `fr-FR` → `fr`.
pub fn language(locale: &str) -> String {
    locale
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Whether the locale writes decimals with a comma (the same languages as
/// [`crate::money`]'s table).
fn decimal_comma(locale: &str) -> bool {
    matches!(
        language(locale).as_str(),
        "fr" | "de" | "es" | "it" | "nl" | "pt"
    )
}

/// A number with at most `digits` decimals, trailing zeros dropped, in the
/// locale's decimal separator: `4.8`, `4,8`, `20`.
pub fn number(value: f64, digits: usize, locale: &str) -> String {
    let mut text = format!("{value:.digits$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if text == "-0" {
        text = "0".to_string();
    }
    if decimal_comma(locale) {
        text = text.replace('.', ",");
    }
    text
}

/// A whole number with the locale's grouping: `1,204`, `1 204` (French,
/// narrow no-break space), `1.204` (German).
pub fn count(value: u64, locale: &str) -> String {
    let separator = match language(locale).as_str() {
        "fr" => "\u{202f}",
        "de" | "es" | "it" | "nl" | "pt" => ".",
        _ => ",",
    };
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + 4);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(separator);
        }
        out.push(c);
    }
    out
}

/// A review score as shown next to the stars: one decimal, `4.0`, `4,8`.
pub fn rating(value: f32, locale: &str) -> String {
    let text = format!("{value:.1}");
    if decimal_comma(locale) {
        text.replace('.', ",")
    } else {
        text
    }
}

/// Five star glyphs for a 0–5 score, rounded *down* to the half star so a
/// score is never overstated: 4.8 → `★★★★½`, 4.0 → `★★★★☆`, 3.5 → `★★★½☆`.
pub fn stars(value: f64) -> String {
    let halves = (value.clamp(0.0, 5.0) * 2.0).floor() as usize;
    let full = halves / 2;
    let half = halves % 2 == 1;
    let mut glyphs = "★".repeat(full);
    if half {
        glyphs.push('½');
    }
    let shown = full + usize::from(half);
    glyphs.push_str(&"☆".repeat(5 - shown));
    glyphs
}

/// A percentage: `15%` in English, `15 %` in French (narrow no-break space)
/// and German (no-break space).
pub fn percent(value: f64, locale: &str) -> String {
    let figure = number(value, 2, locale);
    match language(locale).as_str() {
        "fr" => format!("{figure}\u{202f}%"),
        "de" | "es" => format!("{figure}\u{a0}%"),
        _ => format!("{figure}%"),
    }
}

/// How a date is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateStyle {
    /// `November 23, 2026`, `23 novembre 2026`, `23. November 2026`.
    Long,
    /// `11/23/2026`, `23/11/2026`, `23.11.2026`.
    Short,
    /// The long date and the time: `November 23, 2026 at 9:00 AM`, `23 novembre 2026, 09:00`.
    DateTime,
}

impl DateStyle {
    pub fn parse(name: &str) -> Option<DateStyle> {
        match name {
            "long" => Some(DateStyle::Long),
            "short" => Some(DateStyle::Short),
            "datetime" => Some(DateStyle::DateTime),
            _ => None,
        }
    }
}

fn pattern(style: DateStyle, locale: &str) -> &'static str {
    let language = language(locale);
    let us = locale.eq_ignore_ascii_case("en-US") || locale.eq_ignore_ascii_case("en_US");
    match (style, language.as_str()) {
        (DateStyle::Long, "en") if us => "%B %-d, %Y",
        (DateStyle::Long, "de") => "%-d. %B %Y",
        (DateStyle::Long, "es" | "pt") => "%-d de %B de %Y",
        (DateStyle::Long, "ja" | "zh") => "%Y年%-m月%-d日",
        (DateStyle::Long, _) => "%-d %B %Y",
        (DateStyle::Short, "en") if us => "%m/%d/%Y",
        (DateStyle::Short, "de") => "%d.%m.%Y",
        (DateStyle::Short, "ja" | "zh") => "%Y/%m/%d",
        (DateStyle::Short, "en" | "fr" | "es" | "it" | "pt") => "%d/%m/%Y",
        (DateStyle::Short, _) => "%Y-%m-%d",
        (DateStyle::DateTime, "en") if us => "%B %-d, %Y at %-I:%M %p",
        (DateStyle::DateTime, "de") => "%-d. %B %Y, %H:%M",
        (DateStyle::DateTime, "es" | "pt") => "%-d de %B de %Y, %H:%M",
        (DateStyle::DateTime, "ja" | "zh") => "%Y年%-m月%-d日 %H:%M",
        (DateStyle::DateTime, _) => "%-d %B %Y, %H:%M",
    }
}

/// chrono's locale for a BCP 47 tag (`fr-FR` → `fr_FR`), falling back to
/// the bare language and then to American English.
fn chrono_locale(locale: &str) -> Locale {
    let underscored = locale.replace('-', "_");
    Locale::try_from(underscored.as_str())
        .or_else(|_| {
            let language = language(locale);
            let region = match language.as_str() {
                "en" => "US".to_string(),
                other => other.to_ascii_uppercase(),
            };
            Locale::try_from(format!("{language}_{region}").as_str())
        })
        .unwrap_or(Locale::en_US)
}

/// Unix seconds as a date in the customer's time zone and locale.
pub fn date(seconds: i64, timezone: Tz, locale: &str, style: DateStyle) -> String {
    date_with(seconds, timezone, locale, pattern(style, locale))
}

/// Unix seconds in a strftime `pattern` (month and day names in the locale).
pub fn date_with(seconds: i64, timezone: Tz, locale: &str, pattern: &str) -> String {
    let utc: DateTime<chrono::Utc> = crate::data::timestamp(seconds);
    let local = timezone.from_utc_datetime(&utc.naive_utc());
    local
        .format_localized(pattern, chrono_locale(locale))
        .to_string()
}

/// [`date`], remembering what it wrote: a date's text depends only on the
/// local day (or minute) and the locale, and messages of a run share most
/// of them (today, the offer's end…).
#[derive(Debug, Default)]
pub struct DateMemo {
    known: std::sync::RwLock<std::collections::HashMap<(DateStyle, i64), Vec<LocaleText>>>,
}

/// A date's text in one locale.
type LocaleText = (Box<str>, String);

/// Dates remembered, at most.
const DATES: usize = 100_000;

impl DateMemo {
    pub fn date(&self, seconds: i64, timezone: Tz, locale: &str, style: DateStyle) -> String {
        use chrono::Datelike;
        let local = timezone.from_utc_datetime(&crate::data::timestamp(seconds).naive_utc());
        let naive = local.naive_local();
        let when = match style {
            DateStyle::DateTime => naive.and_utc().timestamp().div_euclid(60),
            DateStyle::Long | DateStyle::Short => i64::from(naive.num_days_from_ce()),
        };
        {
            let known = self.known.read().unwrap_or_else(|p| p.into_inner());
            if let Some((_, text)) = known
                .get(&(style, when))
                .and_then(|texts| texts.iter().find(|(l, _)| &**l == locale))
            {
                return text.clone();
            }
        }
        let text = local
            .format_localized(pattern(style, locale), chrono_locale(locale))
            .to_string();
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if known.len() < DATES {
            known
                .entry((style, when))
                .or_default()
                .push((locale.into(), text.clone()));
        }
        text
    }
}

/// The year of Unix seconds in a time zone.
pub fn year(seconds: i64, timezone: Tz) -> i32 {
    use chrono::Datelike;
    timezone
        .from_utc_datetime(&crate::data::timestamp(seconds).naive_utc())
        .year()
}

/// Whether `count` takes the singular in the locale (CLDR's "one"): French
/// and Portuguese say "0 produit", English and German "0 products".
pub fn is_singular(count: f64, locale: &str) -> bool {
    match language(locale).as_str() {
        "fr" | "pt" => count.abs() < 2.0,
        _ => count == 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_round_down_to_the_half() {
        assert_eq!(stars(4.8), "★★★★½");
        assert_eq!(stars(4.0), "★★★★☆");
        assert_eq!(stars(3.5), "★★★½☆");
        assert_eq!(stars(4.49), "★★★★☆");
        assert_eq!(stars(5.0), "★★★★★");
        assert_eq!(stars(0.0), "☆☆☆☆☆");
        assert_eq!(stars(7.0), "★★★★★");
    }

    #[test]
    fn numbers_and_percentages_per_locale() {
        assert_eq!(rating(4.8, "en-US"), "4.8");
        assert_eq!(rating(4.0, "fr-FR"), "4,0");
        assert_eq!(number(20.0, 2, "en-US"), "20");
        assert_eq!(count(1204, "en-US"), "1,204");
        assert_eq!(count(1204567, "fr-FR"), "1\u{202f}204\u{202f}567");
        assert_eq!(count(999, "de-DE"), "999");
        assert_eq!(number(12.5, 2, "de-DE"), "12,5");
        assert_eq!(percent(15.0, "en-US"), "15%");
        assert_eq!(percent(15.0, "fr-FR"), "15\u{202f}%");
        assert_eq!(percent(12.5, "de-DE"), "12,5\u{a0}%");
    }

    #[test]
    fn dates_in_the_customers_zone_and_language() {
        // 2026-11-23T04:30:00Z: still the 22nd in Los Angeles.
        let at = 1_795_408_200;
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(date(at, la, "en-US", DateStyle::Long), "November 22, 2026");
        assert_eq!(
            date(at, paris, "fr-FR", DateStyle::Long),
            "23 novembre 2026"
        );
        assert_eq!(
            date(at, paris, "de-DE", DateStyle::Long),
            "23. November 2026"
        );
        assert_eq!(date(at, paris, "en-GB", DateStyle::Short), "23/11/2026");
        assert_eq!(
            date(at, la, "en-US", DateStyle::DateTime),
            "November 22, 2026 at 8:30 PM"
        );
        assert_eq!(
            date(at, paris, "fr-FR", DateStyle::DateTime),
            "23 novembre 2026, 05:30"
        );
        assert_eq!(date_with(at, paris, "fr-FR", "%A"), "lundi");
        assert_eq!(
            date(at, paris, "xx-YY", DateStyle::Long),
            "23 November 2026",
            "unknown locales fall back to English names"
        );
    }

    #[test]
    fn remembered_dates_are_the_same_dates() {
        let memo = DateMemo::default();
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let paris: Tz = "Europe/Paris".parse().unwrap();
        for _ in 0..2 {
            for (seconds, tz, locale) in [
                (1_795_408_200, la, "en-US"),
                (1_795_408_200, paris, "fr-FR"),
                (1_795_408_200 + 3600, paris, "de-DE"),
            ] {
                for style in [DateStyle::Long, DateStyle::Short, DateStyle::DateTime] {
                    assert_eq!(
                        memo.date(seconds, tz, locale, style),
                        date(seconds, tz, locale, style)
                    );
                }
            }
        }
    }

    #[test]
    fn plural_rules() {
        assert!(is_singular(1.0, "en-US"));
        assert!(!is_singular(0.0, "en-US"));
        assert!(is_singular(0.0, "fr-FR"));
        assert!(!is_singular(2.0, "fr-FR"));
    }
}
