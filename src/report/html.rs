//! The report as one self-contained HTML page (no network: no scripts,
//! fonts or images from elsewhere): the red flags on top, then per campaign
//! the charts a marketer would rather look at than read — acceptance by list
//! source against the holdout, the uplift with its interval, the time to the
//! secondary purchase as a histogram, variants side by side — and the
//! figures as a table. Charts are inline SVG written here: a few bars and
//! intervals are simpler to write than to configure a plotting crate for.

use std::fmt::Write;

use super::stats::Difference;
use super::{CampaignReport, Rate, Report};
use crate::serve::pages::escape;

const RECIPIENTS: &str = "#1f6f5c";
const HOLDOUT: &str = "#b8b8b8";

pub fn render(report: &Report) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>xsell report</title><style>{STYLE}</style></head><body>\n<h1>What the messages did</h1>\n<p class=\"period\">{}</p>\n",
        escape(super::text::period_line(report).trim())
    );
    let flags: Vec<(&CampaignReport, &super::flags::Flag)> = report
        .campaigns
        .iter()
        .flat_map(|c| c.flags.iter().map(move |f| (c, f)))
        .collect();
    if !flags.is_empty() {
        page.push_str("<section class=\"flags\">\n");
        for (campaign, flag) in flags {
            let _ = writeln!(
                page,
                "<p class=\"flag {}\"><b>{}</b> {}</p>",
                if flag.red { "red" } else { "good" },
                escape(&campaign.campaign),
                escape(&flag.message)
            );
        }
        page.push_str("</section>\n");
    }
    if report.campaigns.is_empty() {
        page.push_str("<p>Nothing was sent or held out in this period.</p>\n");
    }
    for campaign in &report.campaigns {
        campaign_section(&mut page, campaign);
    }
    page.push_str("</body></html>\n");
    page
}

fn percent(rate: &Rate) -> String {
    rate.rate
        .map_or_else(|| "–".to_string(), |r| format!("{:.1}%", r * 100.0))
}

fn campaign_section(page: &mut String, c: &CampaignReport) {
    let _ = write!(
        page,
        "<section class=\"campaign\" id=\"{id}\"><h2>{name} <small>{id}</small></h2>\n\
         <div class=\"tiles\">{}{}{}{}{}{}</div>\n",
        tile("sent", &c.sent.to_string()),
        tile("delivered", &c.delivered.to_string()),
        tile("held out", &c.held_out.to_string()),
        tile("acceptance", &percent(&c.acceptance)),
        tile("holdout's baseline", &percent(&c.holdout_acceptance)),
        if c.redemption.of > 0 {
            tile("codes redeemed", &percent(&c.redemption))
        } else {
            String::new()
        },
        id = escape(&c.campaign),
        name = escape(&c.name),
    );
    page.push_str("<div class=\"charts\">\n");
    // Acceptance by list source, recipients against the holdout.
    let rows: Vec<Row> = c
        .by_source
        .iter()
        .map(|s| {
            (
                s.source.clone(),
                vec![
                    (
                        s.acceptance.rate.unwrap_or(0.0),
                        RECIPIENTS,
                        percent(&s.acceptance),
                    ),
                    (
                        s.holdout_acceptance.rate.unwrap_or(0.0),
                        HOLDOUT,
                        percent(&s.holdout_acceptance),
                    ),
                ],
            )
        })
        .collect();
    chart(
        page,
        "Acceptance by list source: recipients (green) against the holdout (grey)",
        "acceptance",
        &bars(&rows),
    );
    // Uplift with its interval.
    let mut intervals: Vec<(String, Option<Difference>, String)> = vec![(
        "purchase rate (points)".to_string(),
        c.purchase_rate_uplift.map(|d| scale(d, 100.0)),
        String::new(),
    )];
    for money in &c.money {
        intervals.push((
            format!("revenue per recipient ({})", money.currency),
            money.uplift,
            String::new(),
        ));
    }
    chart(
        page,
        "Uplift against the holdout, 95% interval",
        "uplift",
        &uplift(&intervals),
    );
    if let Some(timing) = &c.time_to_purchase {
        let rows: Vec<Row> = timing
            .by_day
            .iter()
            .enumerate()
            .map(|(day, count)| {
                (
                    format!("day {}", day + 1),
                    vec![(*count as f64, RECIPIENTS, count.to_string())],
                )
            })
            .collect();
        chart(
            page,
            &format!(
                "Time to secondary purchase (median {:.0} h, quartiles {:.0}–{:.0} h)",
                timing.median_hours, timing.q1_hours, timing.q3_hours
            ),
            "timing",
            &histogram(&rows),
        );
    }
    if !c.variants.is_empty() {
        let rows: Vec<Row> = c
            .variants
            .iter()
            .map(|v| {
                (
                    format!("variant {}", v.variant.as_deref().unwrap_or("?")),
                    vec![(
                        v.acceptance.rate.unwrap_or(0.0),
                        RECIPIENTS,
                        percent(&v.acceptance),
                    )],
                )
            })
            .collect();
        chart(
            page,
            "Variants side by side: acceptance",
            "variants",
            &bars(&rows),
        );
        if let Some(verdict) = &c.variant_verdict {
            let _ = writeln!(
                page,
                "<p class=\"verdict\">{}</p>",
                escape(&verdict.statement)
            );
        }
    }
    page.push_str("</div>\n");
    let _ = writeln!(
        page,
        "<pre class=\"figures\">{}</pre>",
        escape(&super::text::campaign(c))
    );
    page.push_str("</section>\n");
}

fn scale(d: Difference, by: f64) -> Difference {
    Difference {
        difference: d.difference * by,
        low: d.low * by,
        high: d.high * by,
        ..d
    }
}

fn tile(label: &str, value: &str) -> String {
    format!(
        "<div class=\"tile\"><span>{}</span><b>{}</b></div>",
        escape(label),
        escape(value)
    )
}

fn chart(page: &mut String, title: &str, class: &str, svg: &str) {
    let _ = writeln!(
        page,
        "<figure class=\"chart {class}\"><figcaption>{}</figcaption>{svg}</figure>",
        escape(title)
    );
}

/// A labelled group of bars: (label, [(value, colour, value as text)]).
type Row = (String, Vec<(f64, &'static str, String)>);

const WIDTH: f64 = 460.0;
const LABEL: f64 = 190.0;
const BAR: f64 = 16.0;

/// Horizontal bars, one group per row; values scaled to the largest.
fn bars(rows: &[Row]) -> String {
    let max = rows
        .iter()
        .flat_map(|(_, bars)| bars.iter().map(|b| b.0))
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let mut y = 4.0;
    let mut body = String::new();
    for (label, group) in rows {
        let _ = write!(
            body,
            "<text x=\"0\" y=\"{:.0}\" class=\"label\">{}</text>",
            y + BAR * group.len() as f64 / 2.0 + 4.0,
            escape(label)
        );
        for (value, color, text) in group {
            let width = (value / max) * (WIDTH - LABEL - 60.0);
            let _ = write!(
                body,
                "<rect x=\"{LABEL}\" y=\"{y:.0}\" width=\"{width:.1}\" height=\"{:.0}\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.0}\" class=\"value\">{}</text>",
                BAR - 2.0,
                LABEL + width + 4.0,
                y + BAR - 5.0,
                escape(text)
            );
            y += BAR;
        }
        y += 8.0;
    }
    if rows.is_empty() {
        body.push_str("<text x=\"0\" y=\"20\" class=\"label\">no suggestions measured yet</text>");
        y = 30.0;
    }
    svg(y, &body)
}

/// Vertical bars, one per row (a histogram).
fn histogram(rows: &[Row]) -> String {
    let height = 140.0;
    let max = rows
        .iter()
        .flat_map(|(_, bars)| bars.iter().map(|b| b.0))
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let step = WIDTH / rows.len().max(1) as f64;
    let mut body = String::new();
    for (i, (label, group)) in rows.iter().enumerate() {
        let Some((value, color, text)) = group.first() else {
            continue;
        };
        let bar = value / max * (height - 30.0);
        let x = i as f64 * step;
        let _ = write!(
            body,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"value\" text-anchor=\"middle\">{}</text>\
             <text x=\"{:.1}\" y=\"{height:.0}\" class=\"label\" text-anchor=\"middle\">{}</text>",
            x + 2.0,
            height - 16.0 - bar,
            step - 4.0,
            x + step / 2.0,
            height - 20.0 - bar,
            escape(text),
            x + step / 2.0,
            escape(label)
        );
    }
    svg(height + 4.0, &body)
}

/// Each difference as a point with its interval, around a zero line.
fn uplift(rows: &[(String, Option<Difference>, String)]) -> String {
    let mut body = String::new();
    let mut y = 10.0;
    let plot = WIDTH - LABEL - 10.0;
    for (label, difference, _) in rows {
        let _ = write!(
            body,
            "<text x=\"0\" y=\"{:.0}\" class=\"label\">{}</text>",
            y + 12.0,
            escape(label)
        );
        match difference {
            None => {
                let _ = write!(
                    body,
                    "<text x=\"0\" y=\"{:.0}\" class=\"value\">too few people to tell</text>",
                    y + 28.0
                );
            }
            Some(d) => {
                let reach = d.low.abs().max(d.high.abs()).max(1e-9) * 1.1;
                let x = |v: f64| LABEL + plot / 2.0 + v / reach * plot / 2.0;
                let color = if d.significant() { RECIPIENTS } else { HOLDOUT };
                let _ = write!(
                    body,
                    "<line x1=\"{zero:.1}\" y1=\"{top:.0}\" x2=\"{zero:.1}\" y2=\"{bottom:.0}\" stroke=\"#444\" stroke-dasharray=\"3 3\"/>\
                     <line x1=\"{low:.1}\" y1=\"{mid:.0}\" x2=\"{high:.1}\" y2=\"{mid:.0}\" stroke=\"{color}\" stroke-width=\"4\"/>\
                     <circle cx=\"{point:.1}\" cy=\"{mid:.0}\" r=\"6\" fill=\"{color}\"/>\
                     <text x=\"0\" y=\"{text:.0}\" class=\"value\">{:+.2} [{:+.2}, {:+.2}]</text>",
                    d.difference,
                    d.low,
                    d.high,
                    zero = x(0.0),
                    top = y,
                    bottom = y + 34.0,
                    low = x(d.low),
                    high = x(d.high),
                    point = x(d.difference),
                    mid = y + 22.0,
                    text = y + 28.0,
                );
            }
        }
        y += 44.0;
    }
    svg(y, &body)
}

fn svg(height: f64, body: &str) -> String {
    format!(
        "<svg viewBox=\"0 0 {WIDTH} {height:.0}\" width=\"{WIDTH}\" height=\"{height:.0}\" role=\"img\">{body}</svg>"
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}\
h1{margin-bottom:.2rem}.period{color:#555}\
.flags{margin:1rem 0}.flag{padding:.5rem .8rem;border-radius:6px;margin:.3rem 0}\
.flag.red{background:#fbe9e7;border-left:5px solid #b3261e}.flag.good{background:#e8f5e9;border-left:5px solid #1f6f5c}\
.campaign{border-top:1px solid #ddd;margin-top:2rem}h2 small{color:#777;font-weight:normal;font-size:.8rem}\
.tiles{display:flex;gap:1rem;flex-wrap:wrap}.tile{background:#f4f6f5;padding:.6rem 1rem;border-radius:6px;min-width:7rem}\
.tile span{display:block;color:#666;font-size:.8rem}.tile b{font-size:1.4rem}\
.charts{display:flex;flex-wrap:wrap;gap:1.5rem;margin-top:1rem}figure{margin:0}figcaption{font-weight:600;margin-bottom:.4rem}\
svg .label{font-size:12px;fill:#333}svg .value{font-size:11px;fill:#222}\
.verdict{flex-basis:100%}.figures{background:#fafafa;padding:1rem;overflow-x:auto;font-size:.8rem}";
