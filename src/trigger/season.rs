//! `date_window`: a seasonal window of days (`03-01` to `03-15`, inclusive),
//! in each customer's own calendar. Everyone whose local date is inside has
//! the moment, keyed by the year the window began (`date_window:2027`), so a
//! customer gets the season once a year. A window may wrap the new year
//! (`12-20` to `01-05`).

use chrono::{Datelike, NaiveDate};

use super::{Detail, Occurrence};
use crate::calendar;
use crate::data::{CustomerIx, Store};

pub(super) fn occurrences(
    store: &Store,
    from: (u32, u32),
    to: (u32, u32),
    now: i64,
) -> Vec<Occurrence> {
    store
        .customers()
        .iter()
        .enumerate()
        .filter_map(|(ix, customer)| {
            let today = calendar::local_date(now, customer.timezone);
            let start_year = window_start_year(today, from, to)?;
            let start = first_day(start_year, from);
            Some(Occurrence {
                customer: ix as CustomerIx,
                key: format!("date_window:{start_year}"),
                at: calendar::start_of_day(start, customer.timezone),
                products: Vec::new(),
                category: None,
                order: None,
                detail: Detail::None,
            })
        })
        .collect()
}

/// The year the window containing `today` began, or `None` outside the window.
pub(crate) fn window_start_year(today: NaiveDate, from: (u32, u32), to: (u32, u32)) -> Option<i32> {
    let day = (today.month(), today.day());
    if from <= to {
        (from <= day && day <= to).then_some(today.year())
    } else if day >= from {
        Some(today.year())
    } else if day <= to {
        Some(today.year() - 1)
    } else {
        None
    }
}

/// `from` in `year`; 29 February in a common year is 1 March.
fn first_day(year: i32, (month, day): (u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day)
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .unwrap_or_default()
}
