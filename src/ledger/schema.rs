//! The ledger's tables, as versioned migrations: `PRAGMA user_version` is
//! how many have run; [`super::Ledger::open`] applies the rest in order.

/// The migrations, in order.
pub(super) const MIGRATIONS: &[&str] = &[
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
