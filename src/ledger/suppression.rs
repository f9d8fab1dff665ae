//! The suppression list: unsubscribes, hard bounces, complaints and manual
//! entries; every claim checks it in its transaction.

use super::db::{Db, DbResult};
use super::*;
use crate::error::Result;

impl Ledger {
    pub fn suppress(&mut self, email: &str, reason: &str, source: &str, now: i64) -> Result<bool> {
        suppress_in(&mut self.db(), email, reason, source, None, now).map_err(self.fail())
    }

    pub fn unsuppress(&mut self, email: &str) -> Result<bool> {
        let changed = self
            .db()
            .execute(
                "DELETE FROM suppression WHERE email = ?1",
                vals![email.trim().to_lowercase()],
            )
            .map_err(self.fail())?;
        Ok(changed > 0)
    }

    /// The reason an address is suppressed, if it is.
    pub fn suppression_of(&self, email: &str) -> Result<Option<String>> {
        Ok(self
            .db()
            .query_opt(
                "SELECT reason FROM suppression WHERE email = ?1",
                vals![email.trim().to_lowercase()],
            )
            .map_err(self.fail())?
            .map(|row| row.text(0)))
    }

    /// Every suppressed address, by address.
    pub fn suppression_list(&self) -> Result<Vec<Suppression>> {
        let rows = self
            .db()
            .query(
                "SELECT email, reason, source, at, campaign FROM suppression ORDER BY email",
                &[],
            )
            .map_err(self.fail())?;
        Ok(rows
            .iter()
            .map(|row| Suppression {
                email: row.text(0),
                reason: row.text(1),
                source: row.opt_text(2),
                at: row.int(3),
                campaign: row.opt_text(4),
            })
            .collect())
    }
}

/// Adds `email` to the suppression list unless it is there; `campaign`: the
/// campaign whose message the report came from, when known.
pub(super) fn suppress_in(
    db: &mut Db,
    email: &str,
    reason: &str,
    source: &str,
    campaign: Option<&str>,
    now: i64,
) -> DbResult<bool> {
    let changed = db.execute(
        "INSERT INTO suppression (email, reason, source, at, campaign) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (email) DO NOTHING",
        vals![email.trim().to_lowercase(), reason, source, now, campaign],
    )?;
    Ok(changed > 0)
}
