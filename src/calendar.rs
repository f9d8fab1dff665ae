//! The customer's calendar: which local day or month an instant falls in,
//! when a local day starts (DST-correct, through chrono-tz), and dates
//! written the way the customer's locale writes them ("23 November 2026",
//! "November 23, 2026", "23 novembre 2026").
//!
//! Triggers ("20 workouts this month"), quiet hours and offer expiries all
//! mean the customer's own day, not UTC's; this module is the one place that
//! turns Unix seconds into local calendar terms and back.
//!
//! Date formatting is a small table of the languages a campaign uses, like
//! [`crate::money`] for amounts; unknown languages fall back to US English.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::data::timestamp;

/// The instant in the customer's time zone.
pub fn local(ts: i64, tz: Tz) -> DateTime<Tz> {
    timestamp(ts).with_timezone(&tz)
}

/// The customer's calendar day at `ts`.
pub fn local_date(ts: i64, tz: Tz) -> NaiveDate {
    local(ts, tz).date_naive()
}

/// The customer's calendar month at `ts`, written `2026-11`.
pub fn month_label(ts: i64, tz: Tz) -> String {
    let date = local_date(ts, tz);
    format!("{:04}-{:02}", date.year(), date.month())
}

/// The first instant (Unix seconds) at which the wall clock in `tz` shows
/// `date` at `time` or later. When that wall time is skipped by a DST change
/// (02:30 on a spring-forward night), this is the moment the clocks jump;
/// when it happens twice (autumn), the first of the two.
pub fn local_instant(date: NaiveDate, time: NaiveTime, tz: Tz) -> i64 {
    let wanted = NaiveDateTime::new(date, time);
    if let Some(instant) = tz.from_local_datetime(&wanted).earliest() {
        return instant.timestamp();
    }
    // Inside a DST gap: the first existing minute after it is the jump.
    let mut candidate = wanted;
    for _ in 0..(24 * 60) {
        candidate += chrono::TimeDelta::minutes(1);
        if let Some(instant) = tz.from_local_datetime(&candidate).earliest() {
            let jump = instant.timestamp();
            // The jump itself may be a few seconds earlier than the minute found; step back to it.
            return (jump - 59..=jump)
                .find(|t| local(*t, tz).naive_local() >= wanted)
                .unwrap_or(jump);
        }
    }
    Utc.from_utc_datetime(&wanted).timestamp()
}

/// The first instant of the customer's day `date`.
pub fn start_of_day(date: NaiveDate, tz: Tz) -> i64 {
    local_instant(date, NaiveTime::MIN, tz)
}

/// The last second of the customer's day `date`.
pub fn end_of_day(date: NaiveDate, tz: Tz) -> i64 {
    match date.succ_opt() {
        Some(next) => start_of_day(next, tz) - 1,
        None => i64::MAX,
    }
}

/// `ts` as RFC 3339 in UTC, `2026-11-16T09:00:00Z`.
pub fn rfc3339(ts: i64) -> String {
    timestamp(ts).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// How a language writes a long date.
enum DateStyle {
    /// November 23, 2026
    MonthDayYear,
    /// 23 November 2026
    DayMonthYear,
    /// 23. November 2026
    DayDotMonthYear,
    /// 23 de noviembre de 2026
    DayDeMonthDeYear,
    /// 1er novembre 2026 (French writes the first of the month as an ordinal)
    French,
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const MONTHS_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];
const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const MONTHS_IT: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];
const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];
const MONTHS_PT: [&str; 12] = [
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
];

fn date_style(locale: &str) -> (DateStyle, &'static [&'static str; 12]) {
    let mut parts = locale.split(['-', '_']);
    let language = parts.next().unwrap_or("en").to_ascii_lowercase();
    let region = parts.next().unwrap_or_default().to_ascii_uppercase();
    match language.as_str() {
        "fr" => (DateStyle::French, &MONTHS_FR),
        "de" => (DateStyle::DayDotMonthYear, &MONTHS_DE),
        "es" => (DateStyle::DayDeMonthDeYear, &MONTHS_ES),
        "pt" => (DateStyle::DayDeMonthDeYear, &MONTHS_PT),
        "it" => (DateStyle::DayMonthYear, &MONTHS_IT),
        "nl" => (DateStyle::DayMonthYear, &MONTHS_NL),
        // English outside North America (and the Philippines) puts the day first.
        "en" if !matches!(region.as_str(), "" | "US" | "CA" | "PH") => {
            (DateStyle::DayMonthYear, &MONTHS_EN)
        }
        _ => (DateStyle::MonthDayYear, &MONTHS_EN),
    }
}

/// A calendar date as the locale writes it in full: `November 23, 2026`
/// (en-US), `23 November 2026` (en-GB), `23 novembre 2026` (fr),
/// `23. November 2026` (de), `23 de noviembre de 2026` (es).
pub fn format_date(date: NaiveDate, locale: &str) -> String {
    let (style, months) = date_style(locale);
    let (day, month, year) = (date.day(), months[date.month0() as usize], date.year());
    match style {
        DateStyle::MonthDayYear => format!("{month} {day}, {year}"),
        DateStyle::DayMonthYear => format!("{day} {month} {year}"),
        DateStyle::DayDotMonthYear => format!("{day}. {month} {year}"),
        DateStyle::DayDeMonthDeYear => format!("{day} de {month} de {year}"),
        DateStyle::French if day == 1 => format!("1er {month} {year}"),
        DateStyle::French => format!("{day} {month} {year}"),
    }
}

/// The customer's calendar date at `ts`, written in their locale.
pub fn format_local_date(ts: i64, tz: Tz, locale: &str) -> String {
    format_date(local_date(ts, tz), locale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_in_each_locale() {
        let date = day(2026, 11, 23);
        assert_eq!(format_date(date, "en-US"), "November 23, 2026");
        assert_eq!(format_date(date, "en"), "November 23, 2026");
        assert_eq!(format_date(date, "en-GB"), "23 November 2026");
        assert_eq!(format_date(date, "fr-FR"), "23 novembre 2026");
        assert_eq!(format_date(day(2026, 12, 1), "fr-FR"), "1er décembre 2026");
        assert_eq!(format_date(date, "de-DE"), "23. November 2026");
        assert_eq!(format_date(date, "es-ES"), "23 de noviembre de 2026");
        assert_eq!(format_date(day(2026, 3, 5), "pt-BR"), "5 de março de 2026");
        assert_eq!(format_date(date, "it_IT"), "23 novembre 2026");
        assert_eq!(format_date(date, "nl-NL"), "23 november 2026");
        assert_eq!(format_date(date, "xx-YY"), "November 23, 2026");
    }

    #[test]
    fn local_dates_follow_the_customer_time_zone() {
        let ts = at("2026-11-16T03:00:00Z");
        assert_eq!(local_date(ts, Tz::Europe__Paris), day(2026, 11, 16));
        assert_eq!(local_date(ts, Tz::America__Los_Angeles), day(2026, 11, 15));
        assert_eq!(
            format_local_date(ts, Tz::America__Los_Angeles, "en-US"),
            "November 15, 2026"
        );
        assert_eq!(
            month_label(at("2026-11-01T03:00:00Z"), Tz::America__New_York),
            "2026-10"
        );
        assert_eq!(
            month_label(at("2026-11-01T04:00:00Z"), Tz::America__New_York),
            "2026-11"
        );
    }

    #[test]
    fn days_across_daylight_saving_changes() {
        let paris = Tz::Europe__Paris;
        // 29 March 2026: clocks go from 02:00 to 03:00; the day has 23 hours.
        let spring = day(2026, 3, 29);
        assert_eq!(start_of_day(spring, paris), at("2026-03-28T23:00:00Z"));
        assert_eq!(end_of_day(spring, paris), at("2026-03-29T21:59:59Z"));
        // 25 October 2026: 03:00 back to 02:00; the day has 25 hours.
        let autumn = day(2026, 10, 25);
        assert_eq!(start_of_day(autumn, paris), at("2026-10-24T22:00:00Z"));
        assert_eq!(end_of_day(autumn, paris), at("2026-10-25T22:59:59Z"));
        // 02:30 does not exist on the spring night: the first instant after it is the jump.
        let half_past_two = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        assert_eq!(
            local_instant(spring, half_past_two, paris),
            at("2026-03-29T01:00:00Z")
        );
        // 02:30 happens twice in autumn: the first.
        assert_eq!(
            local_instant(autumn, half_past_two, paris),
            at("2026-10-25T00:30:00Z")
        );
        assert_eq!(rfc3339(at("2026-10-25T00:30:00Z")), "2026-10-25T00:30:00Z");
    }
}
