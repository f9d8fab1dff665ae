//! Reading the messages table: one message, messages by state, unconfirmed
//! claims, counts, a customer's recent sends, and the history planning
//! reads.

use super::db::{Db, DbResult, Row};
use super::*;
use crate::error::Result;

impl Ledger {
    /// The row of one message, if any.
    pub fn message(&self, key: &MessageKey) -> Result<Option<MessageRow>> {
        Ok(self
            .db()
            .query_opt(
                &format!("{SELECT_ROW} WHERE campaign = ?1 AND customer = ?2 AND occurrence = ?3"),
                vals![&key.campaign, &key.customer, &key.occurrence],
            )
            .map_err(self.fail())?
            .map(|row| message_row(&row)))
    }

    /// Messages in a state (all campaigns when `campaign` is `None`), oldest first.
    pub fn messages_in_state(
        &self,
        campaign: Option<&str>,
        state: State,
    ) -> Result<Vec<MessageRow>> {
        let rows = match campaign {
            Some(campaign) => self.db().query(
                &format!("{SELECT_ROW} WHERE campaign = ?1 AND state = ?2 ORDER BY updated_at, campaign, customer, occurrence"),
                vals![campaign, state.name()],
            ),
            None => self.db().query(
                &format!("{SELECT_ROW} WHERE state = ?1 ORDER BY updated_at, campaign, customer, occurrence"),
                vals![state.name()],
            ),
        }
        .map_err(self.fail())?;
        Ok(rows.iter().map(message_row).collect())
    }

    /// Claims left by processes that are gone: sent or not, nobody knows.
    pub fn unconfirmed(&self, campaign: Option<&str>) -> Result<Vec<MessageRow>> {
        let claimed = self.messages_in_state(campaign, State::Claimed)?;
        Ok(claimed
            .into_iter()
            .filter(|row| {
                row.owner
                    .as_deref()
                    .is_none_or(|o| o != self.owner && !owner_alive(o))
            })
            .collect())
    }

    /// Counts of messages per state for a campaign.
    pub fn state_counts(&self, campaign: &str) -> Result<Vec<(State, u64)>> {
        let rows = self
            .db()
            .query(
                "SELECT state, COUNT(*) FROM messages WHERE campaign = ?1 GROUP BY state ORDER BY state",
                vals![campaign],
            )
            .map_err(self.fail())?;
        Ok(rows
            .iter()
            .map(|row| (State::parse(&row.text(0)), row.int(1).max(0) as u64))
            .collect())
    }

    /// A customer's claimed or sent messages since `since` (all campaigns).
    pub fn sends_of(&self, customer: &str, since: i64) -> Result<Vec<PastSend>> {
        past_sends(&mut self.db(), customer, since).map_err(self.fail())
    }

    /// What planning `campaign` at `now` reads: [`Ledger::history`] over
    /// the look-back of the campaign's caps and the global ones.
    pub fn planning_history(
        &self,
        caps: &crate::config::GlobalCaps,
        campaign: &crate::campaign::Campaign,
        now: i64,
    ) -> Result<crate::history::MemoryHistory> {
        let lookback = crate::caps::CapRules::new(caps, &campaign.caps).lookback();
        self.history(&campaign.id, now - lookback)
    }

    /// [`Ledger::planning_history`] from the ledger at `path`, without
    /// creating one: an empty history before the first send. For the
    /// commands that only read (`plan`, `preview`, `serve`).
    pub fn read_planning_history(
        config: &crate::config::Config,
        campaign: &crate::campaign::Campaign,
        now: i64,
    ) -> Result<crate::history::MemoryHistory> {
        let caps = &config.caps;
        match Ledger::open_existing_for(config)? {
            Some(ledger) => ledger.planning_history(caps, campaign, now),
            None => Ok(crate::history::MemoryHistory::new()),
        }
    }

    /// What planning reads, taken in one pass: the suppression list, the
    /// moments of `campaign` already handled, and everyone's claims and sends
    /// since `since` (for caps). The claim transaction re-checks all of it.
    pub fn history(&self, campaign: &str, since: i64) -> Result<crate::history::MemoryHistory> {
        use crate::history::{MemoryHistory, Outcome, SuppressionReason};
        let mut history = MemoryHistory::new();
        for entry in self.suppression_list()? {
            let reason = match entry.reason.as_str() {
                "unsubscribed" => SuppressionReason::Unsubscribed,
                "bounced" => SuppressionReason::Bounced,
                "complained" => SuppressionReason::Complained,
                _ => SuppressionReason::Manual,
            };
            history.suppress(&entry.email, reason, entry.at);
        }
        for (email, at) in self.campaign_opt_outs(campaign)? {
            history.suppress(&email, SuppressionReason::Unsubscribed, at);
        }
        let rows = self
            .db()
            .query(
                "SELECT customer, occurrence, state, reason, updated_at FROM messages WHERE campaign = ?1 AND state IN ('sent', 'held_out', 'skipped', 'claimed', 'failed')",
                vals![campaign],
            )
            .map_err(self.fail())?;
        for row in rows {
            let (customer, occurrence, state, reason, at) = (
                row.text(0),
                row.text(1),
                row.text(2),
                row.opt_text(3),
                row.int(4),
            );
            let outcome = match State::parse(&state) {
                State::Sent => Outcome::Sent,
                State::HeldOut => Outcome::HeldOut,
                State::Skipped => Outcome::Skipped,
                // Unconfirmed, or being sent right now by another run: either way, not to plan again.
                State::Claimed => Outcome::Unconfirmed,
                State::Failed if Failure::of(reason.as_deref()) == Some(Failure::Permanent) => {
                    Outcome::Bounced
                }
                // A transient failure or a deferral is tried again.
                _ => continue,
            };
            history.mark_handled(campaign, &customer, &occurrence, outcome, at);
        }
        let rows = self
            .db()
            .query(
                "SELECT customer, campaign, updated_at FROM messages WHERE state IN ('claimed', 'sent') AND updated_at >= ?1 ORDER BY updated_at",
                vals![since],
            )
            .map_err(self.fail())?;
        for row in rows {
            history.record_send(&row.text(0), &row.text(1), row.int(2));
        }
        Ok(history)
    }
}

pub(super) const SELECT_ROW: &str = "SELECT campaign, customer, occurrence, email, state, reason, message_id, owner, attempts, updated_at FROM messages";

pub(super) fn message_row(row: &Row) -> MessageRow {
    MessageRow {
        key: MessageKey {
            campaign: row.text(0),
            customer: row.text(1),
            occurrence: row.text(2),
        },
        email: row.text(3),
        state: State::parse(&row.text(4)),
        reason: row.opt_text(5),
        message_id: row.opt_text(6),
        owner: row.opt_text(7),
        attempts: row.int(8) as u32,
        updated_at: row.int(9),
    }
}

pub(super) fn past_sends(db: &mut Db, customer: &str, since: i64) -> DbResult<Vec<PastSend>> {
    let rows = db.query(
        "SELECT campaign, updated_at FROM messages WHERE customer = ?1 AND state IN ('claimed', 'sent') AND updated_at >= ?2 ORDER BY updated_at",
        vals![customer, since],
    )?;
    Ok(rows
        .iter()
        .map(|row| PastSend {
            campaign: row.text(0),
            at: row.int(1),
        })
        .collect())
}
