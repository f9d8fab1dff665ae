//! When a campaign is due, for `xsell run`: the schedule's cron times since
//! the last recorded run, and what to do with each — run it, or skip it and
//! record why (superseded by a later one, or too late to be worth sending).
//!
//! **Catch-up policy** (per campaign, `catch_up`), for due times missed
//! while no `xsell run` happened (the machine was off):
//! - `latest` (default): run once, for the most recent due time; the older
//!   ones are recorded as superseded.
//! - `all`: run each missed due time, oldest first.
//! - `none`: run the most recent due time only if it is less than one hour
//!   old (or `max_lateness`, when set); otherwise skip it.
//!
//! In every policy a due time more than `max_lateness` old is skipped and
//! recorded as stale: a late "weekend sale" is worse than none.
//!
//! The first time a campaign is seen (no recorded run), only its most recent
//! due time counts: installing xsell does not replay the past.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::campaign::{CatchUp, Schedule};
use crate::units::format_duration;

/// Never look at more due times than this in one run (a `* * * * *` schedule
/// after a month off would otherwise list 43,200).
const MAX_DUE_TIMES: usize = 1_000;

/// The default lateness allowed under `catch_up: none`.
const NONE_GRACE: TimeDelta = TimeDelta::hours(1);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", content = "reason", rename_all = "snake_case")]
pub enum Decision {
    Run,
    Skip(String),
}

/// A due time and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    pub at: DateTime<Utc>,
    pub decision: Decision,
}

/// The schedule's due times after `last` (exclusive) up to `now` (inclusive), oldest first.
/// Without `last`, only the most recent due time at or before `now`.
pub fn due_times(
    schedule: &Schedule,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let now_local = now.with_timezone(&schedule.timezone);
    let Some(last) = last else {
        return schedule
            .cron
            .find_previous_occurrence(&now_local, true)
            .map(|t| vec![t.with_timezone(&Utc)])
            .unwrap_or_default();
    };
    let mut times = Vec::new();
    let mut cursor = last.with_timezone(&schedule.timezone);
    while let Ok(next) = schedule.cron.find_next_occurrence(&cursor, false) {
        if next > now_local {
            break;
        }
        times.push(next.with_timezone(&Utc));
        cursor = next;
        if times.len() > MAX_DUE_TIMES {
            // Keep the most recent ones: those are what any policy acts on.
            times.remove(0);
        }
    }
    times
}

/// What to do with each due time, per the campaign's catch-up policy and lateness limit.
pub fn decide(schedule: &Schedule, due: &[DateTime<Utc>], now: DateTime<Utc>) -> Vec<Due> {
    let latest = due.last().copied();
    due.iter()
        .map(|at| {
            let late = now - *at;
            let limit = match schedule.catch_up {
                CatchUp::None => Some(schedule.max_lateness.unwrap_or(NONE_GRACE)),
                _ => schedule.max_lateness,
            };
            let decision = if let Some(limit) = limit.filter(|limit| late > *limit) {
                Decision::Skip(format!(
                    "stale: {} late, more than {}",
                    describe(late),
                    format_duration(limit)
                ))
            } else if schedule.catch_up != CatchUp::All && Some(*at) != latest {
                Decision::Skip(format!(
                    "superseded by the run due {}",
                    latest.map(|l| l.to_rfc3339()).unwrap_or_default()
                ))
            } else {
                Decision::Run
            };
            Due { at: *at, decision }
        })
        .collect()
}

/// `2h 5m`, `3d 4h`, `45s`: a lateness for people.
fn describe(duration: TimeDelta) -> String {
    let seconds = duration.num_seconds().max(0);
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// The scheduled run a newsletter is planned, previewed or sent by hand for:
/// its most recent due time at `now` (`None` for triggered campaigns and one-offs).
pub fn newsletter_due(campaign: &crate::campaign::Campaign, now: i64) -> Option<i64> {
    match (&campaign.trigger, &campaign.schedule) {
        (None, Some(schedule)) => due_times(schedule, None, crate::data::timestamp(now))
            .last()
            .map(|due| due.timestamp()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(cron: &str, catch_up: CatchUp, max_lateness: Option<TimeDelta>) -> Schedule {
        Schedule {
            text: cron.to_string(),
            cron: croner::parser::CronParser::builder()
                .build()
                .parse(cron)
                .unwrap(),
            timezone: chrono_tz::Europe::Paris,
            catch_up,
            max_lateness,
        }
    }

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn due_times_are_in_the_schedules_time_zone() {
        // 09:00 Paris on Mondays = 08:00 UTC in November.
        let weekly = schedule("0 9 * * 1", CatchUp::Latest, None);
        assert_eq!(
            due_times(&weekly, None, t("2026-11-16T08:30:00Z")),
            vec![t("2026-11-16T08:00:00Z")]
        );
        assert_eq!(
            due_times(&weekly, None, t("2026-11-16T07:59:59Z")),
            vec![t("2026-11-09T08:00:00Z")]
        );
        assert_eq!(
            due_times(
                &weekly,
                Some(t("2026-11-16T08:00:00Z")),
                t("2026-11-22T23:00:00Z")
            ),
            Vec::<DateTime<Utc>>::new()
        );
        assert_eq!(
            due_times(
                &weekly,
                Some(t("2026-11-02T08:00:00Z")),
                t("2026-11-16T08:00:00Z")
            ),
            vec![t("2026-11-09T08:00:00Z"), t("2026-11-16T08:00:00Z")]
        );
    }

    #[test]
    fn latest_runs_once_for_the_most_recent_and_records_the_rest() {
        let hourly = schedule("0 * * * *", CatchUp::Latest, None);
        let due = due_times(
            &hourly,
            Some(t("2026-11-16T08:00:00Z")),
            t("2026-11-16T10:05:00Z"),
        );
        assert_eq!(
            decide(&hourly, &due, t("2026-11-16T10:05:00Z")),
            vec![
                Due {
                    at: t("2026-11-16T09:00:00Z"),
                    decision: Decision::Skip(
                        "superseded by the run due 2026-11-16T10:00:00+00:00".into()
                    )
                },
                Due {
                    at: t("2026-11-16T10:00:00Z"),
                    decision: Decision::Run
                },
            ]
        );
    }

    #[test]
    fn all_runs_each_missed_time_and_stale_ones_are_skipped() {
        let hourly = schedule("0 * * * *", CatchUp::All, Some(TimeDelta::minutes(90)));
        let due = due_times(
            &hourly,
            Some(t("2026-11-16T06:00:00Z")),
            t("2026-11-16T09:10:00Z"),
        );
        let decisions: Vec<(String, Decision)> = decide(&hourly, &due, t("2026-11-16T09:10:00Z"))
            .into_iter()
            .map(|d| (d.at.format("%H:%M").to_string(), d.decision))
            .collect();
        assert_eq!(
            decisions,
            vec![
                (
                    "07:00".to_string(),
                    Decision::Skip("stale: 2h 10m late, more than 90m".into())
                ),
                ("08:00".to_string(), Decision::Run),
                ("09:00".to_string(), Decision::Run),
            ]
        );
    }

    #[test]
    fn none_only_runs_what_is_on_time() {
        let daily = schedule("0 9 * * *", CatchUp::None, None);
        let due = due_times(
            &daily,
            Some(t("2026-11-14T08:00:00Z")),
            t("2026-11-16T08:30:00Z"),
        );
        let decisions: Vec<Decision> = decide(&daily, &due, t("2026-11-16T08:30:00Z"))
            .into_iter()
            .map(|d| d.decision)
            .collect();
        assert_eq!(
            decisions,
            vec![
                Decision::Skip("stale: 1d late, more than 1h".into()),
                Decision::Run
            ]
        );
        let late = decide(&daily, &due, t("2026-11-16T09:30:00Z"));
        assert_eq!(
            late[1].decision,
            Decision::Skip("stale: 1h 30m late, more than 1h".into())
        );
    }

    #[test]
    fn a_daylight_saving_change_neither_repeats_nor_drops_a_daily_run() {
        // Paris leaves summer time on 2026-10-25: 09:00 local is 07:00 UTC before, 08:00 UTC after.
        let daily = schedule("0 9 * * *", CatchUp::All, None);
        let due = due_times(
            &daily,
            Some(t("2026-10-23T07:00:00Z")),
            t("2026-10-27T12:00:00Z"),
        );
        assert_eq!(
            due,
            vec![
                t("2026-10-24T07:00:00Z"),
                t("2026-10-25T08:00:00Z"),
                t("2026-10-26T08:00:00Z"),
                t("2026-10-27T08:00:00Z")
            ]
        );
    }
}
