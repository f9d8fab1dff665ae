//! The report as a terminal table, for people.

use std::fmt::Write;

use super::stats::Difference;
use super::{CampaignReport, Rate, Report};

pub fn render(report: &Report) -> String {
    let mut out = period_line(report);
    if report.campaigns.is_empty() {
        let _ = writeln!(out, "\nNothing was sent or held out in this period.");
    }
    for campaign in &report.campaigns {
        out.push('\n');
        campaign_text(&mut out, campaign);
    }
    out
}

/// What the report covers, in one line.
pub fn period_line(report: &Report) -> String {
    let day = |t: i64| crate::data::timestamp(t).format("%Y-%m-%d").to_string();
    let sent = match (report.period.since, report.period.until) {
        (i64::MIN, i64::MAX) => "All messages".to_string(),
        (i64::MIN, until) => format!("Messages sent before {}", day(until)),
        (since, i64::MAX) => format!("Messages sent since {}", day(since)),
        (since, until) => format!("Messages sent {} – {}", day(since), day(until)),
    };
    format!(
        "{sent}; purchases read until {}\n",
        report
            .period
            .data_until
            .map_or("(no events)".to_string(), day)
    )
}

/// One campaign's figures as text.
pub fn campaign(c: &CampaignReport) -> String {
    let mut out = String::new();
    campaign_text(&mut out, c);
    out
}

fn rate(rate: &Rate) -> String {
    match rate.rate {
        Some(r) => format!("{:.1}% ({}/{})", r * 100.0, rate.count, rate.of),
        None => "–".to_string(),
    }
}

fn interval(d: &Option<Difference>, scale: f64, unit: &str) -> String {
    match d {
        None => "too few people to tell".to_string(),
        Some(d) => format!(
            "{:+.2}{unit} (95% CI {:+.2} to {:+.2}){}",
            d.difference * scale,
            d.low * scale,
            d.high * scale,
            if d.significant() {
                ""
            } else {
                ", not significant"
            }
        ),
    }
}

fn campaign_text(out: &mut String, c: &CampaignReport) {
    let _ = writeln!(
        out,
        "{} — {}{}   (purchases within {} days of the send)",
        c.campaign,
        c.name,
        c.variant
            .as_deref()
            .map(|v| format!(", variant {v}"))
            .unwrap_or_default(),
        c.window / 86_400
    );
    let _ = writeln!(
        out,
        "  sent {} · delivered {} · held out {} · bounced {} · unsubscribed {} · complained {} · pending {}",
        c.sent, c.delivered, c.held_out, c.bounced, c.unsubscribed, c.complained, c.pending
    );
    if !c.flags.is_empty() {
        out.push('\n');
    }
    for flag in &c.flags {
        let _ = writeln!(
            out,
            "  {} {}",
            if flag.red { "!" } else { "✓" },
            flag.message
        );
    }
    let row =
        |out: &mut String, label: &str, recipients: String, holdout: String, extra: String| {
            let _ = writeln!(out, "  {label:<28} {recipients:<22} {holdout:<22} {extra}");
        };
    out.push('\n');
    row(
        out,
        "",
        "recipients".into(),
        "holdout".into(),
        String::new(),
    );
    row(
        out,
        "acceptance",
        rate(&c.acceptance),
        rate(&c.holdout_acceptance),
        String::new(),
    );
    row(
        out,
        "conversion of suggestions",
        rate(&c.conversion),
        String::new(),
        String::new(),
    );
    row(
        out,
        "purchase rate",
        rate(&c.purchase_rate),
        rate(&c.holdout_purchase_rate),
        format!(
            "uplift {}",
            interval(&c.purchase_rate_uplift, 100.0, " pts")
        ),
    );
    row(
        out,
        "orders per recipient",
        format!("{:.3}", c.orders_per_recipient),
        format!("{:.3}", c.holdout_orders_per_recipient),
        format!("change {}", interval(&c.frequency_change, 1.0, "")),
    );
    row(
        out,
        "category expansion",
        rate(&c.category_expansion),
        rate(&c.holdout_category_expansion),
        String::new(),
    );
    row(
        out,
        "returned units",
        format!("suggested {}", rate(&c.returns.recommended)),
        format!("all {}", rate(&c.returns.all)),
        String::new(),
    );
    if c.redemption.of > 0 {
        row(
            out,
            "offer codes redeemed",
            rate(&c.redemption),
            String::new(),
            String::new(),
        );
    }
    if let Some(t) = &c.time_to_purchase {
        row(
            out,
            "time to secondary purchase",
            format!("median {:.0} h", t.median_hours),
            format!("quartiles {:.0}–{:.0} h", t.q1_hours, t.q3_hours),
            format!(
                "by day: {}",
                t.by_day
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        );
    }
    if !c.by_source.is_empty() {
        out.push('\n');
        row(
            out,
            "acceptance by list source",
            "recipients".into(),
            "holdout".into(),
            String::new(),
        );
        for source in &c.by_source {
            row(
                out,
                &format!("  {}", source.source),
                rate(&source.acceptance),
                rate(&source.holdout_acceptance),
                String::new(),
            );
        }
    }
    for money in &c.money {
        let amount = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2}"));
        out.push('\n');
        row(
            out,
            &format!("money ({})", money.currency),
            format!("{} recipients", money.recipients),
            format!("{} held out", money.holdout),
            String::new(),
        );
        row(
            out,
            "  revenue per recipient",
            format!("{:.2}", money.revenue_per_recipient),
            format!("{:.2}", money.holdout_revenue_per_recipient),
            format!("uplift {}", interval(&money.uplift, 1.0, "")),
        );
        row(
            out,
            "  average order value",
            amount(money.average_order_value),
            amount(money.holdout_average_order_value),
            String::new(),
        );
        row(
            out,
            "  cross-sell value/acceptor",
            amount(money.cross_sell_value_per_acceptor),
            String::new(),
            money.cross_sell_price_ratio.map_or(String::new(), |r| {
                format!(
                    "suggested items cost {:.0}% of the customer's usual item",
                    r * 100.0
                )
            }),
        );
    }
    if !c.variants.is_empty() {
        out.push('\n');
        row(
            out,
            "variants",
            "acceptance".into(),
            "purchase rate".into(),
            "revenue per recipient".into(),
        );
        for v in &c.variants {
            row(
                out,
                &format!("  {}", v.variant.as_deref().unwrap_or("?")),
                rate(&v.acceptance),
                rate(&v.purchase_rate),
                v.money
                    .iter()
                    .map(|m| format!("{:.2} {}", m.revenue_per_recipient, m.currency))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        if let Some(verdict) = &c.variant_verdict {
            let _ = writeln!(out, "  {}", verdict.statement);
        }
    }
    for note in &c.notes {
        let _ = writeln!(out, "  note: {note}");
    }
}
