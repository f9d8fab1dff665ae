//! The red flags of a cross-selling program, each stated in words next to
//! the figure that tripped it, and the signs that it is time to scale.
//! Every flag needs a measured sample: none is raised from a handful of
//! recipients.

use serde::Serialize;

use super::{CampaignReport, Rate};

/// Below this many measured recipients no flag is raised.
const MIN_RECIPIENTS: u64 = 30;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    /// `low_acceptance`, `cheaper_items`, `more_returns`, `slow_purchase`,
    /// `same_category`, or `scale` (a good sign).
    pub kind: &'static str,
    /// True for a warning, false for a good sign.
    pub red: bool,
    pub message: String,
}

fn percent(rate: &Rate) -> String {
    rate.rate
        .map_or_else(|| "–".to_string(), |r| format!("{:.1}%", r * 100.0))
}

pub fn raise(report: &CampaignReport) -> Vec<Flag> {
    let mut flags = Vec::new();
    let red = |kind, message| Flag {
        kind,
        red: true,
        message,
    };
    let acceptance = report.acceptance;
    let baseline = report.holdout_acceptance;
    let compared = acceptance.of >= MIN_RECIPIENTS && baseline.of >= MIN_RECIPIENTS;
    let ahead = compared && clearly_ahead(&acceptance, &baseline);
    if compared && !ahead {
        flags.push(red(
            "low_acceptance",
            format!(
                "low acceptance: {} of recipients bought a suggested product, not clearly more than the holdout did unprompted ({} bought the same suggestions; {} of the holdout bought something)",
                percent(&acceptance),
                percent(&baseline),
                percent(&report.holdout_purchase_rate)
            ),
        ));
    }
    if let Some(ratio) = report
        .money
        .iter()
        .filter(|m| m.recipients >= MIN_RECIPIENTS)
        .filter_map(|m| m.cross_sell_price_ratio)
        .reduce(f64::min)
        && ratio < 0.5
    {
        flags.push(red(
            "cheaper_items",
            format!(
                "cross-sold items are consistently cheaper: the median suggested item bought costs {:.0}% of what the customer usually pays per item",
                ratio * 100.0
            ),
        ));
    }
    let returns = report.returns;
    let more_returns = match (returns.recommended.rate, returns.all.rate) {
        (Some(recommended), Some(all)) => {
            returns.recommended.count >= 3 && recommended > all * 1.2 && recommended > all + 0.02
        }
        _ => false,
    };
    if more_returns {
        flags.push(red(
            "more_returns",
            format!(
                "cross-sold items come back more often: {} of suggested units returned, against {} of everything bought",
                percent(&returns.recommended),
                percent(&returns.all)
            ),
        ));
    }
    if let Some(timing) = &report.time_to_purchase
        && timing.purchases >= 10
        && timing.median_hours * 3600.0 > report.window as f64 / 2.0
    {
        flags.push(red(
            "slow_purchase",
            format!(
                "long delay to the secondary purchase: median {:.0} hours, past half the {}-day window — the message may not be what prompted it",
                timing.median_hours,
                report.window / 86_400
            ),
        ));
    }
    let buyers = report.purchase_rate.count;
    if buyers >= MIN_RECIPIENTS
        && let Some(expansion) = report.category_expansion.rate
        && (report.category_expansion.count as f64) < 0.1 * buyers as f64
    {
        flags.push(red(
            "same_category",
            format!(
                "customers are not leaving their first category: {:.1}% of recipients bought in a category new to them ({} of {} buyers)",
                expansion * 100.0,
                report.category_expansion.count,
                buyers
            ),
        ));
    }
    if ahead && !more_returns {
        flags.push(Flag {
            kind: "scale",
            red: false,
            message: format!(
                "signs it's time to scale: acceptance {} stays above the holdout's {} (95% confidence) and suggested items come back no more than others",
                percent(&acceptance),
                percent(&baseline)
            ),
        });
    }
    flags
}

/// Whether rate `a` is above rate `b` with 95% confidence, by the
/// Agresti–Caffo interval (one success and one failure added to each
/// group), which stays honest for rates near zero where the plain normal
/// approximation calls 5 of 725 against 0 of 297 a difference.
fn clearly_ahead(a: &Rate, b: &Rate) -> bool {
    let adjusted = |r: &Rate| {
        let n = r.of as f64 + 2.0;
        ((r.count as f64 + 1.0) / n, n)
    };
    let ((pa, na), (pb, nb)) = (adjusted(a), adjusted(b));
    let error = (pa * (1.0 - pa) / na + pb * (1.0 - pb) / nb).sqrt();
    pa - pb > 1.96 * error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handful_against_none_is_not_clearly_ahead() {
        assert!(!clearly_ahead(&Rate::new(5, 725), &Rate::new(0, 297)));
        assert!(clearly_ahead(&Rate::new(220, 725), &Rate::new(3, 297)));
        assert!(!clearly_ahead(&Rate::new(30, 100), &Rate::new(30, 100)));
    }
}
