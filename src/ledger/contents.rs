//! What each message showed — its variant, its moment and the products of
//! each list — kept beside the message's row, so `xsell report` can tell
//! whether the suggestions were bought. Written in the claim's transaction
//! for a message that is sent, and with the record of a held-out moment for
//! what the control group would have been shown (its baseline).

use super::db::{Db, DbResult, vals};
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

pub(super) fn store_in(db: &mut Db, key: &MessageKey, contents: &str) -> DbResult<()> {
    db.execute(
        "INSERT INTO message_contents (campaign, customer, occurrence, contents) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (campaign, customer, occurrence) DO UPDATE SET contents = excluded.contents",
        vals![&key.campaign, &key.customer, &key.occurrence, contents],
    )?;
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
        let json = contents.map(Contents::to_json);
        self.db
            .get_mut()
            .transaction(|db| {
                let changed = db.execute(
                    "INSERT INTO messages (campaign, customer, occurrence, email, state, reason, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'held_out', 'held out', ?5, ?5)
                     ON CONFLICT (campaign, customer, occurrence) DO UPDATE SET
                       state = 'held_out', reason = 'held out', not_before = NULL, updated_at = excluded.updated_at
                     WHERE messages.state = 'deferred' OR (messages.state = 'failed' AND messages.reason LIKE 'transient:%')",
                    vals![&key.campaign, &key.customer, &key.occurrence, email, now],
                )?;
                if changed > 0
                    && let Some(json) = &json
                {
                    store_in(db, key, json)?;
                }
                Ok(())
            })
            .map_err(|e| ledger_error(&path, e))
    }

    /// Sent and held-out messages recorded between `since` and `until`
    /// (Unix seconds, `until` excluded), of one campaign or all.
    pub fn report_rows(
        &self,
        campaign: Option<&str>,
        since: i64,
        until: i64,
    ) -> Result<Vec<ReportRow>> {
        const SELECT: &str = "SELECT m.campaign, m.customer, m.email, m.state, m.updated_at, c.contents
             FROM messages m LEFT JOIN message_contents c
               ON c.campaign = m.campaign AND c.customer = m.customer AND c.occurrence = m.occurrence
             WHERE m.state IN ('sent', 'held_out') AND m.updated_at >= ?1 AND m.updated_at < ?2";
        let rows = match campaign {
            Some(campaign) => self.db().query(
                &format!(
                    "{SELECT} AND m.campaign = ?3 ORDER BY m.campaign, m.updated_at, m.customer"
                ),
                vals![since, until, campaign],
            ),
            None => self.db().query(
                &format!("{SELECT} ORDER BY m.campaign, m.updated_at, m.customer"),
                vals![since, until],
            ),
        }
        .map_err(self.fail())?;
        Ok(rows
            .iter()
            .map(|row| ReportRow {
                campaign: row.text(0),
                customer: row.text(1),
                email: row.text(2),
                state: State::parse(&row.text(3)),
                at: row.int(4),
                contents: row
                    .opt_text(5)
                    .and_then(|text| serde_json::from_str(&text).ok()),
            })
            .collect())
    }

    /// What one message showed, when it was sent (claimed or confirmed):
    /// the landing page marks these products as the email's.
    pub fn contents_of(
        &self,
        campaign: &str,
        customer: &str,
        occurrence: &str,
    ) -> Result<Option<Contents>> {
        let text = self
            .db()
            .query_opt(
                "SELECT c.contents FROM message_contents c JOIN messages m
                   ON m.campaign = c.campaign AND m.customer = c.customer AND m.occurrence = c.occurrence
                 WHERE c.campaign = ?1 AND c.customer = ?2 AND c.occurrence = ?3
                   AND m.state IN ('claimed', 'sent')",
                vals![campaign, customer, occurrence],
            )
            .map_err(self.fail())?
            .and_then(|row| row.opt_text(0));
        Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// Addresses that left because of a campaign's message, by reason
    /// (`unsubscribed`, `complained`, `bounced`; campaign opt-outs count as
    /// unsubscribed): (campaign, email, reason, at).
    pub fn departures(&self) -> Result<Vec<(String, String, String, i64)>> {
        let rows = self
            .db()
            .query(
                "SELECT campaign, email, reason, at FROM suppression WHERE campaign IS NOT NULL
                 UNION ALL
                 SELECT campaign, email, 'unsubscribed', at FROM campaign_opt_outs",
                &[],
            )
            .map_err(self.fail())?;
        Ok(rows
            .iter()
            .map(|row| (row.text(0), row.text(1), row.text(2), row.int(3)))
            .collect())
    }
}
