//! The ledger (SQLite, `state/xsell.db`): what was sent to whom, for which
//! moment, and what was held back and why. It is what makes sending safe:
//!
//! - **Exactly once.** One row per (campaign, customer, occurrence). A message
//!   is *claimed* in a transaction before its SMTP transaction starts and
//!   marked *sent* after the server's 250. A claim that was never confirmed
//!   (the process died in between) is reported, not blindly re-sent.
//! - **Caps across processes.** The caps are checked and the claim recorded in
//!   one `BEGIN IMMEDIATE` transaction, so two cron jobs sending different
//!   campaigns to the same customer cannot both slip under a cap.
//! - **Suppression.** Unsubscribes, hard bounces and complaints live here.
//! - **Schedule runs**, for `xsell run`.
//!
//! WAL mode with `synchronous = NORMAL`: a committed claim survives a killed
//! process (the failure `kill -9` tests); an OS crash or power loss may lose
//! the last commits. Schema versions are kept in `PRAGMA user_version` and
//! migrated forward on open.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use crate::error::{Error, Result};

/// The migrations, in order; `user_version` is how many have run.
mod contents;
mod return_path;
mod workspace;

pub use contents::{Contents, ReportRow, Shown};

pub use return_path::Scope;

pub use workspace::{Creation, WORKSPACE_ID_FILE};

const MIGRATIONS: &[&str] = &[
    // 1: messages, suppression, schedule runs.
    "CREATE TABLE messages (
        campaign    TEXT NOT NULL,
        customer    TEXT NOT NULL,
        occurrence  TEXT NOT NULL,
        email       TEXT NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('claimed','sent','failed','skipped','deferred','held_out')),
        reason      TEXT,
        message_id  TEXT,
        owner       TEXT,
        attempts    INTEGER NOT NULL DEFAULT 0,
        not_before  INTEGER,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (campaign, customer, occurrence)
    );
    CREATE INDEX messages_by_customer ON messages (customer, updated_at);
    CREATE INDEX messages_by_state ON messages (campaign, state);
    CREATE TABLE suppression (
        email   TEXT PRIMARY KEY,
        reason  TEXT NOT NULL,
        source  TEXT,
        at      INTEGER NOT NULL
    );
    CREATE TABLE schedule_runs (
        campaign    TEXT NOT NULL,
        due_at      INTEGER NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('running','done','skipped','failed')),
        detail      TEXT,
        owner       TEXT,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER,
        PRIMARY KEY (campaign, due_at)
    );",
    // 2: facts about the ledger itself (which workspace it belongs to).
    "CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // 3: the way back: the campaign an unsubscribe came from, and
    // unsubscribes from one campaign only.
    "ALTER TABLE suppression ADD COLUMN campaign TEXT;
    CREATE TABLE campaign_opt_outs (
        email    TEXT NOT NULL,
        campaign TEXT NOT NULL,
        source   TEXT,
        at       INTEGER NOT NULL,
        PRIMARY KEY (email, campaign)
    );
    CREATE TABLE inbound (
        at      INTEGER NOT NULL,
        kind    TEXT NOT NULL,
        email   TEXT,
        detail  TEXT
    );
    CREATE INDEX inbound_by_email ON inbound (email, kind, at);",
    // 4: what each message showed (variant, products by list, offer code),
    // for `xsell report`.
    "CREATE TABLE message_contents (
        campaign    TEXT NOT NULL,
        customer    TEXT NOT NULL,
        occurrence  TEXT NOT NULL,
        contents    TEXT NOT NULL,
        PRIMARY KEY (campaign, customer, occurrence)
    );
    CREATE INDEX messages_by_time ON messages (campaign, updated_at);",
    // 5: schedule runs per shard (`xsell run --shard K/N`; '' when unsharded).
    "CREATE TABLE schedule_runs_by_shard (
        campaign    TEXT NOT NULL,
        due_at      INTEGER NOT NULL,
        shard       TEXT NOT NULL DEFAULT '',
        state       TEXT NOT NULL CHECK (state IN ('running','done','skipped','failed')),
        detail      TEXT,
        owner       TEXT,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER,
        PRIMARY KEY (campaign, due_at, shard)
    );
    INSERT INTO schedule_runs_by_shard (campaign, due_at, shard, state, detail, owner, started_at, finished_at)
        SELECT campaign, due_at, '', state, detail, owner, started_at, finished_at FROM schedule_runs;
    DROP TABLE schedule_runs;
    ALTER TABLE schedule_runs_by_shard RENAME TO schedule_runs;",
];

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Claimed before sending; not (yet) confirmed by the server.
    Claimed,
    Sent,
    Failed,
    Skipped,
    /// Held back by a cap or quiet hours; a later run may send it.
    Deferred,
    /// In the campaign's control group: recorded, never sent.
    HeldOut,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Claimed => "claimed",
            State::Sent => "sent",
            State::Failed => "failed",
            State::Skipped => "skipped",
            State::Deferred => "deferred",
            State::HeldOut => "held_out",
        }
    }

    fn parse(text: &str) -> State {
        match text {
            "sent" => State::Sent,
            "failed" => State::Failed,
            "skipped" => State::Skipped,
            "deferred" => State::Deferred,
            "held_out" => State::HeldOut,
            _ => State::Claimed,
        }
    }
}

/// The identity of one message: a campaign's moment for one customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct MessageKey {
    pub campaign: String,
    pub customer: String,
    pub occurrence: String,
}

pub use crate::history::PastSend;

/// What the caps say about a message; the claim transaction asks for it.
pub use crate::caps::CapVerdict;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Go ahead and send; this is attempt number `attempt`.
    Granted { attempt: u32 },
    /// The message already has a final state (or is being sent by a live process).
    AlreadyHandled(State),
    /// The address is on the suppression list.
    Suppressed(String),
    /// A cap said no; the row now records it.
    Capped(CapVerdict),
    /// A deferred message whose time has not come.
    NotYet { until: i64 },
}

/// A recorded run of a scheduled campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleRun {
    pub due_at: i64,
    /// `running`, `done`, `skipped` or `failed`.
    pub state: String,
    pub detail: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// `K/N` for a sharded run, empty otherwise.
    pub shard: String,
}

/// A suppressed address and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub email: String,
    /// `unsubscribed`, `bounced`, `complained` or `manual`.
    pub reason: String,
    pub source: Option<String>,
    pub at: i64,
    /// The campaign whose message the unsubscribe (or bounce) came from, when known.
    pub campaign: Option<String>,
}

/// A row of the ledger, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageRow {
    #[serde(flatten)]
    pub key: MessageKey,
    pub email: String,
    pub state: State,
    pub reason: Option<String>,
    pub message_id: Option<String>,
    pub owner: Option<String>,
    pub attempts: u32,
    pub updated_at: i64,
}

pub struct Ledger {
    connection: Connection,
    path: PathBuf,
    /// `pid:start-time` of this process, recorded on claims so a claim of a
    /// live process is never taken for an abandoned one.
    owner: String,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Ledger> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                ledger_error(path, format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let connection = Connection::open(path).map_err(|e| ledger_error(path, e))?;
        connection
            .busy_timeout(Duration::from_secs(60))
            .map_err(|e| ledger_error(path, e))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| ledger_error(path, e))?;
        let mut ledger = Ledger {
            connection,
            path: path.to_path_buf(),
            owner: process_owner(),
        };
        ledger.migrate()?;
        Ok(ledger)
    }

    /// An empty ledger in memory, for dry runs in a workspace without one.
    pub fn in_memory() -> Result<Ledger> {
        let path = PathBuf::from(":memory:");
        let connection = Connection::open_in_memory().map_err(|e| ledger_error(&path, e))?;
        let mut ledger = Ledger {
            connection,
            path,
            owner: process_owner(),
        };
        ledger.migrate()?;
        Ok(ledger)
    }

    /// Opens an existing ledger without creating one (`None` if there is none yet).
    /// An empty file is an error: the ledger was lost, and planning with no
    /// history would show every open moment as due.
    pub fn open_existing(path: &Path) -> Result<Option<Ledger>> {
        if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
            return Err(Error::usage(format!(
                "{}: the ledger file is empty — it was lost or truncated; restore it from a backup",
                path.display()
            )));
        }
        if path.exists() {
            Ledger::open(path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// How long a write waits for another process's lock (a minute by default).
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<()> {
        self.connection
            .busy_timeout(timeout)
            .map_err(|e| ledger_error(&self.path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This process's owner tag (`pid:start`), as recorded on its claims.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn migrate(&mut self) -> Result<()> {
        let version = self.schema_version()?;
        if version > MIGRATIONS.len() {
            return Err(Error::usage(format!(
                "{}: the ledger has schema version {version}, newer than this xsell knows ({}); upgrade xsell",
                self.path.display(),
                MIGRATIONS.len()
            )));
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
            let transaction = self
                .connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| ledger_error(&self.path, e))?;
            // Another process may have migrated while we waited for the lock.
            let current: i64 = transaction
                .query_row("PRAGMA user_version", [], |row| row.get(0))
                .map_err(|e| ledger_error(&self.path, e))?;
            if current as usize > index {
                continue;
            }
            transaction
                .execute_batch(migration)
                .map_err(|e| ledger_error(&self.path, e))?;
            transaction
                .execute_batch(&format!("PRAGMA user_version = {}", index + 1))
                .map_err(|e| ledger_error(&self.path, e))?;
            transaction
                .commit()
                .map_err(|e| ledger_error(&self.path, e))?;
        }
        Ok(())
    }

    /// A fact about the ledger itself (`workspace_id`), if recorded.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.connection
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| ledger_error(&self.path, e))
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.connection
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(|e| ledger_error(&self.path, e))
            .map(|_| ())
    }

    pub fn schema_version(&self) -> Result<usize> {
        let version: i64 = self
            .connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| ledger_error(&self.path, e))?;
        Ok(version.max(0) as usize)
    }

    // ----- claims

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
        caps: impl FnOnce(&[PastSend]) -> CapVerdict + Send,
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
        let path = self.path.clone();
        let owner = self.owner.clone();
        let fail = |e: rusqlite::Error| ledger_error(&path, e);
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let mut written = Vec::with_capacity(writes.len());
        for write in writes {
            written.push(match write {
                Write::Claim(request, caps) => {
                    let claim = claim_in(&transaction, &owner, &request, caps).map_err(fail)?;
                    if let (Claim::Granted { .. }, Some(contents)) = (&claim, &request.contents) {
                        contents::store_in(&transaction, &request.key, contents).map_err(fail)?;
                    }
                    Written::Claim(claim)
                }
                Write::Sent {
                    key,
                    message_id,
                    now,
                } => {
                    set_state_in(
                        &transaction,
                        &key,
                        State::Sent,
                        None,
                        Some(&message_id),
                        now,
                    )
                    .map_err(fail)?;
                    Written::Done
                }
                Write::Failed {
                    key,
                    email,
                    reason,
                    permanent,
                    now,
                } => {
                    let reason = if permanent {
                        format!("permanent: {reason}")
                    } else {
                        format!("transient: {reason}")
                    };
                    // A failure may come before any claim (a panic ahead of
                    // it): then it is a new row, so the batch never fails on it
                    // and the moment is retried by a later run.
                    match set_state_in(&transaction, &key, State::Failed, Some(&reason), None, now) {
                        Err(rusqlite::Error::QueryReturnedNoRows) => {
                            transaction
                                .execute(
                                    "INSERT INTO messages (campaign, customer, occurrence, email, state, reason, created_at, updated_at)
                                     VALUES (?1, ?2, ?3, ?4, 'failed', ?5, ?6, ?6) ON CONFLICT DO NOTHING",
                                    params![key.campaign, key.customer, key.occurrence, email, reason, now],
                                )
                                .map_err(fail)?;
                        }
                        other => other.map_err(fail)?,
                    }
                    if permanent {
                        suppress_in(
                            &transaction,
                            &email,
                            "bounced",
                            &format!("{}: {reason}", key.campaign),
                            Some(&key.campaign),
                            now,
                        )
                        .map_err(fail)?;
                    }
                    Written::Done
                }
            });
        }
        transaction.commit().map_err(fail)?;
        Ok(written)
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
            .connection
            .execute(
                "INSERT INTO messages (campaign, customer, occurrence, email, state, reason, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT DO NOTHING",
                params![key.campaign, key.customer, key.occurrence, email, state.name(), reason, now],
            )
            .map_err(|e| ledger_error(&self.path, e))?;
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
        self.connection
            .execute(
                "INSERT INTO messages (campaign, customer, occurrence, email, state, reason, not_before, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
                 ON CONFLICT (campaign, customer, occurrence) DO UPDATE SET
                   state = excluded.state, reason = excluded.reason, not_before = excluded.not_before, updated_at = excluded.updated_at
                 WHERE messages.state = 'deferred' OR (messages.state = 'failed' AND messages.reason LIKE 'transient:%')",
                params![key.campaign, key.customer, key.occurrence, email, state.name(), reason, not_before, now],
            )
            .map_err(|e| ledger_error(&self.path, e))?;
        Ok(())
    }

    // ----- reading

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
                State::Failed
                    if reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with("permanent:")) =>
                {
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

    // ----- suppression

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

    /// Runs `work` in one transaction (e.g. a whole suppression import: all or nothing).
    pub fn in_transaction<T>(&mut self, work: impl FnOnce(&mut Ledger) -> Result<T>) -> Result<T> {
        self.connection
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| ledger_error(&self.path, e))?;
        match work(self) {
            Ok(value) => {
                self.connection
                    .execute_batch("COMMIT")
                    .map_err(|e| ledger_error(&self.path, e))?;
                Ok(value)
            }
            Err(error) => {
                let _ = self.connection.execute_batch("ROLLBACK");
                Err(error)
            }
        }
    }

    // ----- schedule runs (`xsell run`)

    /// The latest due time of a campaign that was run or skipped (not one still running or failed).
    pub fn last_schedule_run(&self, campaign: &str, shard: &str) -> Result<Option<i64>> {
        self.connection
            .query_row(
                "SELECT MAX(due_at) FROM schedule_runs WHERE campaign = ?1 AND shard = ?2 AND state IN ('done', 'skipped')",
                params![campaign, shard],
                |row| row.get(0),
            )
            .map_err(|e| ledger_error(&self.path, e))
    }

    /// Starts the run of `campaign` due at `due_at`; `false` when it is done
    /// or skipped already, or being run by a live process. A run left
    /// `running` by a dead process is taken over: its claims keep it exactly-once.
    pub fn begin_schedule_run(
        &mut self,
        campaign: &str,
        shard: &str,
        due_at: i64,
        now: i64,
    ) -> Result<bool> {
        let path = self.path.clone();
        let owner = self.owner.clone();
        let fail = |e: rusqlite::Error| ledger_error(&path, e);
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let existing: Option<(String, Option<String>)> = transaction
            .query_row(
                "SELECT state, owner FROM schedule_runs WHERE campaign = ?1 AND due_at = ?2 AND shard = ?3",
                params![campaign, due_at, shard],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(fail)?;
        let free = match &existing {
            None => true,
            Some((state, _)) if state == "done" || state == "skipped" => false,
            Some((state, previous)) if state == "running" => previous
                .as_deref()
                .is_none_or(|o| o != owner && !owner_alive(o)),
            Some(_) => true, // failed: try again
        };
        if free {
            transaction
                .execute(
                    "INSERT INTO schedule_runs (campaign, due_at, shard, state, owner, started_at) VALUES (?1, ?2, ?5, 'running', ?3, ?4)
                     ON CONFLICT (campaign, due_at, shard) DO UPDATE SET state = 'running', owner = excluded.owner, started_at = excluded.started_at, detail = NULL, finished_at = NULL",
                    params![campaign, due_at, owner, now, shard],
                )
                .map_err(fail)?;
        }
        transaction.commit().map_err(fail)?;
        Ok(free)
    }

    /// Ends a schedule run: `done`, `failed` (retried by the next run) or `skipped` (with why).
    pub fn finish_schedule_run(
        &mut self,
        campaign: &str,
        shard: &str,
        due_at: i64,
        state: &str,
        detail: &str,
        now: i64,
    ) -> Result<()> {
        self.connection
            .execute(
                "INSERT INTO schedule_runs (campaign, due_at, shard, state, detail, started_at, finished_at) VALUES (?1, ?2, ?6, ?3, ?4, ?5, ?5)
                 ON CONFLICT (campaign, due_at, shard) DO UPDATE SET state = excluded.state, detail = excluded.detail, owner = NULL, finished_at = excluded.finished_at",
                params![campaign, due_at, state, detail, now, shard],
            )
            .map_err(|e| ledger_error(&self.path, e))?;
        Ok(())
    }

    /// The recorded runs of a campaign, most recent first.
    pub fn schedule_runs(&self, campaign: &str, limit: usize) -> Result<Vec<ScheduleRun>> {
        let mut statement = self
            .connection
            .prepare("SELECT due_at, state, detail, started_at, finished_at, shard FROM schedule_runs WHERE campaign = ?1 ORDER BY due_at DESC, shard LIMIT ?2")
            .map_err(|e| ledger_error(&self.path, e))?;
        let rows = statement
            .query_map(params![campaign, limit as i64], |row| {
                Ok(ScheduleRun {
                    due_at: row.get(0)?,
                    state: row.get(1)?,
                    detail: row.get(2)?,
                    started_at: row.get(3)?,
                    finished_at: row.get(4)?,
                    shard: row.get(5)?,
                })
            })
            .map_err(|e| ledger_error(&self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| ledger_error(&self.path, e))
    }

    /// The underlying connection, for the schedule-run records of `xsell run`.
    #[cfg(test)]
    pub(crate) fn connection(&mut self) -> &mut Connection {
        &mut self.connection
    }
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

/// The caps decision of a claim, given the customer's recent sends.
pub type CapsDecision<'a> = Box<dyn FnOnce(&[PastSend]) -> CapVerdict + Send + 'a>;

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
    connection: &Connection,
    owner: &str,
    request: &ClaimRequest,
    caps: CapsDecision<'_>,
) -> rusqlite::Result<Claim> {
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
    let existing = connection
        .prepare_cached("SELECT state, owner, not_before, attempts, reason FROM messages WHERE campaign = ?1 AND customer = ?2 AND occurrence = ?3")?
        .query_row(params![key.campaign, key.customer, key.occurrence], |row| {
            Ok(Existing { state: row.get(0)?, owner: row.get(1)?, not_before: row.get(2)?, attempts: row.get(3)?, reason: row.get(4)? })
        })
        .optional()?;
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
            State::Failed
                if reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("permanent:")) =>
            {
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
    let suppressed: Option<String> = connection
        .prepare_cached("SELECT reason FROM suppression WHERE email = ?1")?
        .query_row(params![email.trim().to_lowercase()], |row| row.get(0))
        .optional()?;
    let suppressed = match suppressed {
        Some(reason) => Some(reason),
        None => connection
            .prepare_cached("SELECT 'unsubscribed from this campaign' FROM campaign_opt_outs WHERE email = ?1 AND campaign = ?2")?
            .query_row(params![email.trim().to_lowercase(), key.campaign], |row| row.get(0))
            .optional()?,
    };
    if let Some(reason) = suppressed {
        upsert(
            connection,
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
    let recent = past_sends(connection, &key.customer, now - cap_window)?;
    let verdict = caps(&recent);
    Ok(match &verdict {
        CapVerdict::Allowed => {
            upsert(
                connection,
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
                connection,
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
                connection,
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

fn set_state_in(
    connection: &Connection,
    key: &MessageKey,
    state: State,
    reason: Option<&str>,
    message_id: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    let changed = connection
        .prepare_cached(
            "UPDATE messages SET state = ?4, reason = ?5, message_id = COALESCE(?6, message_id), owner = NULL, updated_at = ?7
             WHERE campaign = ?1 AND customer = ?2 AND occurrence = ?3",
        )?
        .execute(params![key.campaign, key.customer, key.occurrence, state.name(), reason, message_id, now])?;
    if changed == 0 {
        return Err(rusqlite::Error::QueryReturnedNoRows);
    }
    Ok(())
}

/// Adds `email` to the suppression list unless it is there; `campaign`: the
/// campaign whose message the report came from, when known.
fn suppress_in(
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

const SELECT_ROW: &str = "SELECT campaign, customer, occurrence, email, state, reason, message_id, owner, attempts, updated_at FROM messages";

fn message_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRow> {
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

fn past_sends(
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

#[allow(clippy::too_many_arguments)]
fn upsert(
    connection: &Connection,
    key: &MessageKey,
    email: &str,
    state: State,
    reason: Option<&str>,
    not_before: Option<i64>,
    owner: Option<&str>,
    attempts: u32,
    now: i64,
) -> rusqlite::Result<()> {
    connection.prepare_cached(
        "INSERT INTO messages (campaign, customer, occurrence, email, state, reason, not_before, owner, attempts, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
         ON CONFLICT (campaign, customer, occurrence) DO UPDATE SET
           email = excluded.email, state = excluded.state, reason = excluded.reason, not_before = excluded.not_before,
           owner = excluded.owner, attempts = excluded.attempts, updated_at = excluded.updated_at",
    )?
    .execute(params![key.campaign, key.customer, key.occurrence, email, state.name(), reason, not_before, owner, attempts, now])?;
    Ok(())
}

fn ledger_error(path: &Path, error: impl std::fmt::Display) -> Error {
    let text = error.to_string();
    let remedy = if text.contains("database is locked") || text.contains("database is busy") {
        " — another program held the ledger locked longer than `[ledger] busy_timeout` (a sqlite3 shell, a backup, a stuck process?); close it and run again"
    } else {
        ""
    };
    Error::internal(format!("ledger {}: {text}{remedy}", path.display()))
}

/// `pid:start-time-in-clock-ticks` of this process (Linux), `pid` elsewhere.
fn process_owner() -> String {
    let pid = std::process::id();
    match process_start(pid) {
        Some(start) => format!("{pid}:{start}"),
        None => pid.to_string(),
    }
}

/// Whether the process that wrote `owner` is still running (same pid, same start time).
fn owner_alive(owner: &str) -> bool {
    let mut parts = owner.split(':');
    let Some(pid) = parts.next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    match (parts.next(), process_start(pid)) {
        (Some(start), Some(actual)) => start == actual,
        (None, Some(_)) => true,
        (_, None) => false,
    }
}

fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(customer: &str) -> MessageKey {
        MessageKey {
            campaign: "c".into(),
            customer: customer.into(),
            occurrence: "order:O1".into(),
        }
    }

    fn open() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("state/xsell.db")).unwrap();
        (dir, ledger)
    }

    #[test]
    fn a_message_is_claimed_once_then_sent_once() {
        let (_dir, mut ledger) = open();
        assert_eq!(ledger.schema_version().unwrap(), MIGRATIONS.len());
        let allow = |_: &[PastSend]| CapVerdict::Allowed;
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 100, 86_400, false, allow)
                .unwrap(),
            Claim::Granted { attempt: 1 }
        );
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 101, 86_400, false, allow)
                .unwrap(),
            Claim::AlreadyHandled(State::Claimed)
        );
        ledger.mark_sent(&key("A"), "<m1@x>", 102).unwrap();
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 103, 86_400, true, allow)
                .unwrap(),
            Claim::AlreadyHandled(State::Sent)
        );
        let row = ledger.message(&key("A")).unwrap().unwrap();
        assert_eq!(
            (row.state, row.message_id.as_deref(), row.attempts),
            (State::Sent, Some("<m1@x>"), 1)
        );
    }

    #[test]
    fn caps_see_the_customers_recent_sends_of_every_campaign() {
        let (_dir, mut ledger) = open();
        let other = MessageKey {
            campaign: "other".into(),
            ..key("A")
        };
        ledger
            .claim(&other, "a@x.example", 1_000, 86_400, false, |_| {
                CapVerdict::Allowed
            })
            .unwrap();
        ledger.mark_sent(&other, "<m>", 1_000).unwrap();
        let mut seen = Vec::new();
        let claim = ledger
            .claim(&key("A"), "a@x.example", 2_000, 86_400, false, |sends| {
                seen = sends.to_vec();
                CapVerdict::Defer {
                    reason: "at most 1 in 1d".into(),
                    until: 1_000 + 86_400,
                }
            })
            .unwrap();
        assert_eq!(
            seen,
            vec![PastSend {
                campaign: "other".into(),
                at: 1_000
            }]
        );
        assert!(matches!(claim, Claim::Capped(CapVerdict::Defer { .. })));
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 3_000, 86_400, false, |_| {
                    CapVerdict::Allowed
                })
                .unwrap(),
            Claim::NotYet { until: 87_400 }
        );
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 87_400, 86_400, false, |_| {
                    CapVerdict::Allowed
                })
                .unwrap(),
            Claim::Granted { attempt: 1 }
        );
    }

    #[test]
    fn a_hard_bounce_suppresses_the_address_and_a_transient_failure_is_retried() {
        let (_dir, mut ledger) = open();
        let allow = |_: &[PastSend]| CapVerdict::Allowed;
        ledger
            .claim(&key("A"), "A@X.example", 1, 60, false, allow)
            .unwrap();
        ledger
            .mark_failed(&key("A"), "A@X.example", "550 no such user", true, 2)
            .unwrap();
        assert_eq!(
            ledger.suppression_of("a@x.example").unwrap().as_deref(),
            Some("bounced")
        );
        assert_eq!(
            ledger
                .claim(&key("A"), "A@X.example", 3, 60, false, allow)
                .unwrap(),
            Claim::AlreadyHandled(State::Failed)
        );
        let other = MessageKey {
            occurrence: "order:O2".into(),
            ..key("A")
        };
        assert_eq!(
            ledger
                .claim(&other, "A@X.example", 4, 60, false, allow)
                .unwrap(),
            Claim::Suppressed("bounced".into())
        );

        ledger
            .claim(&key("B"), "b@x.example", 1, 60, false, allow)
            .unwrap();
        ledger
            .mark_failed(&key("B"), "b@x.example", "451 try later", false, 2)
            .unwrap();
        assert_eq!(
            ledger
                .claim(&key("B"), "b@x.example", 3, 60, false, allow)
                .unwrap(),
            Claim::Granted { attempt: 2 }
        );
    }

    #[test]
    fn an_abandoned_claim_is_reported_and_resent_only_when_asked() {
        let (dir, mut ledger) = open();
        let allow = |_: &[PastSend]| CapVerdict::Allowed;
        ledger
            .claim(&key("A"), "a@x.example", 1, 60, false, allow)
            .unwrap();
        // The claim of a process that no longer exists (pid 0 never is a user process).
        ledger
            .connection()
            .execute("UPDATE messages SET owner = '0:1'", [])
            .unwrap();
        drop(ledger);
        let mut ledger = Ledger::open(&dir.path().join("state/xsell.db")).unwrap();
        assert_eq!(ledger.unconfirmed(None).unwrap().len(), 1);
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 2, 60, false, allow)
                .unwrap(),
            Claim::AlreadyHandled(State::Claimed)
        );
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 3, 60, true, allow)
                .unwrap(),
            Claim::Granted { attempt: 2 }
        );
        assert!(
            ledger.unconfirmed(None).unwrap().is_empty(),
            "now claimed by this live process"
        );
    }

    #[test]
    fn a_live_processs_claim_is_never_taken_over() {
        let (_dir, mut ledger) = open();
        let allow = |_: &[PastSend]| CapVerdict::Allowed;
        ledger
            .claim(&key("A"), "a@x.example", 1, 60, false, allow)
            .unwrap();
        let live = process_owner();
        ledger
            .connection()
            .execute("UPDATE messages SET owner = 'someone-else'", [])
            .unwrap();
        assert!(owner_alive(&live));
        ledger
            .connection()
            .execute(
                "UPDATE messages SET owner = ?1",
                [format!("1:{}", process_start(1).unwrap_or_default())],
            )
            .unwrap();
        assert_eq!(
            ledger
                .claim(&key("A"), "a@x.example", 2, 60, true, allow)
                .unwrap(),
            Claim::AlreadyHandled(State::Claimed)
        );
    }

    #[test]
    fn schedule_runs_happen_once_and_an_abandoned_one_is_taken_over() {
        let (_dir, mut ledger) = open();
        assert_eq!(ledger.last_schedule_run("news", "").unwrap(), None);
        assert!(ledger.begin_schedule_run("news", "", 1_000, 1_001).unwrap());
        assert!(
            !ledger.begin_schedule_run("news", "", 1_000, 1_002).unwrap(),
            "this live process is running it"
        );
        ledger
            .connection()
            .execute("UPDATE schedule_runs SET owner = '0:1'", [])
            .unwrap();
        assert!(
            ledger.begin_schedule_run("news", "", 1_000, 1_003).unwrap(),
            "its owner died"
        );
        ledger
            .finish_schedule_run("news", "", 1_000, "done", "sent 3", 1_004)
            .unwrap();
        assert!(!ledger.begin_schedule_run("news", "", 1_000, 1_005).unwrap());
        ledger
            .finish_schedule_run("news", "", 2_000, "skipped", "stale", 2_500)
            .unwrap();
        assert_eq!(ledger.last_schedule_run("news", "").unwrap(), Some(2_000));
        let runs: Vec<(i64, String)> = ledger
            .schedule_runs("news", 10)
            .unwrap()
            .into_iter()
            .map(|r| (r.due_at, r.state))
            .collect();
        assert_eq!(
            runs,
            vec![(2_000, "skipped".to_string()), (1_000, "done".to_string())]
        );
    }

    #[test]
    fn a_ledger_from_a_newer_xsell_is_refused() {
        let (dir, ledger) = open();
        ledger
            .connection
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        drop(ledger);
        let error = Ledger::open(&dir.path().join("state/xsell.db"))
            .err()
            .unwrap();
        assert!(
            error
                .to_string()
                .contains("schema version 99, newer than this xsell knows (5)"),
            "{error}"
        );
    }
}
