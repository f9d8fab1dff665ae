//! The small value languages marketers type in YAML and TOML: durations
//! (`48h`, `7d`, `1d12h`), frequency caps (`2/7d`), shares (`10%`), times of
//! day (`21:00`) and days of the year (`03-01`).
//!
//! Each parser returns a plain message on failure; the caller knows the file
//! and position and turns it into a [`crate::diagnostic::Diagnostic`].

use std::fmt;

use chrono::{NaiveTime, TimeDelta};
use serde::Serialize;

/// The longest duration anyone may write: a hundred years.
pub const MAX_DURATION_SECONDS: i64 = 100 * 366 * 86_400;

/// A duration written as one or more `<number><unit>` parts: `s`, `m`, `h`, `d`, `w`.
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let text = text.trim();
    let invalid = || {
        format!(
            "invalid duration `{text}`: expected a number and a unit, like `30m`, `48h`, `7d` or `2w`"
        )
    };
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = TimeDelta::zero();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        if digits == 0 {
            return Err(invalid());
        }
        let number: i64 = rest[..digits].parse().map_err(|_| invalid())?;
        let unit = rest[digits..].chars().next().ok_or_else(invalid)?;
        let seconds_per_unit = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(invalid()),
        };
        // The whole (not each part) is capped, so `now + duration` always
        // stays a date chrono and every time zone can show.
        total = number
            .checked_mul(seconds_per_unit)
            .and_then(|seconds| total.num_seconds().checked_add(seconds))
            .filter(|s| *s <= MAX_DURATION_SECONDS)
            .map(TimeDelta::seconds)
            .ok_or_else(|| format!("duration `{text}` is longer than a hundred years"))?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(total)
}

/// Writes a duration back in the largest exact unit (`172800s` → `2d`).
pub fn format_duration(duration: TimeDelta) -> String {
    let seconds = duration.num_seconds();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds != 0 && seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// At most `count` messages in any `window`: written `2/7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rate {
    pub count: u32,
    #[serde(serialize_with = "serialize_duration")]
    pub window: TimeDelta,
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, format_duration(self.window))
    }
}

pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let invalid = || format!("invalid cap `{text}`: expected `<count>/<duration>`, like `2/7d`");
    let (count, window) = text.trim().split_once('/').ok_or_else(invalid)?;
    let count: u32 = count.trim().parse().map_err(|_| invalid())?;
    let window = parse_duration(window).map_err(|_| invalid())?;
    if window <= TimeDelta::zero() {
        return Err(invalid());
    }
    Ok(Rate { count, window })
}

/// A share of a population written `10%` (or `0.5%`), kept in basis points (1/100 of a percent).
pub fn parse_percent(text: &str) -> Result<u32, String> {
    let invalid = || {
        format!(
            "invalid percentage `{text}`: expected a number from 0 to 100 followed by `%`, like `10%`"
        )
    };
    let number = text.trim().strip_suffix('%').ok_or_else(invalid)?.trim();
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || fraction.len() > 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    let whole: u32 = whole.parse().map_err(|_| invalid())?;
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    let basis_points = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(invalid)?;
    if basis_points > 10_000 {
        return Err(invalid());
    }
    Ok(basis_points)
}

/// A time of day, `21:00`.
pub fn parse_time_of_day(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| format!("invalid time of day `{text}`: expected `HH:MM`, like `21:00`"))
}

/// A day of the year, `03-01` (month-day), for seasonal windows.
pub fn parse_month_day(text: &str) -> Result<(u32, u32), String> {
    let invalid = || format!("invalid day `{text}`: expected `MM-DD`, like `03-01`");
    let (month, day) = text.trim().split_once('-').ok_or_else(invalid)?;
    let month: u32 = month.parse().map_err(|_| invalid())?;
    let day: u32 = day.parse().map_err(|_| invalid())?;
    // 2024 is a leap year, so `02-29` is a valid day of a window.
    chrono::NaiveDate::from_ymd_opt(2024, month, day).ok_or_else(invalid)?;
    Ok((month, day))
}

pub fn serialize_duration<S: serde::Serializer>(d: &TimeDelta, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

pub fn serialize_optional_duration<S: serde::Serializer>(
    d: &Option<TimeDelta>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&format_duration(*d)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("48h"), Ok(TimeDelta::hours(48)));
        assert_eq!(parse_duration("7d"), Ok(TimeDelta::days(7)));
        assert_eq!(parse_duration("1d12h"), Ok(TimeDelta::hours(36)));
        assert_eq!(parse_duration("2w"), Ok(TimeDelta::days(14)));
        assert_eq!(parse_duration("90s"), Ok(TimeDelta::seconds(90)));
        assert_eq!(
            parse_duration("48 hours"),
            Err("invalid duration `48 hours`: expected a number and a unit, like `30m`, `48h`, `7d` or `2w`".into())
        );
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999d").is_err());
        assert_eq!(format_duration(TimeDelta::hours(48)), "2d");
        assert_eq!(format_duration(TimeDelta::hours(36)), "36h");
    }

    #[test]
    fn rates() {
        assert_eq!(
            parse_rate("2/7d"),
            Ok(Rate {
                count: 2,
                window: TimeDelta::days(7)
            })
        );
        assert_eq!(parse_rate("2/7d").unwrap().to_string(), "2/7d");
        assert!(parse_rate("2 per week").is_err());
        assert!(parse_rate("2/0d").is_err());
    }

    #[test]
    fn percents_are_basis_points() {
        assert_eq!(parse_percent("10%"), Ok(1_000));
        assert_eq!(parse_percent("0.5%"), Ok(50));
        assert_eq!(parse_percent("100%"), Ok(10_000));
        assert!(parse_percent("101%").is_err());
        assert!(parse_percent("10").is_err());
        assert!(parse_percent("0.125%").is_err());
    }

    #[test]
    fn days_of_year() {
        assert_eq!(parse_month_day("03-01"), Ok((3, 1)));
        assert_eq!(parse_month_day("02-29"), Ok((2, 29)));
        assert!(parse_month_day("02-30").is_err());
        assert!(parse_time_of_day("21:00").is_ok());
        assert!(parse_time_of_day("25:00").is_err());
    }
}
