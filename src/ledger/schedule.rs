//! Schedule runs of `xsell run`: one record per (campaign, due time,
//! shard), taken over when its process died.

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
        Ok(self
            .db()
            .query_opt(
                "SELECT MAX(due_at) FROM schedule_runs WHERE campaign = ?1 AND shard = ?2 AND state IN ('done', 'skipped')",
                vals![campaign, shard],
            )
            .map_err(self.fail())?
            .and_then(|row| row.opt_int(0)))
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
        let owner = self.owner.clone();
        let path = self.path.clone();
        self.db
            .get_mut()
            .transaction(|db| {
                let existing = db
                    .query_opt(
                        "SELECT state, owner FROM schedule_runs WHERE campaign = ?1 AND due_at = ?2 AND shard = ?3",
                        vals![campaign, due_at, shard],
                    )?
                    .map(|row| (RunState::parse(&row.text(0)), row.opt_text(1)));
                let free = match &existing {
                    None => true,
                    Some((RunState::Done | RunState::Skipped, _)) => false,
                    Some((RunState::Running, previous)) => previous
                        .as_deref()
                        .is_none_or(|o| o != owner && !owner_alive(o)),
                    Some((RunState::Failed, _)) => true, // try again
                };
                if free {
                    db.execute(
                        "INSERT INTO schedule_runs (campaign, due_at, shard, state, owner, started_at) VALUES (?1, ?2, ?5, 'running', ?3, ?4)
                         ON CONFLICT (campaign, due_at, shard) DO UPDATE SET state = 'running', owner = excluded.owner, started_at = excluded.started_at, detail = NULL, finished_at = NULL",
                        vals![campaign, due_at, &owner, now, shard],
                    )?;
                }
                Ok(free)
            })
            .map_err(|e| ledger_error(&path, e))
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
        self.db()
            .execute(
                "INSERT INTO schedule_runs (campaign, due_at, shard, state, detail, started_at, finished_at) VALUES (?1, ?2, ?6, ?3, ?4, ?5, ?5)
                 ON CONFLICT (campaign, due_at, shard) DO UPDATE SET state = excluded.state, detail = excluded.detail, owner = NULL, finished_at = excluded.finished_at",
                vals![campaign, due_at, state.name(), detail, now, shard],
            )
            .map_err(self.fail())?;
        Ok(())
    }

    /// The recorded runs of a campaign, most recent first.
    pub fn schedule_runs(&self, campaign: &str, limit: usize) -> Result<Vec<ScheduleRun>> {
        let rows = self
            .db()
            .query(
                "SELECT due_at, state, detail, started_at, finished_at, shard FROM schedule_runs WHERE campaign = ?1 ORDER BY due_at DESC, shard LIMIT ?2",
                vals![campaign, limit as i64],
            )
            .map_err(self.fail())?;
        Ok(rows
            .iter()
            .map(|row| ScheduleRun {
                due_at: row.int(0),
                state: RunState::parse(&row.text(1)),
                detail: row.opt_text(2),
                started_at: row.int(3),
                finished_at: row.opt_int(4),
                shard: row.text(5),
            })
            .collect())
    }
}
