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
//! One file per table: [`claims`] (claiming and its outcomes), [`messages`]
//! (reading them), [`contents`] (what each message showed),
//! [`suppression`], [`return_path`] (what comes back), [`schedule`] (runs
//! of `xsell run`); [`schema`] holds the migrations, [`owner`] tells a live
//! process's claim from an abandoned one.
//!
//! WAL mode with `synchronous = NORMAL`: a committed claim survives a killed
//! process (the failure `kill -9` tests); an OS crash or power loss may lose
//! the last commits. Schema versions are kept in `PRAGMA user_version` and
//! migrated forward on open.

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::cell::RefCell;

use serde::Serialize;

use crate::error::{Error, Result};

mod claims;
mod contents;
pub(crate) mod db;
mod messages;
mod owner;
mod return_path;
mod schedule;
mod schema;
mod suppression;
mod workspace;

pub use claims::{CapsDecision, ClaimRequest, Write, Written};
use db::{Db, DbError, vals};
use owner::{owner_alive, process_owner};
pub use schedule::RunState;

pub use contents::{Contents, ReportRow, Shown};

pub use return_path::Scope;

pub use workspace::{Creation, WORKSPACE_ID_FILE};

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

/// Why a message failed, as its row's reason begins: permanently (a hard
/// bounce: never retried, the address suppressed) or transiently (a later
/// run tries again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    Permanent,
    Transient,
}

impl Failure {
    fn prefix(self) -> &'static str {
        match self {
            Failure::Permanent => "permanent: ",
            Failure::Transient => "transient: ",
        }
    }

    /// The reason recorded for a failure of this kind.
    pub fn reason(self, detail: &str) -> String {
        format!("{}{detail}", self.prefix())
    }

    /// The kind of a failed row's reason (`None`: not a failure's reason).
    pub fn of(reason: Option<&str>) -> Option<Failure> {
        let reason = reason?;
        [Failure::Permanent, Failure::Transient]
            .into_iter()
            .find(|kind| reason.starts_with(kind.prefix().trim_end()))
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
    pub state: RunState,
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
    db: RefCell<Db>,
    /// Where it is, for messages: the SQLite file, or the PostgreSQL URL
    /// without its password.
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
        let connection = rusqlite::Connection::open(path).map_err(|e| ledger_error(path, e))?;
        connection
            .busy_timeout(Duration::from_secs(60))
            .map_err(|e| ledger_error(path, e))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| ledger_error(path, e))?;
        let mut ledger = Ledger {
            db: RefCell::new(Db::Sqlite(connection)),
            path: path.to_path_buf(),
            owner: process_owner(),
        };
        ledger.migrate()?;
        Ok(ledger)
    }

    /// An empty ledger in memory, for dry runs in a workspace without one.
    pub fn in_memory() -> Result<Ledger> {
        let path = PathBuf::from(":memory:");
        let connection =
            rusqlite::Connection::open_in_memory().map_err(|e| ledger_error(&path, e))?;
        let mut ledger = Ledger {
            db: RefCell::new(Db::Sqlite(connection)),
            path,
            owner: process_owner(),
        };
        ledger.migrate()?;
        Ok(ledger)
    }

    /// Connects to the ledger in a PostgreSQL database (`postgres://user@host:port/db`;
    /// `password`, if any, from the environment) and migrates it.
    pub fn open_postgres(url: &str, password: Option<&str>) -> Result<Ledger> {
        let shown = PathBuf::from(redact(url));
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| ledger_error(&shown, format!("not a PostgreSQL URL: {e}")))?;
        if let Some(password) = password {
            config.password(password);
        }
        config.application_name("xsell");
        let connection = db::Postgres::connect(config).map_err(|e| ledger_error(&shown, e))?;
        let mut ledger = Ledger {
            db: RefCell::new(Db::Postgres(Box::new(connection))),
            path: shown,
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

    /// How long a write waits for another process's lock (a minute by
    /// default; SQLite only: PostgreSQL waits on row locks itself).
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<()> {
        match &*self.db.borrow() {
            Db::Sqlite(connection) => connection
                .busy_timeout(timeout)
                .map_err(|e| ledger_error(&self.path, e)),
            Db::Postgres(_) => Ok(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This process's owner tag (`pid:start`), as recorded on its claims.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The database, for one statement or transaction.
    fn db(&self) -> std::cell::RefMut<'_, Db> {
        self.db.borrow_mut()
    }

    /// Maps a database error to the ledger's.
    fn fail(&self) -> impl Fn(DbError) -> Error + '_ {
        move |e| ledger_error(&self.path, e)
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let fail = |e: DbError| ledger_error(&path, e);
        let db = self.db.get_mut();
        let migrations = schema::migrations(db);
        if db.is_postgres() {
            db.batch(schema::POSTGRES_VERSION_TABLE).map_err(fail)?;
        }
        let version = schema::version(db).map_err(fail)?;
        if version > migrations.len() {
            return Err(Error::usage(format!(
                "{}: the ledger has schema version {version}, newer than this xsell knows ({}); upgrade xsell",
                path.display(),
                migrations.len()
            )));
        }
        for (index, migration) in migrations.iter().enumerate().skip(version) {
            db.transaction(|db| {
                // Another process may have migrated while we waited for the lock.
                if schema::version_for_update(db)? > index {
                    return Ok(());
                }
                db.batch(migration)?;
                schema::set_version(db, index + 1)
            })
            .map_err(fail)?;
        }
        Ok(())
    }

    /// A fact about the ledger itself (`workspace_id`), if recorded.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .db()
            .query_opt("SELECT value FROM meta WHERE key = ?1", vals![key])
            .map_err(self.fail())?
            .map(|row| row.text(0)))
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.db()
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                vals![key, value],
            )
            .map_err(self.fail())
            .map(|_| ())
    }

    /// The fact recorded under `key`, recording `value` if there is none.
    pub fn meta_or_insert(&mut self, key: &str, value: &str) -> Result<String> {
        self.db()
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                vals![key, value],
            )
            .map_err(self.fail())?;
        Ok(self.meta(key)?.unwrap_or_else(|| value.to_string()))
    }

    pub fn schema_version(&self) -> Result<usize> {
        schema::version(&mut self.db()).map_err(self.fail())
    }

    /// Runs `work` in one transaction (e.g. a whole suppression import: all or nothing).
    pub fn in_transaction<T>(&mut self, work: impl FnOnce(&mut Ledger) -> Result<T>) -> Result<T> {
        self.db().begin().map_err(self.fail())?;
        match work(self) {
            Ok(value) => {
                self.db().commit().map_err(self.fail())?;
                Ok(value)
            }
            Err(error) => {
                self.db().rollback();
                Err(error)
            }
        }
    }

    /// Runs raw SQL on the ledger (tests that fake an old or newer ledger).
    #[cfg(test)]
    pub(crate) fn raw_batch(&mut self, sql: &str) -> Result<()> {
        self.db
            .get_mut()
            .batch(sql)
            .map_err(|e| ledger_error(&self.path, e))
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
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

#[cfg(test)]
mod tests {
    use super::owner::process_start;
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
        assert_eq!(
            ledger.schema_version().unwrap(),
            schema::migrations(&ledger.db()).len()
        );
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
        let seen = std::sync::Mutex::new(Vec::new());
        let claim = ledger
            .claim(&key("A"), "a@x.example", 2_000, 86_400, false, |sends| {
                *seen.lock().unwrap() = sends.to_vec();
                CapVerdict::Defer {
                    reason: "at most 1 in 1d".into(),
                    until: 1_000 + 86_400,
                }
            })
            .unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
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
            .raw_batch("UPDATE messages SET owner = '0:1'")
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
            .raw_batch("UPDATE messages SET owner = 'someone-else'")
            .unwrap();
        assert!(owner_alive(&live));
        ledger
            .raw_batch(&format!(
                "UPDATE messages SET owner = '1:{}'",
                process_start(1).unwrap_or_default()
            ))
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
            .raw_batch("UPDATE schedule_runs SET owner = '0:1'")
            .unwrap();
        assert!(
            ledger.begin_schedule_run("news", "", 1_000, 1_003).unwrap(),
            "its owner died"
        );
        ledger
            .finish_schedule_run("news", "", 1_000, RunState::Done, "sent 3", 1_004)
            .unwrap();
        assert!(!ledger.begin_schedule_run("news", "", 1_000, 1_005).unwrap());
        ledger
            .finish_schedule_run("news", "", 2_000, RunState::Skipped, "stale", 2_500)
            .unwrap();
        assert_eq!(ledger.last_schedule_run("news", "").unwrap(), Some(2_000));
        let runs: Vec<(i64, RunState)> = ledger
            .schedule_runs("news", 10)
            .unwrap()
            .into_iter()
            .map(|r| (r.due_at, r.state))
            .collect();
        assert_eq!(
            runs,
            vec![(2_000, RunState::Skipped), (1_000, RunState::Done)]
        );
    }

    #[test]
    fn a_failures_kind_is_read_back_from_its_reason() {
        for kind in [Failure::Permanent, Failure::Transient] {
            assert_eq!(
                Failure::of(Some(&kind.reason("550 no such user"))),
                Some(kind)
            );
        }
        assert_eq!(Failure::of(Some("held out")), None);
        assert_eq!(Failure::of(None), None);
    }

    #[test]
    fn a_ledger_from_a_newer_xsell_is_refused() {
        let (dir, mut ledger) = open();
        ledger.raw_batch("PRAGMA user_version = 99").unwrap();
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
