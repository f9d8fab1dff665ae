//! Claims and their outcomes: a message is claimed (caps and suppression
//! checked in the same transaction) before its SMTP transaction starts,
//! then marked sent or failed; several writes share one commit.

use super::db::{Db, DbError, DbResult};
use super::suppression::suppress_in;
use super::*;
use crate::error::Result;

impl Ledger {
    /// Claims a message before sending it, in one transaction with the
    /// suppression check and the caps: `caps` gets the customer's claimed or
    /// sent messages of the last `cap_window` seconds (all campaigns) and
    /// decides. `resend_unconfirmed` re-claims a claim left by a dead process.
    pub fn claim(
        &mut self,
        key: &MessageKey,
        email: &str,
        now: i64,
        cap_window: i64,
        resend_unconfirmed: bool,
        caps: impl Fn(&[PastSend]) -> CapVerdict + Send,
    ) -> Result<Claim> {
        let request = ClaimRequest {
            key: key.clone(),
            email: email.to_string(),
            now,
            cap_window,
            resend_unconfirmed,
            contents: None,
        };
        let mut written = self.write(vec![Write::Claim(request, Box::new(caps))])?;
        match written.pop() {
            Some(Written::Claim(claim)) => Ok(claim),
            _ => Err(Error::internal("ledger: a claim wrote no claim")),
        }
    }

    /// Applies several writes in one transaction (a *group commit*: the send
    /// loop's workers share commits, so the ledger keeps up with the SMTP
    /// server). Each claim is decided on the state left by the writes before it.
    pub fn write(&mut self, writes: Vec<Write<'_>>) -> Result<Vec<Written>> {
        let owner = self.owner.clone();
        let path = self.path.clone();
        // On PostgreSQL a serialization failure runs the whole batch again.
        self.db
            .get_mut()
            .transaction(|db| {
                let mut written = Vec::with_capacity(writes.len());
                for write in &writes {
                    written.push(apply(db, &owner, write)?);
                }
                Ok(written)
            })
            .map_err(|e| ledger_error(&path, e))
    }

    /// The server accepted the message (its 250).
    pub fn mark_sent(&mut self, key: &MessageKey, message_id: &str, now: i64) -> Result<()> {
        self.write(vec![Write::Sent {
            key: key.clone(),
            message_id: message_id.to_string(),
            now,
        }])
        .map(|_| ())
    }

    /// Sending failed: `permanent` for a hard bounce (also suppresses the address), else retryable by a later run.
    pub fn mark_failed(
        &mut self,
        key: &MessageKey,
        email: &str,
        reason: &str,
        permanent: bool,
        now: i64,
    ) -> Result<()> {
        let write = Write::Failed {
            key: key.clone(),
            email: email.to_string(),
            reason: reason.to_string(),
            permanent,
            now,
        };
        self.write(vec![write]).map(|_| ())
    }

    /// Records a message that will not be sent (held out, empty list, not eligible…), unless the row already exists.
    pub fn record(
        &mut self,
        key: &MessageKey,
        email: &str,
        state: State,
        reason: &str,
        now: i64,
    ) -> Result<bool> {
        let changed = self
            .db()
            .execute(
                "INSERT INTO messages (campaign, customer, occurrence, email, state, reason, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT DO NOTHING",
                vals![&key.campaign, &key.customer, &key.occurrence, email, state.name(), reason, now],
            )
            .map_err(self.fail())?;
        Ok(changed > 0)
    }

    /// Records what planning decided for a message that is not sent now:
    /// held out, skipped (with why) or deferred until `not_before`. A final
    /// state already recorded is kept; a deferral or a transient failure is replaced.
    pub fn record_outcome(
        &mut self,
        key: &MessageKey,
        email: &str,
        state: State,
        reason: &str,
        not_before: Option<i64>,
        now: i64,
    ) -> Result<()> {
        self.db()
            .execute(
                "INSERT INTO messages (campaign, customer, occurrence, email, state, reason, not_before, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
                 ON CONFLICT (campaign, customer, occurrence) DO UPDATE SET
                   state = excluded.state, reason = excluded.reason, not_before = excluded.not_before, updated_at = excluded.updated_at
                 WHERE messages.state = 'deferred' OR (messages.state = 'failed' AND messages.reason LIKE 'transient:%')",
                vals![&key.campaign, &key.customer, &key.occurrence, email, state.name(), reason, not_before, now],
            )
            .map_err(self.fail())?;
        Ok(())
    }
}

/// One write of a batch, inside its transaction.
fn apply(db: &mut Db, owner: &str, write: &Write<'_>) -> DbResult<Written> {
    Ok(match write {
        Write::Claim(request, caps) => {
            let claim = claim_in(db, owner, request, caps)?;
            if let (Claim::Granted { .. }, Some(contents)) = (&claim, &request.contents) {
                contents::store_in(db, &request.key, contents)?;
            }
            Written::Claim(claim)
        }
        Write::Sent {
            key,
            message_id,
            now,
        } => {
            set_state_in(db, key, State::Sent, None, Some(message_id), *now)?;
            Written::Done
        }
        Write::Failed {
            key,
            email,
            reason,
            permanent,
            now,
        } => {
            let reason = if *permanent {
                Failure::Permanent.reason(reason)
            } else {
                Failure::Transient.reason(reason)
            };
            // A failure may come before any claim (a panic ahead of it):
            // then it is a new row, so the batch never fails on it and the
            // moment is retried by a later run.
            if !set_state_in(db, key, State::Failed, Some(&reason), None, *now)? {
                db.execute(
                    "INSERT INTO messages (campaign, customer, occurrence, email, state, reason, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'failed', ?5, ?6, ?6) ON CONFLICT DO NOTHING",
                    vals![&key.campaign, &key.customer, &key.occurrence, email, &reason, *now],
                )?;
            }
            if *permanent {
                suppress_in(
                    db,
                    email,
                    "bounced",
                    &format!("{}: {reason}", key.campaign),
                    Some(&key.campaign),
                    *now,
                )?;
            }
            Written::Done
        }
    })
}

/// A claim to decide in a [`Ledger::write`] batch.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub key: MessageKey,
    pub email: String,
    pub now: i64,
    /// How far back the caps look (seconds).
    pub cap_window: i64,
    pub resend_unconfirmed: bool,
    /// What the message shows (JSON of [`Contents`]), stored with a granted claim.
    pub contents: Option<String>,
}

/// The caps decision of a claim, given the customer's recent sends (asked
/// again if a PostgreSQL transaction is retried).
pub type CapsDecision<'a> = Box<dyn Fn(&[PastSend]) -> CapVerdict + Send + 'a>;

/// One write of a [`Ledger::write`] batch.
pub enum Write<'a> {
    Claim(ClaimRequest, CapsDecision<'a>),
    Sent {
        key: MessageKey,
        message_id: String,
        now: i64,
    },
    Failed {
        key: MessageKey,
        email: String,
        reason: String,
        permanent: bool,
        now: i64,
    },
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Claim(Claim),
    Done,
}

fn claim_in(
    db: &mut Db,
    owner: &str,
    request: &ClaimRequest,
    caps: &CapsDecision<'_>,
) -> DbResult<Claim> {
    let ClaimRequest {
        key,
        email,
        now,
        cap_window,
        resend_unconfirmed,
        contents: _,
    } = request;
    let now = *now;
    /// The message's row, as far as a claim cares.
    struct Existing {
        state: String,
        owner: Option<String>,
        not_before: Option<i64>,
        attempts: u32,
        reason: Option<String>,
    }
    let address = email.trim().to_lowercase();
    // The message's row, the suppression list, the campaign's opt-outs and
    // the customer's recent sends (one per result row; the caps read them)
    // in one round trip: it matters on a database over the network.
    let rows = db.query(
        "SELECT m.state, m.owner, m.not_before, m.attempts, m.reason,
                (SELECT reason FROM suppression WHERE email = ?4),
                (SELECT 1 FROM campaign_opt_outs WHERE email = ?4 AND campaign = ?1),
                p.campaign, p.updated_at
         FROM (SELECT 1) AS one
         LEFT JOIN messages m ON m.campaign = ?1 AND m.customer = ?2 AND m.occurrence = ?3
         LEFT JOIN messages p ON p.customer = ?2 AND p.state IN ('claimed', 'sent') AND p.updated_at >= ?5
         ORDER BY p.updated_at",
        vals![&key.campaign, &key.customer, &key.occurrence, &address, now - cap_window],
    )?;
    let facts = rows
        .first()
        .cloned()
        .ok_or_else(|| DbError::Missing("the claim's facts".into()))?;
    let recent: Vec<PastSend> = rows
        .iter()
        .filter_map(|row| {
            Some(PastSend {
                campaign: row.opt_text(7)?,
                at: row.opt_int(8)?,
            })
        })
        .collect();
    let existing = facts.opt_text(0).map(|state| Existing {
        state,
        owner: facts.opt_text(1),
        not_before: facts.opt_int(2),
        attempts: facts.int(3) as u32,
        reason: facts.opt_text(4),
    });
    let attempts = match &existing {
        None => 0,
        Some(Existing {
            state,
            owner: previous_owner,
            not_before,
            attempts,
            reason,
        }) => match State::parse(state) {
            State::Sent | State::Skipped | State::HeldOut => {
                return Ok(Claim::AlreadyHandled(State::parse(state)));
            }
            State::Failed if Failure::of(reason.as_deref()) == Some(Failure::Permanent) => {
                return Ok(Claim::AlreadyHandled(State::Failed));
            }
            State::Failed => *attempts,
            State::Deferred => match not_before {
                Some(until) if *until > now => return Ok(Claim::NotYet { until: *until }),
                _ => *attempts,
            },
            State::Claimed => {
                let abandoned = previous_owner
                    .as_deref()
                    .is_none_or(|o| o != owner && !owner_alive(o));
                if *resend_unconfirmed && abandoned {
                    *attempts
                } else {
                    return Ok(Claim::AlreadyHandled(State::Claimed));
                }
            }
        },
    };
    let suppressed = facts.opt_text(5).or_else(|| {
        facts
            .opt_int(6)
            .map(|_| "unsubscribed from this campaign".to_string())
    });
    if let Some(reason) = suppressed {
        upsert(
            db,
            key,
            email,
            State::Skipped,
            Some(&format!("suppressed: {reason}")),
            None,
            None,
            attempts,
            now,
        )?;
        return Ok(Claim::Suppressed(reason));
    }
    let verdict = caps(&recent);
    Ok(match &verdict {
        CapVerdict::Allowed => {
            upsert(
                db,
                key,
                email,
                State::Claimed,
                None,
                None,
                Some(owner),
                attempts + 1,
                now,
            )?;
            Claim::Granted {
                attempt: attempts + 1,
            }
        }
        CapVerdict::Skip(reason) => {
            upsert(
                db,
                key,
                email,
                State::Skipped,
                Some(&format!("capped: {reason}")),
                None,
                None,
                attempts,
                now,
            )?;
            Claim::Capped(verdict.clone())
        }
        CapVerdict::Defer { reason, until } => {
            upsert(
                db,
                key,
                email,
                State::Deferred,
                Some(&format!("capped: {reason}")),
                Some(*until),
                None,
                attempts,
                now,
            )?;
            Claim::Capped(verdict.clone())
        }
    })
}

/// Sets a message's state; `false` when it has no row.
fn set_state_in(
    db: &mut Db,
    key: &MessageKey,
    state: State,
    reason: Option<&str>,
    message_id: Option<&str>,
    now: i64,
) -> DbResult<bool> {
    let changed = db.execute(
        "UPDATE messages SET state = ?4, reason = ?5, message_id = COALESCE(?6, message_id), owner = NULL, updated_at = ?7
         WHERE campaign = ?1 AND customer = ?2 AND occurrence = ?3",
        vals![&key.campaign, &key.customer, &key.occurrence, state.name(), reason, message_id, now],
    )?;
    Ok(changed > 0)
}

#[allow(clippy::too_many_arguments)]
fn upsert(
    db: &mut Db,
    key: &MessageKey,
    email: &str,
    state: State,
    reason: Option<&str>,
    not_before: Option<i64>,
    owner: Option<&str>,
    attempts: u32,
    now: i64,
) -> DbResult<()> {
    db.execute(
        "INSERT INTO messages (campaign, customer, occurrence, email, state, reason, not_before, owner, attempts, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
         ON CONFLICT (campaign, customer, occurrence) DO UPDATE SET
           email = excluded.email, state = excluded.state, reason = excluded.reason, not_before = excluded.not_before,
           owner = excluded.owner, attempts = excluded.attempts, updated_at = excluded.updated_at",
        vals![&key.campaign, &key.customer, &key.occurrence, email, state.name(), reason, not_before, owner, attempts, now],
    )?;
    Ok(())
}
