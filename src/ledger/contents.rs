//! What each message showed — its variant, its moment and the products of
//! each list — kept beside the message's row, so `xsell report` can tell
//! whether the suggestions were bought. Written in the claim's transaction
//! for a message that is sent, and with the record of a held-out moment for
//! what the control group would have been shown (its baseline).

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Ledger, MessageKey, State, ledger_error};
use crate::error::Result;

/// One message's contents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contents {
    /// The A/B variant the customer was assigned, when the campaign has variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// When the moment happened (Unix seconds).
    pub moment_at: i64,
    /// The moment's products (ids), which seeded `seed: trigger` lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moment_products: Vec<String>,
    /// Every product shown, in order.
    #[serde(default)]
    pub shown: Vec<Shown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_code: Option<String>,
}

/// A product shown in a message: its list and the source that picked it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shown {
    pub list: String,
    pub source: String,
    pub product: String,
}

impl Contents {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("contents serialize")
    }
}

/// A message with its contents, as `xsell report` reads it.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub campaign: String,
    pub customer: String,
    pub email: String,
    /// `Sent` or `HeldOut`.
    pub state: State,
    /// When it was sent (or recorded as held out).
    pub at: i64,
    /// None for rows written before the ledger kept contents.
    pub contents: Option<Contents>,
}

pub(super) fn store_in(
    connection: &Connection,
    key: &MessageKey,
    contents: &str,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO message_contents (campaign, customer, occurrence, contents) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (campaign, customer, occurrence) DO UPDATE SET contents = excluded.contents",
        )?
        .execute(params![key.campaign, key.customer, key.occurrence, contents])?;
    Ok(())
}

impl Ledger {
    /// Records a held-out moment with what it would have shown (unless the
    /// moment already has a final state).
    pub fn record_held_out(
        &mut self,
        key: &MessageKey,
        email: &str,
        contents: Option<&Contents>,
        now: i64,
    ) -> Result<()> {
        let path = self.path.clone();
        let fail = |e| ledger_error(&path, e);
        let transaction = self.connection.transaction().map_err(fail)?;
        let changed = transaction
            .execute(
                "INSERT INTO messages (campaign, customer, occurrence, email, state, reason, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'held_out', 'held out', ?5, ?5)
                 ON CONFLICT (campaign, customer, occurrence) DO UPDATE SET
                   state = 'held_out', reason = 'held out', not_before = NULL, updated_at = excluded.updated_at
                 WHERE messages.state = 'deferred' OR (messages.state = 'failed' AND messages.reason LIKE 'transient:%')",
                params![key.campaign, key.customer, key.occurrence, email, now],
            )
            .map_err(fail)?;
        if changed > 0
            && let Some(contents) = contents
        {
            store_in(&transaction, key, &contents.to_json()).map_err(fail)?;
        }
        transaction.commit().map_err(fail)
    }

    /// Sent and held-out messages recorded between `since` and `until`
    /// (Unix seconds, `until` excluded), of one campaign or all.
    pub fn report_rows(
        &self,
        campaign: Option<&str>,
        since: i64,
        until: i64,
    ) -> Result<Vec<ReportRow>> {
        let fail = |e| ledger_error(&self.path, e);
        let mut statement = self
            .connection
            .prepare(
                "SELECT m.campaign, m.customer, m.email, m.state, m.updated_at, c.contents
                 FROM messages m LEFT JOIN message_contents c
                   ON c.campaign = m.campaign AND c.customer = m.customer AND c.occurrence = m.occurrence
                 WHERE m.state IN ('sent', 'held_out') AND (?1 IS NULL OR m.campaign = ?1)
                   AND m.updated_at >= ?2 AND m.updated_at < ?3
                 ORDER BY m.campaign, m.updated_at, m.customer",
            )
            .map_err(fail)?;
        let rows = statement
            .query_map(params![campaign, since, until], |row| {
                let contents: Option<String> = row.get(5)?;
                Ok(ReportRow {
                    campaign: row.get(0)?,
                    customer: row.get(1)?,
                    email: row.get(2)?,
                    state: State::parse(&row.get::<_, String>(3)?),
                    at: row.get(4)?,
                    contents: contents.and_then(|text| serde_json::from_str(&text).ok()),
                })
            })
            .map_err(fail)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(fail)
    }

    /// What one message showed, when it was sent (claimed or confirmed):
    /// the landing page marks these products as the email's.
    pub fn contents_of(
        &self,
        campaign: &str,
        customer: &str,
        occurrence: &str,
    ) -> Result<Option<Contents>> {
        let fail = |e| ledger_error(&self.path, e);
        let text: Option<String> = self
            .connection
            .query_row(
                "SELECT c.contents FROM message_contents c JOIN messages m
                   ON m.campaign = c.campaign AND m.customer = c.customer AND m.occurrence = c.occurrence
                 WHERE c.campaign = ?1 AND c.customer = ?2 AND c.occurrence = ?3
                   AND m.state IN ('claimed', 'sent')",
                params![campaign, customer, occurrence],
                |row| row.get(0),
            )
            .optional()
            .map_err(fail)?;
        Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// Addresses that left because of a campaign's message, by reason
    /// (`unsubscribed`, `complained`, `bounced`; campaign opt-outs count as
    /// unsubscribed): (campaign, email, reason, at).
    pub fn departures(&self) -> Result<Vec<(String, String, String, i64)>> {
        let fail = |e| ledger_error(&self.path, e);
        let mut statement = self
            .connection
            .prepare(
                "SELECT campaign, email, reason, at FROM suppression WHERE campaign IS NOT NULL
                 UNION ALL
                 SELECT campaign, email, 'unsubscribed', at FROM campaign_opt_outs",
            )
            .map_err(fail)?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .map_err(fail)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(fail)
    }
}
