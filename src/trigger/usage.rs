//! `usage_milestone`: a usage metric reaching a threshold in a period
//! ("20 workouts this month", "75% of the plan used").
//!
//! Usage rows carry the metric's value (the running count of workouts in the
//! month, the utilisation in percent). The moment is the first row of the
//! customer's period (their local month or day, or all time) whose value is
//! at least the threshold; keyed by metric, threshold and period, so each
//! milestone is celebrated once per period.

use chrono::Datelike;

use super::{Detail, Occurrence, Window};
use crate::calendar;
use crate::campaign::Period;
use crate::data::{Event, EventKind, Store};

pub(super) fn occurrences(
    store: &Store,
    metric: &str,
    threshold: f64,
    period: Period,
    window: Window,
) -> Vec<Occurrence> {
    let Some(metric_ix) = store.metrics().get(metric) else {
        return Vec::new();
    };
    let reaches = |e: &Event| {
        e.kind == EventKind::Usage
            && e.metric() == Some(metric_ix)
            && e.value().is_some_and(|v| v >= threshold)
    };
    store
        .events_between(window.from, window.to)
        .filter(|e| reaches(e))
        .filter_map(|event| {
            let tz = store.customer(event.customer).timezone;
            let (period_start, label) = match period {
                Period::Month => {
                    let date = calendar::local_date(event.ts, tz);
                    let first = date.with_day0(0).unwrap_or(date);
                    (
                        calendar::start_of_day(first, tz),
                        calendar::month_label(event.ts, tz),
                    )
                }
                Period::Day => {
                    let date = calendar::local_date(event.ts, tz);
                    (calendar::start_of_day(date, tz), date.to_string())
                }
                Period::Total => (i64::MIN, "total".to_string()),
            };
            // Only the first row of the period at or above the threshold is the milestone.
            let history = store.events_of(event.customer);
            let start = history.partition_point(|e| e.ts < period_start);
            let first = history[start..].iter().find(|e| reaches(e))?;
            if !std::ptr::eq(first, event) {
                return None;
            }
            Some(Occurrence {
                customer: event.customer,
                key: format!("usage:{metric}:{threshold}:{label}"),
                at: event.ts,
                products: event.product().into_iter().collect(),
                category: None,
                order: None,
                detail: Detail::Metric {
                    name: metric.to_string(),
                    value: event.value().unwrap_or(threshold),
                    threshold,
                },
            })
        })
        .collect()
}
