//! Frequency caps: whether one more message may go to a customer at `now`,
//! given what they were sent recently — and if not, which cap holds it back
//! and the earliest time it would be allowed (for `on_cap = "defer"`).
//!
//! Pure: planning calls it with the history's sends; the ledger calls the
//! same function inside its claim transaction, so what `plan` says is what
//! `send` does. The caps, each checked at `now`:
//!
//! - this campaign's `per_customer` rate (`1/7d`: at most one of *its*
//!   messages in any 7 days) and `min_gap`;
//! - the global `max` rate over all campaigns (`2/7d`) and `min_gap`;
//! - quiet hours in the customer's time zone (`21:00`–`08:00`).
//!
//! A rate `n/w` allows a message at `t` when fewer than `n` were sent in
//! `(t - w, t]`; a gap `g` when the last was sent at `t - g` or earlier.

use chrono::TimeDelta;
use chrono_tz::Tz;
use serde::Serialize;

use crate::calendar;
use crate::campaign::CampaignCaps;
use crate::config::{GlobalCaps, OnCap, QuietHours};
use crate::history::PastSend;
use crate::units::{Rate, format_duration};

/// What the caps say about a message, decided inside the ledger's claim
/// transaction (against every campaign's claims and sends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapVerdict {
    Allowed,
    /// Not now: skip for good, with the reason.
    Skip(String),
    /// Not now: try again at `until` (Unix seconds), with the reason.
    Defer {
        reason: String,
        until: i64,
    },
}

/// The caps that apply to one campaign's messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapRules {
    pub campaign_rate: Option<Rate>,
    pub campaign_min_gap: Option<TimeDelta>,
    pub rate: Option<Rate>,
    pub min_gap: Option<TimeDelta>,
    pub quiet_hours: Option<QuietHours>,
}

impl CapRules {
    pub fn new(global: &GlobalCaps, campaign: &CampaignCaps) -> CapRules {
        CapRules {
            campaign_rate: campaign.per_customer,
            campaign_min_gap: campaign.min_gap,
            rate: global.max,
            min_gap: global.min_gap,
            quiet_hours: global.quiet_hours,
        }
    }

    /// How far back (seconds) sends can matter; 0 when no cap looks at the past.
    pub fn lookback(&self) -> i64 {
        [
            self.campaign_rate.map(|r| r.window),
            self.campaign_min_gap,
            self.rate.map(|r| r.window),
            self.min_gap,
        ]
        .into_iter()
        .flatten()
        .map(|d| d.num_seconds())
        .max()
        .unwrap_or(0)
    }
}

/// The cap that holds a message back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cap", rename_all = "snake_case")]
pub enum Cap {
    /// The campaign's `per_customer` rate, e.g. `1/7d`.
    CampaignRate {
        rate: String,
    },
    CampaignMinGap {
        gap: String,
    },
    /// The global `max` rate over all campaigns.
    Rate {
        rate: String,
    },
    MinGap {
        gap: String,
    },
    QuietHours {
        start: String,
        end: String,
    },
}

impl Cap {
    /// A short name for summaries.
    pub fn name(&self) -> &'static str {
        match self {
            Cap::CampaignRate { .. } => "campaign rate",
            Cap::CampaignMinGap { .. } => "campaign gap",
            Cap::Rate { .. } => "global rate",
            Cap::MinGap { .. } => "global gap",
            Cap::QuietHours { .. } => "quiet hours",
        }
    }
}

impl std::fmt::Display for Cap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cap::CampaignRate { rate } => write!(f, "campaign cap {rate} per customer"),
            Cap::CampaignMinGap { gap } => {
                write!(f, "at least {gap} between two messages of this campaign")
            }
            Cap::Rate { rate } => write!(f, "global cap {rate} over all campaigns"),
            Cap::MinGap { gap } => write!(f, "at least {gap} between two messages"),
            Cap::QuietHours { start, end } => write!(f, "quiet hours {start}–{end}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum CapDecision {
    Allowed,
    Capped {
        /// The first cap (in the order of the module docs) that holds the message back at `now`.
        cap: Cap,
        /// The earliest time every cap allows it (Unix seconds); `None` = never (a `0/…` rate).
        allowed_at: Option<i64>,
    },
}

/// What becomes of a message a cap holds back: quiet hours always defer (the
/// customer's night is no reason to drop the moment); other caps follow
/// `on_cap`; a cap that will never allow it (`0/…`) skips.
pub fn action(cap: &Cap, allowed_at: Option<i64>, on_cap: OnCap) -> OnCap {
    match (cap, allowed_at) {
        (_, None) => OnCap::Skip,
        (Cap::QuietHours { .. }, Some(_)) => OnCap::Defer,
        (_, Some(_)) => on_cap,
    }
}

/// The decision as the ledger records it in its claim transaction.
pub fn verdict(decision: &CapDecision, on_cap: OnCap) -> CapVerdict {
    match decision {
        CapDecision::Allowed => CapVerdict::Allowed,
        CapDecision::Capped { cap, allowed_at } => {
            match (action(cap, *allowed_at, on_cap), allowed_at) {
                (OnCap::Defer, Some(until)) => CapVerdict::Defer {
                    reason: cap.to_string(),
                    until: *until,
                },
                _ => CapVerdict::Skip(cap.to_string()),
            }
        }
    }
}

/// Whether one more message of `campaign` may go at `now` to a customer in
/// time zone `tz` who was sent `sends` (all campaigns; order does not matter).
pub fn check(
    rules: &CapRules,
    campaign: &str,
    sends: &[PastSend],
    tz: Tz,
    now: i64,
) -> CapDecision {
    let mut all: Vec<i64> = sends.iter().map(|s| s.at).collect();
    all.sort_unstable();
    let mut mine: Vec<i64> = sends
        .iter()
        .filter(|s| s.campaign == campaign)
        .map(|s| s.at)
        .collect();
    mine.sort_unstable();

    type Earliest<'a> = Box<dyn Fn(i64) -> Option<i64> + 'a>;
    let mut caps: Vec<(Cap, Earliest<'_>)> = Vec::new();
    if let Some(rate) = rules.campaign_rate {
        let mine = &mine;
        caps.push((
            Cap::CampaignRate {
                rate: rate.to_string(),
            },
            Box::new(move |t| rate_allows_from(rate, mine, t)),
        ));
    }
    if let Some(gap) = rules.campaign_min_gap {
        let mine = &mine;
        caps.push((
            Cap::CampaignMinGap {
                gap: format_duration(gap),
            },
            Box::new(move |t| Some(gap_allows_from(gap, mine, t))),
        ));
    }
    if let Some(rate) = rules.rate {
        let all = &all;
        caps.push((
            Cap::Rate {
                rate: rate.to_string(),
            },
            Box::new(move |t| rate_allows_from(rate, all, t)),
        ));
    }
    if let Some(gap) = rules.min_gap {
        let all = &all;
        caps.push((
            Cap::MinGap {
                gap: format_duration(gap),
            },
            Box::new(move |t| Some(gap_allows_from(gap, all, t))),
        ));
    }
    if let Some(quiet) = rules.quiet_hours {
        caps.push((
            Cap::QuietHours {
                start: quiet.start.format("%H:%M").to_string(),
                end: quiet.end.format("%H:%M").to_string(),
            },
            Box::new(move |t| Some(quiet_until(quiet, tz, t))),
        ));
    }

    let Some((cap, _)) = caps.iter().find(|(_, earliest)| earliest(now) != Some(now)) else {
        return CapDecision::Allowed;
    };
    // Each cap only ever moves the time forward; a few rounds settle it
    // (a rate may push into quiet hours, whose end then satisfies the rate).
    let mut t = now;
    let allowed_at = loop {
        let mut next = t;
        for (_, earliest) in &caps {
            match earliest(next) {
                Some(later) => next = later,
                None => {
                    return CapDecision::Capped {
                        cap: cap.clone(),
                        allowed_at: None,
                    };
                }
            }
        }
        if next == t {
            break t;
        }
        t = next;
    };
    CapDecision::Capped {
        cap: cap.clone(),
        allowed_at: Some(allowed_at),
    }
}

/// The earliest time from `t` at which fewer than `rate.count` of `times` (sorted) are in the trailing window.
fn rate_allows_from(rate: Rate, times: &[i64], t: i64) -> Option<i64> {
    let count = rate.count as usize;
    if count == 0 {
        return None;
    }
    if times.len() < count {
        return Some(t);
    }
    let oldest_that_counts = times[times.len() - count];
    Some(t.max(oldest_that_counts + rate.window.num_seconds()))
}

fn gap_allows_from(gap: TimeDelta, times: &[i64], t: i64) -> i64 {
    times
        .last()
        .map_or(t, |last| t.max(last + gap.num_seconds()))
}

/// `t`, or the end of the quiet hours `t` falls in (in the customer's time zone).
fn quiet_until(quiet: QuietHours, tz: Tz, t: i64) -> i64 {
    let local = calendar::local(t, tz);
    let time = local.time();
    let is_quiet = if quiet.start <= quiet.end {
        quiet.start <= time && time < quiet.end
    } else {
        time >= quiet.start || time < quiet.end
    };
    if !is_quiet {
        return t;
    }
    let today = local.date_naive();
    let end_day = if time < quiet.end {
        today
    } else {
        today.succ_opt().unwrap_or(today)
    };
    calendar::local_instant(end_day, quiet.end, tz).max(t)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveTime};

    use super::*;

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp()
    }

    const NOW: &str = "2026-11-16T12:00:00Z";
    const HOUR: i64 = 3_600;
    const DAY: i64 = 86_400;

    fn send(campaign: &str, seconds_ago: i64) -> PastSend {
        PastSend {
            campaign: campaign.into(),
            at: at(NOW) - seconds_ago,
        }
    }

    fn rate(text: &str) -> Rate {
        crate::units::parse_rate(text).unwrap()
    }

    fn global(text: &str) -> CapRules {
        CapRules {
            rate: Some(rate(text)),
            ..CapRules::default()
        }
    }

    fn capped(cap: Cap, allowed_at: i64) -> CapDecision {
        CapDecision::Capped {
            cap,
            allowed_at: Some(allowed_at),
        }
    }

    const PARIS: Tz = Tz::Europe__Paris;

    #[test]
    fn no_caps_no_history() {
        assert_eq!(
            check(&CapRules::default(), "a", &[], PARIS, at(NOW)),
            CapDecision::Allowed
        );
        assert_eq!(
            check(&global("2/7d"), "a", &[], PARIS, at(NOW)),
            CapDecision::Allowed
        );
    }

    #[test]
    fn a_rate_over_all_campaigns() {
        let rules = global("2/7d");
        let two = [send("a", 6 * DAY), send("b", DAY)];
        assert_eq!(
            check(&rules, "c", &two, PARIS, at(NOW)),
            capped(
                Cap::Rate {
                    rate: "2/7d".into()
                },
                at(NOW) + DAY
            )
        );
        // Exactly seven days ago is out of the window.
        let aged = [send("a", 7 * DAY), send("b", DAY)];
        assert_eq!(
            check(&rules, "c", &aged, PARIS, at(NOW)),
            CapDecision::Allowed
        );
        let inside = [send("a", 7 * DAY - 1), send("b", DAY)];
        assert_eq!(
            check(&rules, "c", &inside, PARIS, at(NOW)),
            capped(
                Cap::Rate {
                    rate: "2/7d".into()
                },
                at(NOW) + 1
            )
        );
        assert_eq!(
            check(&global("0/1d"), "c", &[], PARIS, at(NOW)),
            CapDecision::Capped {
                cap: Cap::Rate {
                    rate: "0/1d".into()
                },
                allowed_at: None
            }
        );
    }

    #[test]
    fn a_minimum_gap() {
        let rules = CapRules {
            min_gap: Some(TimeDelta::hours(16)),
            ..CapRules::default()
        };
        assert_eq!(
            check(&rules, "a", &[send("b", 16 * HOUR - 1)], PARIS, at(NOW)),
            capped(Cap::MinGap { gap: "16h".into() }, at(NOW) + 1)
        );
        assert_eq!(
            check(&rules, "a", &[send("b", 16 * HOUR)], PARIS, at(NOW)),
            CapDecision::Allowed
        );
    }

    #[test]
    fn campaign_caps_count_only_the_campaign() {
        let rules = CapRules {
            campaign_rate: Some(rate("1/7d")),
            campaign_min_gap: Some(TimeDelta::days(30)),
            ..CapRules::default()
        };
        assert_eq!(
            check(&rules, "a", &[send("b", HOUR)], PARIS, at(NOW)),
            CapDecision::Allowed
        );
        // The campaign rate is named (checked first); the gap pushes the time further.
        assert_eq!(
            check(&rules, "a", &[send("a", DAY)], PARIS, at(NOW)),
            capped(
                Cap::CampaignRate {
                    rate: "1/7d".into()
                },
                at(NOW) + 29 * DAY
            )
        );
        assert_eq!(
            check(&rules, "a", &[send("a", 8 * DAY)], PARIS, at(NOW)),
            capped(
                Cap::CampaignMinGap { gap: "30d".into() },
                at(NOW) + 22 * DAY
            )
        );
    }

    fn quiet(start: &str, end: &str) -> CapRules {
        CapRules {
            quiet_hours: Some(QuietHours {
                start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
                end: NaiveTime::parse_from_str(end, "%H:%M").unwrap(),
            }),
            ..CapRules::default()
        }
    }

    #[test]
    fn quiet_hours_in_the_customer_time_zone() {
        let rules = quiet("21:00", "08:00");
        let new_york = Tz::America__New_York;
        let quiet_hours = Cap::QuietHours {
            start: "21:00".into(),
            end: "08:00".into(),
        };
        // 09:00 UTC is 04:00 in New York (quiet until 08:00 = 13:00 UTC) and 10:00 in Paris.
        let morning = at("2026-11-16T09:00:00Z");
        assert_eq!(
            check(&rules, "a", &[], new_york, morning),
            capped(quiet_hours.clone(), at("2026-11-16T13:00:00Z"))
        );
        assert_eq!(
            check(&rules, "a", &[], PARIS, morning),
            CapDecision::Allowed
        );
        // The edges: 20:59:59 is allowed, 21:00 is quiet until the next morning, 08:00 is allowed.
        assert_eq!(
            check(&rules, "a", &[], PARIS, at("2026-11-16T19:59:59Z")),
            CapDecision::Allowed
        );
        assert_eq!(
            check(&rules, "a", &[], PARIS, at("2026-11-16T20:00:00Z")),
            capped(quiet_hours.clone(), at("2026-11-17T07:00:00Z"))
        );
        assert_eq!(
            check(&rules, "a", &[], PARIS, at("2026-11-17T07:00:00Z")),
            CapDecision::Allowed
        );
        // Hours that do not wrap midnight.
        let afternoon = quiet("13:00", "14:00");
        assert_eq!(
            check(&afternoon, "a", &[], PARIS, at("2026-11-16T11:59:59Z")),
            CapDecision::Allowed
        );
        assert_eq!(
            check(&afternoon, "a", &[], PARIS, at("2026-11-16T12:00:00Z")),
            capped(
                Cap::QuietHours {
                    start: "13:00".into(),
                    end: "14:00".into()
                },
                at("2026-11-16T13:00:00Z")
            )
        );
    }

    #[test]
    fn quiet_hours_ending_in_a_dst_gap() {
        // New York, 8 March 2026: 02:00 jumps to 03:00, so 02:30 never happens;
        // the quiet hours end at the jump, 07:00 UTC.
        let rules = quiet("21:00", "02:30");
        assert_eq!(
            check(
                &rules,
                "a",
                &[],
                Tz::America__New_York,
                at("2026-03-08T04:00:00Z")
            ),
            capped(
                Cap::QuietHours {
                    start: "21:00".into(),
                    end: "02:30".into()
                },
                at("2026-03-08T07:00:00Z")
            )
        );
    }

    #[test]
    fn what_the_ledger_records() {
        let rate = Cap::Rate {
            rate: "2/7d".into(),
        };
        let quiet = Cap::QuietHours {
            start: "21:00".into(),
            end: "08:00".into(),
        };
        let capped = |cap: &Cap, allowed_at| CapDecision::Capped {
            cap: cap.clone(),
            allowed_at,
        };
        assert_eq!(
            verdict(&CapDecision::Allowed, OnCap::Skip),
            CapVerdict::Allowed
        );
        assert_eq!(
            verdict(&capped(&rate, Some(100)), OnCap::Skip),
            CapVerdict::Skip("global cap 2/7d over all campaigns".into())
        );
        assert_eq!(
            verdict(&capped(&rate, Some(100)), OnCap::Defer),
            CapVerdict::Defer {
                reason: "global cap 2/7d over all campaigns".into(),
                until: 100
            }
        );
        assert_eq!(
            verdict(&capped(&quiet, Some(100)), OnCap::Skip),
            CapVerdict::Defer {
                reason: "quiet hours 21:00–08:00".into(),
                until: 100
            }
        );
        assert_eq!(
            verdict(&capped(&rate, None), OnCap::Defer),
            CapVerdict::Skip("global cap 2/7d over all campaigns".into())
        );
    }

    #[test]
    fn a_rate_that_ends_in_quiet_hours_waits_for_the_morning() {
        let mut rules = quiet("21:00", "08:00");
        rules.rate = Some(rate("1/1d"));
        // Sent 14 hours ago: allowed again 10 hours from now, 23:00 in Paris — quiet until 08:00.
        let decision = check(&rules, "a", &[send("b", 14 * HOUR)], PARIS, at(NOW));
        assert_eq!(
            decision,
            capped(
                Cap::Rate {
                    rate: "1/1d".into()
                },
                at("2026-11-17T07:00:00Z")
            )
        );
        assert_eq!(rules.lookback(), DAY);
        assert_eq!(CapRules::default().lookback(), 0);
    }
}
