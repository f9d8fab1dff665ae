//! `source: auto`: the source that did best on the shop's own recent
//! history. When a list first asks for it, the shop is backtested on a
//! validation window that ends at `now` (models learnt before the window,
//! judged on what customers bought in it — never on anything at or after
//! `now`), and the source with the best NDCG@10 under the list's protocol
//! wins: bestsellers on a shop where popularity is all there is (a
//! grocery), a personalised source where purchases say something about the
//! next one. The choice and its figures are shown by `plan`, `preview` and
//! `backtest`.

use serde::Serialize;

use super::backtest::{self, Contender, Protocol};
use crate::campaign::Source;
use crate::data::Store;

/// The validation window: the last 30 days before `now`.
pub const WINDOW_DAYS: i64 = 30;
/// Customers evaluated at most (an even sample beyond), to keep the choice quick.
pub const MAX_CUSTOMERS: usize = 5_000;
/// Below this many customers in the window, the figures are noise: bestsellers.
pub const MIN_CUSTOMERS: usize = 30;
/// A personalised source must beat bestsellers' NDCG by this factor to be
/// chosen: bestsellers are simpler to trust and explain, and a hair's lead
/// on one month is noise (on a shop where only popularity predicts, the
/// personalised sources land within 1% of bestsellers either way).
pub const MARGIN: f64 = 1.05;
/// The contenders, bestsellers (the baseline, and the winner of ties) first.
pub const CANDIDATES: [&str; 4] = [
    "bestsellers",
    "cross_sell+bestsellers",
    "similar_customers",
    "next_purchase",
];

/// What `auto` chose for one protocol, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoChoice {
    pub protocol: Protocol,
    /// The winner's name (`next_purchase`, `cross_sell+bestsellers`, …).
    pub source: String,
    #[serde(skip)]
    pub pick: Source,
    #[serde(skip)]
    pub fallback: Vec<Source>,
    /// One sentence with the figures.
    pub why: String,
    /// The validation window, Unix seconds: from (the models' cutoff) to `now`.
    pub window_from: i64,
    pub window_to: i64,
}

pub(crate) fn choose(store: &Store, now: i64, protocol: Protocol) -> AutoChoice {
    let from = now.saturating_sub(WINDOW_DAYS * 86_400);
    let contenders: Vec<Contender> = CANDIDATES
        .iter()
        .filter_map(|name| Contender::named(name))
        .collect();
    let report = backtest::run_sampled(store, from, now, 10, &contenders, MAX_CUSTOMERS);
    let scores: Vec<&backtest::Scores> = report
        .scores
        .iter()
        .filter(|s| s.protocol == protocol)
        .collect();
    let customers = scores.first().map_or(0, |s| s.customers);
    let baseline = scores.first().map_or(0.0, |s| s.ndcg);
    let leader =
        scores.iter().enumerate().fold(
            0,
            |best, (i, s)| if s.ndcg > scores[best].ndcg { i } else { best },
        );
    // Bestsellers stay unless another source clearly beats them.
    let best = if scores
        .get(leader)
        .is_some_and(|s| s.ndcg >= baseline * MARGIN)
    {
        leader
    } else {
        0
    };
    let (winner, why) = if customers < MIN_CUSTOMERS {
        (
            &contenders[0],
            format!(
                "only {customers} customers bought both before and in the last {WINDOW_DAYS} days: too few to judge, so bestsellers"
            ),
        )
    } else {
        let figures: Vec<String> = scores
            .iter()
            .map(|s| format!("{} {:.3}", s.source, s.ndcg))
            .collect();
        let verdict = if best == 0 {
            format!(
                "no source beat bestsellers by {:.0}%",
                (MARGIN - 1.0) * 100.0
            )
        } else {
            format!("{:.2}× bestsellers", scores[best].ndcg / baseline.max(1e-9))
        };
        (
            &contenders[best],
            format!(
                "{verdict} on this shop's last {WINDOW_DAYS} days ({customers} customers; NDCG@10: {})",
                figures.join(", "),
            ),
        )
    };
    AutoChoice {
        protocol,
        source: winner.name.clone(),
        pick: winner.pick.clone(),
        fallback: winner.fallback.clone(),
        why,
        window_from: from,
        window_to: now,
    }
}
