//! What comes back from customers and their mail servers, as the ledger
//! keeps it: unsubscribes (from everything, or from one campaign) with the
//! campaign and source they came from, and their undo. Every write is
//! idempotent, so a provider's retry or a second click changes nothing, and
//! each is committed before the caller answers.

use super::Ledger;
use super::db::vals;
use crate::error::Result;

/// What an unsubscribe covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every marketing email (the suppression list).
    All,
    /// One campaign's messages.
    Campaign(String),
}

impl Ledger {
    /// The address a customer's message of `campaign` went to, if one was
    /// recorded (a token only exists in a message xsell made).
    pub fn email_of(&self, customer: &str, campaign: &str) -> Result<Option<String>> {
        Ok(self
            .db()
            .query_opt(
                "SELECT email FROM messages WHERE customer = ?1 AND campaign = ?2 ORDER BY updated_at DESC LIMIT 1",
                vals![customer, campaign],
            )
            .map_err(self.fail())?
            .map(|row| row.text(0)))
    }

    /// Records an unsubscribe; `false` when it was already recorded.
    pub fn unsubscribe(
        &mut self,
        email: &str,
        scope: &Scope,
        from_campaign: &str,
        source: &str,
        now: i64,
    ) -> Result<bool> {
        let email = email.trim().to_lowercase();
        let campaign = match scope {
            Scope::All => {
                return self.suppress_from(
                    &email,
                    "unsubscribed",
                    source,
                    Some(from_campaign),
                    now,
                );
            }
            Scope::Campaign(campaign) => campaign,
        };
        let changed = self
            .db()
            .execute(
                "INSERT INTO campaign_opt_outs (email, campaign, source, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                vals![&email, campaign, source, now],
            )
            .map_err(self.fail())?;
        Ok(changed > 0)
    }

    /// Undoes an unsubscribe made through `sources` since `since` (the undo
    /// window); older ones, and suppressions for other reasons (a bounce, a
    /// complaint, an operator's), are kept. `true` when one was removed.
    pub fn resubscribe(
        &mut self,
        email: &str,
        scope: &Scope,
        sources: &[&str],
        since: i64,
    ) -> Result<bool> {
        let email = email.trim().to_lowercase();
        let mut removed = 0;
        for source in sources {
            removed += match scope {
                Scope::All => self.db().execute(
                    "DELETE FROM suppression WHERE email = ?1 AND reason = 'unsubscribed' AND source = ?2 AND at >= ?3",
                    vals![&email, *source, since],
                ),
                Scope::Campaign(campaign) => self.db().execute(
                    "DELETE FROM campaign_opt_outs WHERE email = ?1 AND campaign = ?2 AND source = ?3 AND at >= ?4",
                    vals![&email, campaign, *source, since],
                ),
            }
            .map_err(self.fail())?;
        }
        Ok(removed > 0)
    }

    /// Records one message that came back (`xsell inbound`): its kind
    /// (`bounce`, `soft-bounce`, `complaint`, `unsubscribe`, `unrecognised`),
    /// the address it is about and a short detail.
    pub fn record_inbound(
        &mut self,
        kind: &str,
        email: Option<&str>,
        detail: &str,
        now: i64,
    ) -> Result<()> {
        self.db()
            .execute(
                "INSERT INTO inbound (at, kind, email, detail) VALUES (?1, ?2, ?3, ?4)",
                vals![now, kind, email.map(|e| e.trim().to_lowercase()), detail],
            )
            .map_err(self.fail())?;
        Ok(())
    }

    /// How many messages of `kind` came back for `email` since `since`.
    pub fn inbound_count(&self, kind: &str, email: &str, since: i64) -> Result<i64> {
        Ok(self
            .db()
            .query_opt(
                "SELECT COUNT(*) FROM inbound WHERE email = ?1 AND kind = ?2 AND at >= ?3",
                vals![email.trim().to_lowercase(), kind, since],
            )
            .map_err(self.fail())?
            .map_or(0, |row| row.int(0)))
    }

    /// A report that `email` must not be mailed again — a bounce, a
    /// complaint, an unsubscribe by mail —, logged as `kind` and applied.
    #[allow(clippy::too_many_arguments)]
    pub fn record_suppressing(
        &mut self,
        kind: &str,
        email: &str,
        reason: &str,
        source: &str,
        campaign: Option<&str>,
        detail: &str,
        now: i64,
    ) -> Result<bool> {
        self.record_inbound(kind, Some(email), detail, now)?;
        self.suppress_from(email, reason, source, campaign, now)
    }

    /// A temporary failure for `email`, counted; with the `limit`th since
    /// `window_start` the address is suppressed as `bounced`. Returns the
    /// count in the window.
    pub fn record_soft_bounce(
        &mut self,
        email: &str,
        detail: &str,
        source: &str,
        now: i64,
        limit: i64,
        window_start: i64,
    ) -> Result<(i64, bool)> {
        self.record_inbound("soft-bounce", Some(email), detail, now)?;
        let count = self.inbound_count("soft-bounce", email, window_start)?;
        if count >= limit {
            self.suppress_from(
                email,
                "bounced",
                &format!("{source}: {count} temporary failures"),
                None,
                now,
            )?;
        }
        Ok((count, count >= limit))
    }

    /// Whether xsell ever addressed a message to `email`.
    pub fn has_mailed(&self, email: &str) -> Result<bool> {
        Ok(self
            .db()
            .query_opt(
                "SELECT 1 FROM messages WHERE lower(email) = lower(?1) LIMIT 1",
                vals![email.trim()],
            )
            .map_err(self.fail())?
            .is_some())
    }

    /// The latest address xsell mailed customer `customer` at.
    pub fn email_of_customer(&self, customer: &str) -> Result<Option<String>> {
        Ok(self
            .db()
            .query_opt(
                "SELECT email FROM messages WHERE customer = ?1 ORDER BY updated_at DESC LIMIT 1",
                vals![customer],
            )
            .map_err(self.fail())?
            .map(|row| row.text(0)))
    }

    /// Suppresses `email` for a reason that came back by mail or webhook
    /// (`bounced`, `complained`, `unsubscribed`); `false` when it already was.
    pub fn suppress_from(
        &mut self,
        email: &str,
        reason: &str,
        source: &str,
        campaign: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        super::suppression::suppress_in(&mut self.db(), email, reason, source, campaign, now)
            .map_err(self.fail())
    }

    /// The addresses that left `campaign` only, with when.
    pub fn campaign_opt_outs(&self, campaign: &str) -> Result<Vec<(String, i64)>> {
        let rows = self
            .db()
            .query(
                "SELECT email, at FROM campaign_opt_outs WHERE campaign = ?1",
                vals![campaign],
            )
            .map_err(self.fail())?;
        Ok(rows.iter().map(|row| (row.text(0), row.int(1))).collect())
    }

    /// Whether `email` is unsubscribed from everything, or from `campaign`.
    pub fn is_unsubscribed(&self, email: &str, campaign: &str) -> Result<(bool, bool)> {
        let email = email.trim().to_lowercase();
        let all = self.suppression_of(&email)?.is_some();
        let one = self
            .db()
            .query_opt(
                "SELECT 1 FROM campaign_opt_outs WHERE email = ?1 AND campaign = ?2",
                vals![&email, campaign],
            )
            .map_err(self.fail())?
            .is_some();
        Ok((all, one))
    }
}
