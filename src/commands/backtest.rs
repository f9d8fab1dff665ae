//! `xsell backtest`: how well each list source would have predicted what
//! customers bought after a date, side by side with bestsellers.

use chrono::{DateTime, Utc};

use crate::cli::{Format, Global};
use crate::config::Config;
use crate::data;
use crate::error::{Error, Result};
use crate::recommend::backtest::{self, Contender, Protocol, Report, Scores};

use super::{print_json, thousands};

pub fn run(
    global: &Global,
    split: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    k: usize,
    sources: &[String],
) -> Result<i32> {
    if !(1..=100).contains(&k) {
        return Err(Error::usage(format!("--k must be from 1 to 100, not {k}")));
    }
    let contenders = contenders(sources)?;
    let root = &global.workspace;
    let config = Config::load(root)?;
    let loaded = data::load(&config.data, root)?;
    let store = &loaded.store;
    let split = split.timestamp();
    let until = until.map_or(i64::MAX, |u| u.timestamp());
    if until <= split {
        return Err(Error::usage("--until must come after --split".to_string()));
    }
    let report = backtest::run(store, split, until, k, &contenders);
    if report.orders_before == 0 || report.orders_after == 0 {
        return Err(Error::usage(format!(
            "--split {} leaves {} orders before it and {} after: choose a date inside the data{}",
            data::timestamp(split).format("%Y-%m-%d %H:%M UTC"),
            report.orders_before,
            report.orders_after,
            data_span(store)
        )));
    }
    if report.customers_before_and_after == 0 {
        return Err(Error::usage(format!(
            "--split {}: no customer ordered both before and after it ({} orders before, {} after), so there is nothing to compare",
            data::timestamp(split).format("%Y-%m-%d %H:%M UTC"),
            thousands(report.orders_before),
            thousands(report.orders_after),
        )));
    }
    match global.format {
        Format::Json => print_json(&report)?,
        Format::Text => print!("{}", text(&report)),
    }
    Ok(0)
}

/// Bestsellers (the baseline) first, then the sources asked for, or all of them.
fn contenders(names: &[String]) -> Result<Vec<Contender>> {
    if names.is_empty() {
        return Ok(Contender::defaults());
    }
    let mut contenders = vec![Contender::named("bestsellers").expect("a known source")];
    for name in names {
        let Some(contender) = Contender::named(name) else {
            return Err(Error::usage(format!(
                "unknown source `{name}`; the sources a backtest can compare are: {}",
                Contender::NAMES.join(", ")
            )));
        };
        if !contenders.iter().any(|c| c.name == contender.name) {
            contenders.push(contender);
        }
    }
    Ok(contenders)
}

fn data_span(store: &data::Store) -> String {
    let orders = store.orders_between(i64::MIN, i64::MAX);
    match (orders.first(), orders.last()) {
        (Some(first), Some(last)) => format!(
            " (orders run from {} to {})",
            data::timestamp(store.order(*first).ts).format("%Y-%m-%d"),
            data::timestamp(store.order(*last).ts).format("%Y-%m-%d")
        ),
        _ => " (the data has no orders)".to_string(),
    }
}

/// The report as a person reads it: one table per protocol.
pub fn text(report: &Report) -> String {
    let k = report.k;
    let mut out = format!(
        "Backtest at {}{}, K = {k}\n\
         Learned from {} orders before the split ({} after); {} customers ordered before and after it; {} products.\n",
        data::timestamp(report.split).format("%Y-%m-%d %H:%M UTC"),
        report.until.map_or(String::new(), |until| format!(
            ", judged on purchases until {}",
            data::timestamp(until).format("%Y-%m-%d %H:%M UTC")
        )),
        thousands(report.orders_before),
        thousands(report.orders_after),
        thousands(report.customers_before_and_after),
        thousands(report.products),
    );
    for protocol in [Protocol::All, Protocol::New] {
        let rows: Vec<&Scores> = report
            .scores
            .iter()
            .filter(|s| s.protocol == protocol)
            .collect();
        let customers = rows.first().map_or(0, |s| s.customers);
        let what = match protocol {
            Protocol::All => "any product bought after the split counts",
            Protocol::New => {
                "only products never bought before count; owned products are not suggested"
            }
        };
        out += &format!(
            "\n{}: {what} ({} customers)\n",
            protocol.name(),
            thousands(customers)
        );
        let baseline = rows
            .iter()
            .find(|s| s.source == "bestsellers")
            .map(|s| s.ndcg);
        out += &format!(
            "  {:<22} {:>7} {:>7} {:>7} {:>8} {:>8} {:>9} {:>12}\n",
            "source",
            format!("HR@{k}"),
            format!("P@{k}"),
            format!("R@{k}"),
            format!("NDCG@{k}"),
            "vs best",
            "coverage",
            "short lists"
        );
        for s in &rows {
            let versus = match baseline {
                Some(b) if b > 0.0 => format!("{:.2}×", s.ndcg / b),
                _ => "-".to_string(),
            };
            out += &format!(
                "  {:<22} {:>7.3} {:>7.3} {:>7.3} {:>8.3} {:>8} {:>8.1}% {:>12}\n",
                s.source,
                s.hit_rate,
                s.precision,
                s.recall,
                s.ndcg,
                versus,
                s.coverage * 100.0,
                thousands(s.short_lists)
            );
        }
    }
    for choice in &report.auto {
        out += &format!(
            "\nauto ({}): chose {} — {}, judged from {} to the split",
            choice.protocol.name(),
            choice.source,
            choice.why,
            data::timestamp(choice.window_from).format("%Y-%m-%d"),
        );
    }
    if !report.auto.is_empty() {
        out += "\n";
    }
    out += &format!(
        "\nHR: share of customers who bought at least one of the {k}; P: share of the {k} bought; R: share of what they bought that was suggested;\n\
         NDCG: hits weighted by rank; vs best: NDCG over bestsellers'; short lists: customers given fewer than {k}.\n"
    );
    out
}
