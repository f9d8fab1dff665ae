//! Reading the messages table: one message, messages by state, unconfirmed
//! claims, counts, a customer's recent sends, and the history planning
//! reads.

use rusqlite::{Connection, OptionalExtension, params};

use super::*;
use crate::error::Result;

impl Ledger {
    /// The row of one message, if any.
    pub fn message(&self, key: &MessageKey) -> Result<Option<MessageRow>> {
        self.connection
            .query_row(
                &format!("{SELECT_ROW} WHERE campaign = ?1 AND customer = ?2 AND occurrence = ?3"),
                params![key.campaign, key.customer, key.occurrence],
                message_row,
            )
            .optional()
            .map_err(|e| ledger_error(&self.path, e))
    }

    /// Messages in a state (all campaigns when `campaign` is `None`), oldest first.
    pub fn messages_in_state(
        &self,
        campaign: Option<&str>,
        state: State,
    ) -> Result<Vec<MessageRow>> {
        let mut statement = self
            .connection
            .prepare(&format!("{SELECT_ROW} WHERE (?1 IS NULL OR campaign = ?1) AND state = ?2 ORDER BY updated_at, campaign, customer, occurrence"))
            .map_err(|e| ledger_error(&self.path, e))?;
        let rows = statement
            .query_map(params![campaign, state.name()], message_row)
            .map_err(|e| ledger_error(&self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| ledger_error(&self.path, e))
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
        let mut statement = self
            .connection
            .prepare("SELECT state, COUNT(*) FROM messages WHERE campaign = ?1 GROUP BY state ORDER BY state")
            .map_err(|e| ledger_error(&self.path, e))?;
        let rows = statement
            .query_map(params![campaign], |row| {
                Ok((
                    State::parse(&row.get::<_, String>(0)?),
                    row.get::<_, i64>(1)?.max(0) as u64,
                ))
            })
            .map_err(|e| ledger_error(&self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| ledger_error(&self.path, e))
    }

    /// A customer's claimed or sent messages since `since` (all campaigns).
    pub fn sends_of(&self, customer: &str, since: i64) -> Result<Vec<PastSend>> {
        past_sends(&self.connection, customer, since).map_err(|e| ledger_error(&self.path, e))
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
        path: &Path,
        caps: &crate::config::GlobalCaps,
        campaign: &crate::campaign::Campaign,
        now: i64,
    ) -> Result<crate::history::MemoryHistory> {
        match Ledger::open_existing(path)? {
            Some(ledger) => ledger.planning_history(caps, campaign, now),
            None => Ok(crate::history::MemoryHistory::new()),
        }
    }

    /// What planning reads, taken in one pass: the suppression list, the
    /// moments of `campaign` already handled, and everyone's claims and sends
    /// since `since` (for caps). The claim transaction re-checks all of it.
    pub fn history(&self, campaign: &str, since: i64) -> Result<crate::history::MemoryHistory> {
        use crate::history::{MemoryHistory, Outcome, SuppressionReason};
        let fail = |e: rusqlite::Error| ledger_error(&self.path, e);
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
        let mut statement = self
            .connection
            .prepare("SELECT customer, occurrence, state, reason, updated_at FROM messages WHERE campaign = ?1 AND state IN ('sent', 'held_out', 'skipped', 'claimed', 'failed')")
            .map_err(fail)?;
        let rows = statement
            .query_map(params![campaign], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, i64>(4)?,
                ))
            })
            .map_err(fail)?;
        for row in rows {
            let (customer, occurrence, state, reason, at) = row.map_err(fail)?;
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
        let mut statement = self
            .connection
            .prepare("SELECT customer, campaign, updated_at FROM messages WHERE state IN ('claimed', 'sent') AND updated_at >= ?1 ORDER BY updated_at")
            .map_err(fail)?;
        let rows = statement
            .query_map(params![since], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })
            .map_err(fail)?;
        for row in rows {
            let (customer, other, at) = row.map_err(fail)?;
            history.record_send(&customer, &other, at);
        }
        Ok(history)
    }
}

pub(super) const SELECT_ROW: &str = "SELECT campaign, customer, occurrence, email, state, reason, message_id, owner, attempts, updated_at FROM messages";

pub(super) fn message_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        key: MessageKey {
            campaign: row.get(0)?,
            customer: row.get(1)?,
            occurrence: row.get(2)?,
        },
        email: row.get(3)?,
        state: State::parse(&row.get::<_, String>(4)?),
        reason: row.get(5)?,
        message_id: row.get(6)?,
        owner: row.get(7)?,
        attempts: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

pub(super) fn past_sends(
    connection: &Connection,
    customer: &str,
    since: i64,
) -> rusqlite::Result<Vec<PastSend>> {
    let mut statement = connection.prepare_cached(
        "SELECT campaign, updated_at FROM messages WHERE customer = ?1 AND state IN ('claimed', 'sent') AND updated_at >= ?2 ORDER BY updated_at",
    )?;
    let rows = statement.query_map(params![customer, since], |row| {
        Ok(PastSend {
            campaign: row.get(0)?,
            at: row.get(1)?,
        })
    })?;
    rows.collect()
}
