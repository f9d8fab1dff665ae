//! `xsell report`: what the messages did. The ledger says who was sent
//! what (each message's products by list, its variant, its offer code) and
//! who was held out; the events that follow say who bought, what, when, and
//! what came back. From both, per campaign, per list source and per variant:
//! acceptance of the suggestions, their conversion, the time to the
//! secondary purchase, category expansion, order value and revenue per
//! recipient against the holdout with the uplift's 95% interval, returns, and
//! the red flags the cross-selling literature warns about, in words.
//!
//! A message counts once its attribution window has closed inside the data
//! (the last event loaded); younger ones are reported as pending. Money is
//! reported per currency, never converted.

pub mod flags;
pub mod html;
mod outcome;
pub mod stats;
pub mod text;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::campaign::Campaign;
use crate::data::{Currency, Store};
use crate::ledger::{ReportRow, State};
pub use outcome::{Outcome, RETURN_GRACE};
use stats::Difference;

/// Attribution window of a campaign that is no longer in the workspace.
pub const DEFAULT_WINDOW: i64 = 7 * 86_400;
/// Fewer measured recipients than this in a variant: its figures are noted as unreliable.
pub const MIN_VARIANT: usize = 100;
/// An A/B test that ran for less than this is noted.
pub const MIN_TEST_DAYS: i64 = 14;

/// What the report covers.
#[derive(Debug, Clone, Serialize)]
pub struct Period {
    /// Messages sent from (Unix seconds).
    pub since: i64,
    /// … until (excluded).
    pub until: i64,
    /// The last event in the data: windows must close before it to count.
    pub data_until: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub period: Period,
    pub campaigns: Vec<CampaignReport>,
}

/// A count out of a total, and the rate (None when the total is zero).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rate {
    pub count: u64,
    pub of: u64,
    pub rate: Option<f64>,
}

impl Rate {
    pub fn new(count: u64, of: u64) -> Rate {
        Rate {
            count,
            of,
            rate: (of > 0).then(|| count as f64 / of as f64),
        }
    }
}

/// One campaign's figures (or one variant's: then `variants` is empty).
#[derive(Debug, Clone, Serialize)]
pub struct CampaignReport {
    pub campaign: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Seconds after the send in which a purchase counts.
    pub window: i64,
    pub sent: u64,
    pub held_out: u64,
    /// Addresses that bounced, unsubscribed or complained after this campaign's mail.
    pub bounced: u64,
    pub delivered: u64,
    pub unsubscribed: u64,
    pub complained: u64,
    /// Sent or held out too recently for their window to have closed.
    pub pending: u64,
    /// Messages whose products the ledger does not know (sent before it kept them).
    pub without_contents: u64,
    /// Recipients who bought a product shown to them, among measured recipients.
    pub acceptance: Rate,
    /// The same for the holdout, with the products they would have been shown.
    pub holdout_acceptance: Rate,
    /// Shown products bought ÷ products shown.
    pub conversion: Rate,
    pub by_source: Vec<SourceFigures>,
    pub time_to_purchase: Option<Timing>,
    /// Recipients who bought in a category new to them (sent, holdout).
    pub category_expansion: Rate,
    pub holdout_category_expansion: Rate,
    /// Recipients who ordered anything (sent, holdout) and the difference.
    pub purchase_rate: Rate,
    pub holdout_purchase_rate: Rate,
    pub purchase_rate_uplift: Option<Difference>,
    /// Orders per recipient in the window (sent, holdout) and the difference.
    pub orders_per_recipient: f64,
    pub holdout_orders_per_recipient: f64,
    pub frequency_change: Option<Difference>,
    pub money: Vec<MoneyFigures>,
    pub returns: Returns,
    /// Recipients whose offer code came back on an order in the window,
    /// among those given one (orders carry it in the events' `code` column).
    pub redemption: Rate,
    pub variants: Vec<CampaignReport>,
    /// Which variant is ahead, if any, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_verdict: Option<VariantVerdict>,
    /// The red flags that tripped, and the signs it is time to scale.
    pub flags: Vec<flags::Flag>,
    /// Plain statements about what the figures cannot say.
    pub notes: Vec<String>,
}

/// Acceptance and conversion of one list source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceFigures {
    pub source: String,
    /// Recipients shown at least one of its products, and how many bought one.
    pub acceptance: Rate,
    pub holdout_acceptance: Rate,
}

/// Time from the send to the first purchase of a shown product.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub purchases: u64,
    pub median_hours: f64,
    pub q1_hours: f64,
    pub q3_hours: f64,
    /// Purchases by day after the send (0 = the first 24 hours).
    pub by_day: Vec<u64>,
}

/// Money figures in one currency.
#[derive(Debug, Clone, Serialize)]
pub struct MoneyFigures {
    pub currency: Currency,
    pub recipients: u64,
    pub holdout: u64,
    pub revenue_per_recipient: f64,
    pub holdout_revenue_per_recipient: f64,
    /// Revenue per recipient, recipients minus holdout.
    pub uplift: Option<Difference>,
    /// Average order value (revenue ÷ orders) in the window.
    pub average_order_value: Option<f64>,
    pub holdout_average_order_value: Option<f64>,
    /// Value of the shown products bought, per recipient who bought one.
    pub cross_sell_value_per_acceptor: Option<f64>,
    /// Median of (unit price of the shown products bought ÷ the customer's
    /// usual unit price before the send), over acceptors with a history.
    pub cross_sell_price_ratio: Option<f64>,
}

/// Units returned of what was bought in the window (counted up to 30 days after it).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Returns {
    pub recommended: Rate,
    pub all: Rate,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariantVerdict {
    /// The leading variant, when it is ahead with 95% confidence.
    pub leader: Option<String>,
    /// The leader's acceptance minus the runner-up's, with its interval.
    pub difference: Option<Difference>,
    pub statement: String,
}

/// The report of what `ledger` recorded (None: nothing was ever sent) in
/// `period`, for one campaign or all.
pub fn from_ledger(
    ledger: Option<&crate::ledger::Ledger>,
    store: &Store,
    campaigns: &[Campaign],
    campaign: Option<&str>,
    period: Period,
) -> crate::error::Result<Report> {
    let Some(ledger) = ledger else {
        return Ok(build(store, &[], &[], campaigns, period));
    };
    let rows = ledger.report_rows(campaign, period.since, period.until)?;
    let departures = ledger.departures()?;
    Ok(build(store, &rows, &departures, campaigns, period))
}

/// A message to measure: a ledger row with its campaign's window.
struct Measured<'a> {
    row: &'a ReportRow,
    outcome: Option<Outcome>,
}

/// Builds the report of `rows` (sent and held-out messages) against the
/// store's events. `departures` are (campaign, email, reason, at).
pub fn build(
    store: &Store,
    rows: &[ReportRow],
    departures: &[(String, String, String, i64)],
    campaigns: &[Campaign],
    period: Period,
) -> Report {
    let mut by_campaign: BTreeMap<&str, Vec<&ReportRow>> = BTreeMap::new();
    for row in rows {
        by_campaign.entry(&row.campaign).or_default().push(row);
    }
    let reports = by_campaign
        .into_iter()
        .map(|(id, rows)| {
            let campaign = campaigns.iter().find(|c| c.id == id);
            let window = campaign.map_or(DEFAULT_WINDOW, |c| c.attribution_window.num_seconds());
            let name = campaign.map_or_else(|| id.to_string(), |c| c.name.clone());
            let measured = measure(store, &rows, window, period.data_until);
            let leaving: Vec<&(String, String, String, i64)> =
                departures.iter().filter(|d| d.0 == id).collect();
            let mut report = figures(id, &name, None, window, &measured, &leaving);
            if campaign.is_none() {
                report.notes.push(format!(
                    "campaign `{id}` is not in the workspace (or did not check): its attribution window is taken as 7 days"
                ));
            }
            let mut variant_ids: Vec<String> = rows
                .iter()
                .filter_map(|r| r.contents.as_ref()?.variant.clone())
                .collect();
            variant_ids.sort();
            variant_ids.dedup();
            for variant in &variant_ids {
                let own: Vec<Measured<'_>> = measured
                    .iter()
                    .filter(|m| {
                        m.row.state == State::Sent
                            && m.row.contents.as_ref().and_then(|c| c.variant.as_ref()) == Some(variant)
                    })
                    .map(|m| Measured { row: m.row, outcome: m.outcome.clone() })
                    .collect();
                let emails: std::collections::BTreeSet<&str> =
                    own.iter().map(|m| m.row.email.as_str()).collect();
                let leaving: Vec<&(String, String, String, i64)> = leaving
                    .iter()
                    .copied()
                    .filter(|d| emails.contains(d.1.as_str()))
                    .collect();
                report
                    .variants
                    .push(figures(id, &name, Some(variant), window, &own, &leaving));
            }
            if !report.variants.is_empty() {
                let sends: Vec<i64> = rows.iter().filter(|r| r.state == State::Sent).map(|r| r.at).collect();
                let span = sends.iter().max().zip(sends.iter().min()).map_or(0, |(a, b)| a - b);
                report.variant_verdict = Some(compare_variants(id, &measured, &report.variants, span));
            }
            report.flags = flags::raise(&report);
            report
        })
        .collect();
    Report {
        period,
        campaigns: reports,
    }
}

fn measure<'a>(
    store: &Store,
    rows: &[&'a ReportRow],
    window: i64,
    data_until: Option<i64>,
) -> Vec<Measured<'a>> {
    use rayon::prelude::*;
    rows.par_iter()
        .map(|row| {
            let closed = data_until.is_some_and(|end| row.at.saturating_add(window) <= end);
            let outcome = match (closed, store.customer_ix(&row.customer)) {
                (true, Some(customer)) => Some(outcome::outcome(
                    store,
                    customer,
                    row.contents.as_ref(),
                    row.at,
                    window,
                )),
                _ => None,
            };
            Measured { row, outcome }
        })
        .collect()
}

fn figures(
    id: &str,
    name: &str,
    variant: Option<&str>,
    window: i64,
    measured: &[Measured<'_>],
    leaving: &[&(String, String, String, i64)],
) -> CampaignReport {
    let is_sent = |m: &&Measured<'_>| m.row.state == State::Sent;
    let sent: Vec<&Measured<'_>> = measured.iter().filter(is_sent).collect();
    let held: Vec<&Measured<'_>> = measured.iter().filter(|m| !is_sent(m)).collect();
    let done = |group: &[&Measured<'_>]| -> Vec<Outcome> {
        group.iter().filter_map(|m| m.outcome.clone()).collect()
    };
    let (sent_done, held_done) = (done(&sent), done(&held));
    let with_contents = |group: &[Outcome]| -> Vec<Outcome> {
        group.iter().filter(|o| o.shown > 0).cloned().collect()
    };
    let (sent_shown, held_shown) = (with_contents(&sent_done), with_contents(&held_done));
    let count = |group: &[Outcome], test: fn(&Outcome) -> bool| {
        group.iter().filter(|o| test(o)).count() as u64
    };
    let reason = |r: &str| leaving.iter().filter(|d| d.2 == r).count() as u64;
    let seed = format!("{id}/{}", variant.unwrap_or(""));

    let indicator = |group: &[Outcome], test: fn(&Outcome) -> bool| -> Vec<f64> {
        group
            .iter()
            .map(|o| if test(o) { 1.0 } else { 0.0 })
            .collect()
    };
    let orders =
        |group: &[Outcome]| -> Vec<f64> { group.iter().map(|o| f64::from(o.orders)).collect() };
    let mean_orders = |group: &[Outcome]| stats::mean(&orders(group));

    let mut report = CampaignReport {
        campaign: id.to_string(),
        name: name.to_string(),
        variant: variant.map(str::to_string),
        window,
        sent: sent.len() as u64,
        held_out: held.len() as u64,
        bounced: reason("bounced"),
        delivered: (sent.len() as u64).saturating_sub(reason("bounced")),
        unsubscribed: reason("unsubscribed"),
        complained: reason("complained"),
        pending: measured.iter().filter(|m| m.outcome.is_none()).count() as u64,
        without_contents: measured.iter().filter(|m| m.row.contents.is_none()).count() as u64,
        acceptance: Rate::new(
            count(&sent_shown, Outcome::accepted),
            sent_shown.len() as u64,
        ),
        holdout_acceptance: Rate::new(
            count(&held_shown, Outcome::accepted),
            held_shown.len() as u64,
        ),
        conversion: Rate::new(
            sent_shown.iter().map(|o| o.bought_shown as u64).sum(),
            sent_shown.iter().map(|o| o.shown as u64).sum(),
        ),
        by_source: by_source(&sent_shown, &held_shown),
        time_to_purchase: timing(&sent_shown, window),
        category_expansion: Rate::new(
            count(&sent_done, |o| o.new_category),
            sent_done.len() as u64,
        ),
        holdout_category_expansion: Rate::new(
            count(&held_done, |o| o.new_category),
            held_done.len() as u64,
        ),
        purchase_rate: Rate::new(count(&sent_done, |o| o.ordered), sent_done.len() as u64),
        holdout_purchase_rate: Rate::new(count(&held_done, |o| o.ordered), held_done.len() as u64),
        purchase_rate_uplift: stats::difference(
            &indicator(&sent_done, |o| o.ordered),
            &indicator(&held_done, |o| o.ordered),
            &format!("{seed}/purchase"),
        ),
        orders_per_recipient: mean_orders(&sent_done),
        holdout_orders_per_recipient: mean_orders(&held_done),
        frequency_change: stats::difference(
            &orders(&sent_done),
            &orders(&held_done),
            &format!("{seed}/orders"),
        ),
        money: money(&sent_done, &held_done, &seed),
        returns: Returns {
            recommended: Rate::new(
                sent_done.iter().map(|o| o.shown_units_returned).sum(),
                sent_done.iter().map(|o| o.shown_units_bought).sum(),
            ),
            all: Rate::new(
                sent_done.iter().map(|o| o.units_returned).sum(),
                sent_done.iter().map(|o| o.units_bought).sum(),
            ),
        },
        redemption: Rate::new(
            count(&sent_done, |o| o.redeemed == Some(true)),
            count(&sent_done, |o| o.redeemed.is_some()),
        ),
        variants: Vec::new(),
        variant_verdict: None,
        flags: Vec::new(),
        notes: Vec::new(),
    };
    notes(&mut report, sent_done.len(), held_done.len());
    report
}

fn notes(report: &mut CampaignReport, sent: usize, held: usize) {
    if report.sent == 0 {
        report
            .notes
            .push("nothing was sent in this period".to_string());
    }
    if report.pending > 0 {
        report.notes.push(format!(
            "{} message{} not counted yet: the attribution window is still open at the end of the data",
            report.pending,
            if report.pending == 1 { "" } else { "s" }
        ));
    }
    if report.without_contents > 0 {
        report.notes.push(format!(
            "{} message{} sent before the ledger recorded what was shown: counted for purchases and revenue, not for acceptance",
            report.without_contents,
            if report.without_contents == 1 { "" } else { "s" }
        ));
    }
    if report.held_out == 0 {
        report.notes.push(
            "no holdout: uplift cannot be measured (give the campaign `holdout: 10%`)".to_string(),
        );
    } else if held < stats::MIN_GROUP || sent < stats::MIN_GROUP {
        report.notes.push(format!(
            "too few measured people to conclude anything about uplift ({sent} recipients, {held} held out; at least {} in each are needed)",
            stats::MIN_GROUP
        ));
    }
}

fn by_source(sent: &[Outcome], held: &[Outcome]) -> Vec<SourceFigures> {
    let tally = |group: &[Outcome]| {
        let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for outcome in group {
            for (source, bought) in &outcome.sources {
                let entry = counts.entry(source.clone()).or_default();
                entry.1 += 1;
                entry.0 += u64::from(*bought);
            }
        }
        counts
    };
    let (sent, held) = (tally(sent), tally(held));
    sent.iter()
        .map(|(source, (bought, of))| {
            let (held_bought, held_of) = held.get(source).copied().unwrap_or_default();
            SourceFigures {
                source: source.clone(),
                acceptance: Rate::new(*bought, *of),
                holdout_acceptance: Rate::new(held_bought, held_of),
            }
        })
        .collect()
}

fn timing(sent: &[Outcome], window: i64) -> Option<Timing> {
    let mut hours: Vec<f64> = sent
        .iter()
        .filter_map(|o| o.first_accept)
        .map(|s| s as f64 / 3600.0)
        .collect();
    if hours.is_empty() {
        return None;
    }
    hours.sort_by(f64::total_cmp);
    let days = ((window + 86_399) / 86_400).max(1) as usize;
    let mut by_day = vec![0u64; days];
    for h in &hours {
        by_day[((h / 24.0) as usize).min(days - 1)] += 1;
    }
    Some(Timing {
        purchases: hours.len() as u64,
        median_hours: stats::quantile(&hours, 0.5)?,
        q1_hours: stats::quantile(&hours, 0.25)?,
        q3_hours: stats::quantile(&hours, 0.75)?,
        by_day,
    })
}

fn money(sent: &[Outcome], held: &[Outcome], seed: &str) -> Vec<MoneyFigures> {
    let mut currencies: Vec<Currency> =
        sent.iter().chain(held).filter_map(|o| o.currency).collect();
    currencies.sort();
    currencies.dedup();
    currencies
        .into_iter()
        .map(|currency| {
            let of = |group: &[Outcome]| -> Vec<Outcome> {
                group
                    .iter()
                    .filter(|o| o.currency == Some(currency))
                    .cloned()
                    .collect()
            };
            let (sent, held) = (of(sent), of(held));
            let revenue =
                |group: &[Outcome]| -> Vec<f64> { group.iter().map(|o| o.revenue).collect() };
            let aov = |group: &[Outcome]| {
                let orders: u32 = group.iter().map(|o| o.orders).sum();
                (orders > 0)
                    .then(|| group.iter().map(|o| o.revenue).sum::<f64>() / f64::from(orders))
            };
            let acceptors: Vec<&Outcome> = sent.iter().filter(|o| o.accepted()).collect();
            let mut ratios: Vec<f64> = acceptors
                .iter()
                .filter_map(|o| match (o.accepted_unit_price, o.typical_unit_price) {
                    (Some(bought), Some(usual)) if usual > 0.0 => Some(bought / usual),
                    _ => None,
                })
                .collect();
            ratios.sort_by(f64::total_cmp);
            MoneyFigures {
                currency,
                recipients: sent.len() as u64,
                holdout: held.len() as u64,
                revenue_per_recipient: stats::mean(&revenue(&sent)),
                holdout_revenue_per_recipient: stats::mean(&revenue(&held)),
                uplift: stats::difference(
                    &revenue(&sent),
                    &revenue(&held),
                    &format!("{seed}/{currency}"),
                ),
                average_order_value: aov(&sent),
                holdout_average_order_value: aov(&held),
                cross_sell_value_per_acceptor: (!acceptors.is_empty()).then(|| {
                    acceptors.iter().map(|o| o.shown_value).sum::<f64>() / acceptors.len() as f64
                }),
                cross_sell_price_ratio: stats::quantile(&ratios, 0.5),
            }
        })
        .collect()
}

fn compare_variants(
    id: &str,
    measured: &[Measured<'_>],
    variants: &[CampaignReport],
    span: i64,
) -> VariantVerdict {
    let accepted = |variant: &str| -> Vec<f64> {
        measured
            .iter()
            .filter(|m| {
                m.row.state == State::Sent
                    && m.row.contents.as_ref().and_then(|c| c.variant.as_deref()) == Some(variant)
            })
            .filter_map(|m| m.outcome.as_ref().filter(|o| o.shown > 0))
            .map(|o| if o.accepted() { 1.0 } else { 0.0 })
            .collect()
    };
    let mut ranked: Vec<&CampaignReport> = variants.iter().collect();
    ranked.sort_by(|a, b| {
        b.acceptance
            .rate
            .unwrap_or(0.0)
            .total_cmp(&a.acceptance.rate.unwrap_or(0.0))
    });
    let mut warnings = Vec::new();
    if span < MIN_TEST_DAYS * 86_400 {
        warnings.push(format!(
            "the test ran for {:.1} days, less than two weeks: weekly patterns may decide it",
            span as f64 / 86_400.0
        ));
    }
    for variant in variants
        .iter()
        .filter(|v| (v.acceptance.of as usize) < MIN_VARIANT)
    {
        warnings.push(format!(
            "variant `{}` has {} measured recipients (fewer than {MIN_VARIANT}): its figures are unreliable",
            variant.variant.as_deref().unwrap_or("?"),
            variant.acceptance.of
        ));
    }
    let (leader, runner_up) = match ranked.as_slice() {
        [a, b, ..] => (*a, *b),
        _ => {
            return VariantVerdict {
                leader: None,
                difference: None,
                statement: "only one variant has sent: nothing to compare".to_string(),
            };
        }
    };
    let (a, b) = (
        leader.variant.as_deref().unwrap_or(""),
        runner_up.variant.as_deref().unwrap_or(""),
    );
    let difference = stats::difference(
        &accepted(a),
        &accepted(b),
        &format!("{id}/variants/{a}/{b}"),
    );
    let mut statement = match &difference {
        None => format!(
            "too few measured recipients to compare variants (at least {} each are needed)",
            stats::MIN_GROUP
        ),
        Some(d) if d.significant() => format!(
            "variant `{a}` is ahead of `{b}`: acceptance {:+.1} points (95% CI {:+.1} to {:+.1}), {:.1}% confidence",
            d.difference * 100.0,
            d.low * 100.0,
            d.high * 100.0,
            d.confidence_ahead * 100.0
        ),
        Some(d) => format!(
            "no variant is ahead: `{a}` leads `{b}` by {:+.1} points, but the 95% interval ({:+.1} to {:+.1}) includes zero",
            d.difference * 100.0,
            d.low * 100.0,
            d.high * 100.0
        ),
    };
    for warning in warnings {
        statement.push_str("; ");
        statement.push_str(&warning);
    }
    VariantVerdict {
        leader: difference
            .filter(Difference::significant)
            .map(|_| a.to_string()),
        difference,
        statement,
    }
}
