//! Schedule runs of `xsell run`: one record per (campaign, due time,
//! shard), taken over when its process died.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::*;
use crate::error::Result;

/// Where a schedule run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Being run (by the process named in its row).
    Running,
    Done,
    /// Not run, with why (too late, nothing to do…); not retried.
    Skipped,
    /// Retried by the next run.
    Failed,
}

impl RunState {
    pub fn name(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Skipped => "skipped",
            RunState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> RunState {
        match text {
            "done" => RunState::Done,
            "skipped" => RunState::Skipped,
            "failed" => RunState::Failed,
            _ => RunState::Running,
        }
    }
}

impl Ledger {
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
        let existing: Option<(RunState, Option<String>)> = transaction
            .query_row(
                "SELECT state, owner FROM schedule_runs WHERE campaign = ?1 AND due_at = ?2 AND shard = ?3",
                params![campaign, due_at, shard],
                |row| Ok((RunState::parse(&row.get::<_, String>(0)?), row.get(1)?)),
            )
            .optional()
            .map_err(fail)?;
        let free = match &existing {
            None => true,
            Some((RunState::Done | RunState::Skipped, _)) => false,
            Some((RunState::Running, previous)) => previous
                .as_deref()
                .is_none_or(|o| o != owner && !owner_alive(o)),
            Some((RunState::Failed, _)) => true, // try again
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
        state: RunState,
        detail: &str,
        now: i64,
    ) -> Result<()> {
        self.connection
            .execute(
                "INSERT INTO schedule_runs (campaign, due_at, shard, state, detail, started_at, finished_at) VALUES (?1, ?2, ?6, ?3, ?4, ?5, ?5)
                 ON CONFLICT (campaign, due_at, shard) DO UPDATE SET state = excluded.state, detail = excluded.detail, owner = NULL, finished_at = excluded.finished_at",
                params![campaign, due_at, state.name(), detail, now, shard],
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
                    state: RunState::parse(&row.get::<_, String>(1)?),
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
}
