//! The suppression list: unsubscribes, hard bounces, complaints and manual
//! entries; every claim checks it in its transaction.

use rusqlite::{Connection, OptionalExtension, params};

use super::*;
use crate::error::Result;

impl Ledger {
    pub fn suppress(&mut self, email: &str, reason: &str, source: &str, now: i64) -> Result<bool> {
        suppress_in(&self.connection, email, reason, source, None, now)
            .map_err(|e| ledger_error(&self.path, e))
    }

    pub fn unsuppress(&mut self, email: &str) -> Result<bool> {
        let changed = self
            .connection
            .execute(
                "DELETE FROM suppression WHERE email = ?1",
                params![email.trim().to_lowercase()],
            )
            .map_err(|e| ledger_error(&self.path, e))?;
        Ok(changed > 0)
    }

    /// The reason an address is suppressed, if it is.
    pub fn suppression_of(&self, email: &str) -> Result<Option<String>> {
        self.connection
            .query_row(
                "SELECT reason FROM suppression WHERE email = ?1",
                params![email.trim().to_lowercase()],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| ledger_error(&self.path, e))
    }

    /// Every suppressed address, by address.
    pub fn suppression_list(&self) -> Result<Vec<Suppression>> {
        let mut statement = self
            .connection
            .prepare("SELECT email, reason, source, at, campaign FROM suppression ORDER BY email")
            .map_err(|e| ledger_error(&self.path, e))?;
        let rows = statement
            .query_map([], |row| {
                Ok(Suppression {
                    email: row.get(0)?,
                    reason: row.get(1)?,
                    source: row.get(2)?,
                    at: row.get(3)?,
                    campaign: row.get(4)?,
                })
            })
            .map_err(|e| ledger_error(&self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| ledger_error(&self.path, e))
    }
}

/// Adds `email` to the suppression list unless it is there; `campaign`: the
/// campaign whose message the report came from, when known.
pub(super) fn suppress_in(
    connection: &Connection,
    email: &str,
    reason: &str,
    source: &str,
    campaign: Option<&str>,
    now: i64,
) -> rusqlite::Result<bool> {
    let changed = connection
        .prepare_cached("INSERT INTO suppression (email, reason, source, at, campaign) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (email) DO NOTHING")?
        .execute(params![email.trim().to_lowercase(), reason, source, now, campaign])?;
    Ok(changed > 0)
}
