//! `xsell run`: the cron entry point. Sends every campaign that is due:
//!
//! - a **newsletter** (no trigger) for each due time of its schedule since its
//!   last recorded run, per its catch-up policy and lateness limit
//!   ([`crate::schedule`]); every due time ends up recorded as done, skipped
//!   (with why) or failed (retried next time);
//! - a **triggered** campaign is evaluated at `now` when its schedule has a
//!   due time since its last run (every run when it has no schedule): its
//!   moments' windows and the ledger's keys make any cadence safe.
//!
//! Runs are ordered by due time, oldest first. One `xsell run` at a time
//! holds the workspace's run lock (a second one waits or exits, as
//! configured); even without the lock, the ledger's schedule-run records and
//! message claims keep overlapping runs from sending twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::campaign::Campaign;
use crate::cli::{Format, Global, RunArgs};
use crate::config::OnOverlap;
use crate::error::{Error, Result};
use crate::ledger::{Ledger, RunState};
use crate::run_lock::{LockError, RunLock};
use crate::schedule::{self, Decision};
use crate::send::campaign::{CampaignReport, Request};
use crate::workspace::open_checked_shard;

/// Exit code when another run holds the lock (`EX_TEMPFAIL`: try again later).
pub const EXIT_BUSY: i32 = 75;

/// One line of `xsell run --format json`.
#[derive(Serialize)]
struct RunLine {
    campaign: String,
    /// The scheduled time this run is for (none: a triggered campaign without schedule).
    due: Option<String>,
    /// `sent` (ran), `would_send` (a dry run), `skipped` (with `reason`), `failed`.
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<CampaignReport>,
}

/// What to do now for one campaign.
struct Job<'a> {
    campaign: &'a Campaign,
    /// The due time the send is for (`None`: unscheduled triggered campaign).
    due: Option<DateTime<Utc>>,
    /// Older due times this job also covers (triggered campaigns evaluate once for all).
    covers: Vec<DateTime<Utc>>,
}

pub fn run(global: &Global, args: &RunArgs) -> Result<i32> {
    let root = &global.workspace;
    let now = global.now()?;
    let config = crate::config::Config::load(root)?;
    let config_ledger = config.ledger_path.clone();
    let lock = if args.dry_run {
        None
    } else {
        let wait = match config.run.on_overlap {
            OnOverlap::Wait => config.run.wait_timeout.to_std().unwrap_or(Duration::ZERO),
            OnOverlap::Exit => Duration::ZERO,
        };
        let holder = format!(
            "pid {}, started {}",
            std::process::id(),
            Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        // Shards of one workspace run side by side: each has its own lock.
        let lock_name = match args.shard {
            Some(shard) => format!("xsell-shard-{}-of-{}.lock", shard.index, shard.count),
            None => "xsell.lock".to_string(),
        };
        match RunLock::acquire(&config.ledger_path.with_file_name(lock_name), wait, &holder) {
            Ok(lock) => Some(lock),
            Err(busy @ LockError::Busy { .. }) => {
                crate::stderr::note(&format!(
                    "{busy}: {}",
                    if wait.is_zero() {
                        "exiting (run.on_overlap = \"exit\")"
                    } else {
                        "gave up waiting"
                    }
                ));
                return Ok(EXIT_BUSY);
            }
            Err(error) => return Err(Error::internal(error.to_string())),
        }
    };
    let outcome = run_locked(global, args, now);
    // A run that stopped before the workspace had a ledger (a bad file, no
    // secret) leaves no lock file: it would read as a trace of earlier sends.
    if let Some(lock) = lock {
        let path = lock.path().to_path_buf();
        drop(lock);
        if !std::fs::metadata(&config_ledger).is_ok_and(|m| m.len() > 0) {
            let _ = std::fs::remove_file(path);
        }
    }
    outcome
}

/// The run itself, with the lock held.
fn run_locked(global: &Global, args: &RunArgs, now: DateTime<Utc>) -> Result<i32> {
    let root = &global.workspace;
    let opened = open_checked_shard(root, Some(now.timestamp()), args.shard)?;
    // A campaign that does not check is reported failed; the others go on.
    let mut lines = Vec::new();
    let mut failed = false;
    for broken in &opened.broken {
        if !broken.enabled || (!args.only.is_empty() && !args.only.contains(&broken.name)) {
            continue;
        }
        failed = true;
        crate::stderr::warning(&format!(
            "{}: not run, it does not check:\n{}",
            broken.name, broken.problems
        ));
        lines.push(RunLine {
            campaign: broken.name.clone(),
            due: None,
            outcome: "failed",
            reason: Some(format!(
                "does not check ({} problem{}; run `xsell check`)",
                broken.problems.len(),
                if broken.problems.len() == 1 { "" } else { "s" }
            )),
            report: None,
        });
    }
    for only in &args.only {
        if !opened.broken.iter().any(|b| &b.name == only) {
            opened.workspace.campaign(only)?;
        }
    }
    let (workspace, renderer) = (opened.workspace, opened.renderer);
    let transport = super::send::transport_spec(&workspace, args.transport.as_deref())?;
    let described = transport.describe();
    let campaigns: Vec<Campaign> = workspace
        .campaigns
        .iter()
        .filter(|c| c.enabled && (args.only.is_empty() || args.only.contains(&c.id)))
        .cloned()
        .collect();
    let sender = super::send::sender(
        workspace,
        renderer,
        &transport,
        now.timestamp(),
        args.dry_run,
    )?;
    // Each shard keeps its own schedule runs: a due time is done when every shard has done it.
    let shard = args.shard.map(|s| s.label()).unwrap_or_default();
    let jobs = {
        let mut ledger = sender.ledger.lock().unwrap_or_else(|p| p.into_inner());
        plan_jobs(
            &campaigns,
            &mut ledger,
            &shard,
            now,
            args.dry_run,
            &mut lines,
        )?
    };
    let runtime = super::send::runtime()?;
    for job in jobs {
        let due = job.due.map(|d| d.timestamp());
        if let (Some(due), false) = (due, args.dry_run) {
            let mut ledger = sender.ledger.lock().unwrap_or_else(|p| p.into_inner());
            if !ledger.begin_schedule_run(&job.campaign.id, &shard, due, now.timestamp())? {
                lines.push(line(
                    job.campaign,
                    job.due,
                    "skipped",
                    Some("already run (or running in another process)".into()),
                    None,
                ));
                continue;
            }
        }
        let request = Request {
            now: now.timestamp(),
            due: if job.campaign.trigger.is_none() {
                due
            } else {
                None
            },
            dry_run: args.dry_run,
            limit: None,
            resend_unconfirmed: args.resend_unconfirmed,
            progress: false,
        };
        let outcome = runtime.block_on(sender.send(job.campaign, &request));
        let (state, detail, report) = match outcome {
            Ok(report) if report.has_failures() => (
                RunState::Failed,
                format!("sent {}, failed {}", report.sent, report.failed),
                Some(report),
            ),
            Ok(report) => (
                RunState::Done,
                format!("sent {}", report.sent),
                Some(report),
            ),
            Err(error) => (RunState::Failed, super::describe_error(&error), None),
        };
        failed |= state == RunState::Failed;
        if let (Some(due), false) = (due, args.dry_run) {
            let mut ledger = sender.ledger.lock().unwrap_or_else(|p| p.into_inner());
            ledger.finish_schedule_run(
                &job.campaign.id,
                &shard,
                due,
                state,
                &detail,
                now.timestamp(),
            )?;
            for older in &job.covers {
                ledger.finish_schedule_run(
                    &job.campaign.id,
                    &shard,
                    older.timestamp(),
                    RunState::Done,
                    &format!(
                        "evaluated with the run due {}",
                        job.due.map(|d| d.to_rfc3339()).unwrap_or_default()
                    ),
                    now.timestamp(),
                )?;
            }
        }
        let outcome = match (state, args.dry_run) {
            (RunState::Done, true) => "would_send",
            (RunState::Done, false) => "sent",
            _ => "failed",
        };
        lines.push(line(
            job.campaign,
            job.due,
            outcome,
            (state == RunState::Failed).then_some(detail),
            report,
        ));
    }
    match global.format {
        Format::Json => {
            for entry in &lines {
                println!(
                    "{}",
                    serde_json::to_string(entry).map_err(|e| Error::internal(e.to_string()))?
                );
            }
        }
        Format::Text => print_text(&lines, now, &described, args.dry_run),
    }
    Ok(if failed { 2 } else { 0 })
}

fn line(
    campaign: &Campaign,
    due: Option<DateTime<Utc>>,
    outcome: &'static str,
    reason: Option<String>,
    report: Option<CampaignReport>,
) -> RunLine {
    RunLine {
        campaign: campaign.id.clone(),
        due: due.map(|d| d.to_rfc3339()),
        outcome,
        reason,
        report,
    }
}

/// The due work, oldest first; due times skipped by policy are recorded (and reported) here.
fn plan_jobs<'a>(
    campaigns: &'a [Campaign],
    ledger: &mut Ledger,
    shard: &str,
    now: DateTime<Utc>,
    dry_run: bool,
    lines: &mut Vec<RunLine>,
) -> Result<Vec<Job<'a>>> {
    let mut jobs = Vec::new();
    let mut skips = Vec::new();
    for campaign in campaigns {
        let Some(schedule_spec) = &campaign.schedule else {
            if campaign.trigger.is_some() {
                jobs.push(Job {
                    campaign,
                    due: None,
                    covers: Vec::new(),
                });
            } else {
                lines.push(line(
                    campaign,
                    None,
                    "skipped",
                    Some("a newsletter without `schedule` is only sent by `xsell send`".into()),
                    None,
                ));
            }
            continue;
        };
        let last = ledger
            .last_schedule_run(&campaign.id, shard)?
            .map(crate::data::timestamp);
        let due = schedule::due_times(schedule_spec, last, now);
        if campaign.trigger.is_some() {
            // Moments carry their own windows: one evaluation at `now` covers every due time.
            if let Some((latest, older)) = due.split_last() {
                jobs.push(Job {
                    campaign,
                    due: Some(*latest),
                    covers: older.to_vec(),
                });
            }
            continue;
        }
        for decided in schedule::decide(schedule_spec, &due, now) {
            match decided.decision {
                Decision::Run => jobs.push(Job {
                    campaign,
                    due: Some(decided.at),
                    covers: Vec::new(),
                }),
                Decision::Skip(reason) => skips.push((campaign, decided.at, reason)),
            }
        }
    }
    if !dry_run {
        for (campaign, at, reason) in &skips {
            ledger.finish_schedule_run(
                &campaign.id,
                shard,
                at.timestamp(),
                RunState::Skipped,
                reason,
                now.timestamp(),
            )?;
        }
    }
    for (campaign, at, reason) in skips {
        lines.push(line(campaign, Some(at), "skipped", Some(reason), None));
    }
    jobs.sort_by_key(|job| (job.due.unwrap_or(now), job.campaign.id.clone()));
    Ok(jobs)
}

fn print_text(lines: &[RunLine], now: DateTime<Utc>, transport: &str, dry_run: bool) {
    println!(
        "xsell run at {}{} via {transport}",
        now.to_rfc3339(),
        if dry_run {
            " (dry run: nothing sent, nothing recorded)"
        } else {
            ""
        }
    );
    if lines.is_empty() {
        println!("  nothing due");
    }
    for entry in lines {
        let due = entry
            .due
            .as_deref()
            .map_or(String::new(), |d| format!(" (due {d})"));
        match (&entry.report, &entry.reason) {
            (Some(report), reason) => {
                let mut parts = vec![match report.would_send {
                    Some(count) => format!("would send {count}"),
                    None => format!("sent {}", report.sent),
                }];
                if report.held_out > 0 {
                    parts.push(format!("held out {}", report.held_out));
                }
                if report.deferred > 0 {
                    parts.push(format!("deferred {}", report.deferred));
                }
                let skipped: usize = report.skipped.values().sum();
                if skipped > 0 {
                    parts.push(format!("skipped {skipped}"));
                }
                if report.failed > 0 {
                    parts.push(format!("failed {}", report.failed));
                }
                if !report.unconfirmed.is_empty() {
                    parts.push(format!(
                        "{} unconfirmed claims not re-sent",
                        report.unconfirmed.len()
                    ));
                }
                println!(
                    "  {}{due}: {}{}",
                    entry.campaign,
                    parts.join(", "),
                    reason.as_ref().map_or(String::new(), |r| format!(" — {r}"))
                );
            }
            (None, Some(reason)) => {
                println!("  {}{due}: {} — {reason}", entry.campaign, entry.outcome)
            }
            (None, None) => println!("  {}{due}: {}", entry.campaign, entry.outcome),
        }
    }
}
