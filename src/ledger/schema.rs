//! The ledger's tables, as versioned migrations, per database: SQLite keeps
//! how many have run in `PRAGMA user_version`, PostgreSQL in the one row of
//! `xsell_schema`; [`super::Ledger`] applies the rest in order when it opens,
//! and refuses a ledger newer than it knows.

use super::db::{Db, DbResult, vals};

/// The migrations of `db`'s kind, in order.
pub(super) fn migrations(db: &Db) -> &'static [&'static str] {
    if db.is_postgres() {
        POSTGRES_MIGRATIONS
    } else {
        MIGRATIONS
    }
}

/// How many migrations have run.
pub(super) fn version(db: &mut Db) -> DbResult<usize> {
    let sql = if db.is_postgres() {
        "SELECT version FROM xsell_schema"
    } else {
        "PRAGMA user_version"
    };
    Ok(db
        .query_opt(sql, &[])?
        .map_or(0, |row| row.int(0).max(0) as usize))
}

/// [`version`], locking it until the transaction ends (PostgreSQL; SQLite's
/// `BEGIN IMMEDIATE` already holds the only write lock).
pub(super) fn version_for_update(db: &mut Db) -> DbResult<usize> {
    if db.is_postgres() {
        Ok(db
            .query_opt("SELECT version FROM xsell_schema FOR UPDATE", &[])?
            .map_or(0, |row| row.int(0).max(0) as usize))
    } else {
        version(db)
    }
}

pub(super) fn set_version(db: &mut Db, version: usize) -> DbResult<()> {
    if db.is_postgres() {
        db.execute(
            "UPDATE xsell_schema SET version = ?1",
            vals![version as i64],
        )?;
        Ok(())
    } else {
        db.batch(&format!("PRAGMA user_version = {version}"))
    }
}

/// Where PostgreSQL keeps the version (created before the first migration).
pub(super) const POSTGRES_VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS xsell_schema (version BIGINT NOT NULL);
INSERT INTO xsell_schema (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM xsell_schema);";

/// PostgreSQL's migrations: the same tables as SQLite's after all of them
/// (integers as BIGINT). A later change adds one here and one there.
const POSTGRES_MIGRATIONS: &[&str] = &[
    "CREATE TABLE messages (
        campaign    TEXT NOT NULL,
        customer    TEXT NOT NULL,
        occurrence  TEXT NOT NULL,
        email       TEXT NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('claimed','sent','failed','skipped','deferred','held_out')),
        reason      TEXT,
        message_id  TEXT,
        owner       TEXT,
        attempts    BIGINT NOT NULL DEFAULT 0,
        not_before  BIGINT,
        created_at  BIGINT NOT NULL,
        updated_at  BIGINT NOT NULL,
        PRIMARY KEY (campaign, customer, occurrence)
    );
    CREATE INDEX messages_by_customer ON messages (customer, updated_at);
    CREATE INDEX messages_by_state ON messages (campaign, state);
    CREATE INDEX messages_by_time ON messages (campaign, updated_at);
    CREATE TABLE suppression (
        email    TEXT PRIMARY KEY,
        reason   TEXT NOT NULL,
        source   TEXT,
        at       BIGINT NOT NULL,
        campaign TEXT
    );
    CREATE TABLE schedule_runs (
        campaign    TEXT NOT NULL,
        due_at      BIGINT NOT NULL,
        shard       TEXT NOT NULL DEFAULT '',
        state       TEXT NOT NULL CHECK (state IN ('running','done','skipped','failed')),
        detail      TEXT,
        owner       TEXT,
        started_at  BIGINT NOT NULL,
        finished_at BIGINT,
        PRIMARY KEY (campaign, due_at, shard)
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE campaign_opt_outs (
        email    TEXT NOT NULL,
        campaign TEXT NOT NULL,
        source   TEXT,
        at       BIGINT NOT NULL,
        PRIMARY KEY (email, campaign)
    );
    CREATE TABLE inbound (
        at      BIGINT NOT NULL,
        kind    TEXT NOT NULL,
        email   TEXT,
        detail  TEXT
    );
    CREATE INDEX inbound_by_email ON inbound (email, kind, at);
    CREATE TABLE message_contents (
        campaign    TEXT NOT NULL,
        customer    TEXT NOT NULL,
        occurrence  TEXT NOT NULL,
        contents    TEXT NOT NULL,
        PRIMARY KEY (campaign, customer, occurrence)
    );",
];

/// SQLite's migrations, in order.
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
