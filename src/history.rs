//! What planning needs to know about the past: who may no longer be mailed
//! (suppression), which moments were already handled, and what each
//! customer was sent recently (for frequency caps).
//!
//! The ledger (SQLite) implements [`SendHistory`]; [`MemoryHistory`] is the
//! same thing in memory, for tests and for `plan` before anything was sent.
//! Planning only reads: it never writes to the history.

use std::collections::HashMap;

use serde::Serialize;

/// Why an address may not be mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    Unsubscribed,
    Bounced,
    Complained,
    /// Added by hand (`xsell suppress add`).
    Manual,
}

impl SuppressionReason {
    pub fn name(self) -> &'static str {
        match self {
            SuppressionReason::Unsubscribed => "unsubscribed",
            SuppressionReason::Bounced => "bounced",
            SuppressionReason::Complained => "complained",
            SuppressionReason::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub reason: SuppressionReason,
    /// Unix seconds.
    pub since: i64,
}

/// What became of a moment that was already handled. A deferred message is
/// not handled: it is planned again until it is sent or its moment closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Sent,
    /// In the control group: recorded, never sent.
    HeldOut,
    /// Recorded as skipped for good (e.g. capped with `on_cap = "skip"`).
    Skipped,
    /// Claimed by a run that never confirmed it: it may have been sent.
    Unconfirmed,
    /// Refused for good by the server.
    Bounced,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::HeldOut => "held out",
            Outcome::Skipped => "skipped",
            Outcome::Unconfirmed => "claimed (unconfirmed)",
            Outcome::Bounced => "bounced",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Handled {
    pub outcome: Outcome,
    /// Unix seconds.
    pub at: i64,
}

/// One message sent (or claimed) to a customer, any campaign, as frequency
/// caps see it; the ledger reads its rows into it, so its claim transaction
/// can hand them straight to [`crate::caps::check`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PastSend {
    pub campaign: String,
    /// When it was claimed (Unix seconds).
    pub at: i64,
}

/// The ledger as planning reads it. Customers are named by their ids and
/// addresses (stable across data reloads), never by store positions.
pub trait SendHistory: Sync {
    /// Whether the address is suppressed, and why.
    fn suppression(&self, email: &str) -> Option<Suppression>;

    /// Whether this moment of this campaign was already handled for the customer.
    fn handled(&self, campaign: &str, customer: &str, occurrence: &str) -> Option<Handled>;

    /// The customer's sends, all campaigns, with `from <= at < to`, oldest first.
    fn sends(&self, customer: &str, from: i64, to: i64) -> Vec<PastSend>;
}

/// A history held in memory: empty for a first `plan`, filled by tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryHistory {
    suppressed: HashMap<String, Suppression>,
    handled: HashMap<(String, String, String), Handled>,
    sends: HashMap<String, Vec<PastSend>>,
}

/// Addresses compare without case or surrounding spaces.
fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}

impl MemoryHistory {
    pub fn new() -> MemoryHistory {
        MemoryHistory::default()
    }

    pub fn suppress(&mut self, email: &str, reason: SuppressionReason, since: i64) {
        self.suppressed
            .insert(normalise(email), Suppression { reason, since });
    }

    /// Records what became of a moment; a sent one also counts for caps.
    pub fn record(
        &mut self,
        campaign: &str,
        customer: &str,
        occurrence: &str,
        outcome: Outcome,
        at: i64,
    ) {
        self.handled.insert(
            (campaign.into(), customer.into(), occurrence.into()),
            Handled { outcome, at },
        );
        if outcome == Outcome::Sent {
            self.record_send(customer, campaign, at);
        }
    }

    /// Records what became of a moment, without counting it for caps
    /// (the ledger adds its sends separately, with [`MemoryHistory::record_send`]).
    pub fn mark_handled(
        &mut self,
        campaign: &str,
        customer: &str,
        occurrence: &str,
        outcome: Outcome,
        at: i64,
    ) {
        self.handled.insert(
            (campaign.into(), customer.into(), occurrence.into()),
            Handled { outcome, at },
        );
    }

    /// A send that counts for caps (e.g. of a campaign not being planned).
    pub fn record_send(&mut self, customer: &str, campaign: &str, at: i64) {
        let sends = self.sends.entry(customer.into()).or_default();
        sends.push(PastSend {
            campaign: campaign.into(),
            at,
        });
        sends.sort_by_key(|s| s.at);
    }
}

impl SendHistory for MemoryHistory {
    fn suppression(&self, email: &str) -> Option<Suppression> {
        self.suppressed.get(&normalise(email)).copied()
    }

    fn handled(&self, campaign: &str, customer: &str, occurrence: &str) -> Option<Handled> {
        self.handled
            .get(&(campaign.into(), customer.into(), occurrence.into()))
            .copied()
    }

    fn sends(&self, customer: &str, from: i64, to: i64) -> Vec<PastSend> {
        self.sends
            .get(customer)
            .map(|sends| {
                sends
                    .iter()
                    .filter(|s| from <= s.at && s.at < to)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_history_answers_what_planning_asks() {
        let mut history = MemoryHistory::new();
        history.suppress(" Ana@Example.com", SuppressionReason::Unsubscribed, 10);
        history.record("camp", "C1", "order:O1", Outcome::Sent, 100);
        history.record("camp", "C1", "order:O2", Outcome::HeldOut, 150);
        history.record_send("C1", "other", 50);
        assert_eq!(
            history.suppression("ana@example.com"),
            Some(Suppression {
                reason: SuppressionReason::Unsubscribed,
                since: 10
            })
        );
        assert_eq!(history.suppression("ben@example.com"), None);
        assert_eq!(
            history.handled("camp", "C1", "order:O1"),
            Some(Handled {
                outcome: Outcome::Sent,
                at: 100
            })
        );
        assert_eq!(history.handled("camp", "C2", "order:O1"), None);
        let campaigns: Vec<(String, i64)> = history
            .sends("C1", 0, 1_000)
            .into_iter()
            .map(|s| (s.campaign, s.at))
            .collect();
        assert_eq!(
            campaigns,
            [("other".into(), 50), ("camp".into(), 100)],
            "held out is not a send"
        );
        assert_eq!(history.sends("C1", 51, 100), []);
    }
}
