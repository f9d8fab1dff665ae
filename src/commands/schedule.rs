//! `xsell schedule`: every campaign with its schedule, its next due time and
//! its last recorded runs — what `xsell run` will do, and what it did.

use serde::Serialize;

use crate::campaign::CatchUp;
use crate::cli::{Format, Global};
use crate::config::Config;
use crate::error::Result;
use crate::ledger::{Ledger, ScheduleRun};

#[derive(Serialize)]
struct Row {
    campaign: String,
    schedule: Option<String>,
    timezone: Option<String>,
    catch_up: Option<CatchUp>,
    triggered: bool,
    enabled: bool,
    next_due: Option<String>,
    last_runs: Vec<ScheduleRun>,
}

pub fn run(global: &Global) -> Result<i32> {
    let root = &global.workspace;
    let config = Config::load(root)?;
    let now = global.now()?;
    // Schedules do not depend on the data: campaigns are checked without it.
    let context = crate::campaign::CheckContext {
        store: None,
        templates_dir: &config.templates_dir,
        shop_timezone: config.shop.timezone,
    };
    let (campaigns, problems) = crate::campaign::load_all(&config.campaigns_dir, root, &context);
    if !problems.is_empty() {
        return Err(problems.into());
    }
    let ledger = Ledger::open_existing_for(&config)?;
    let mut rows = Vec::new();
    for campaign in &campaigns {
        let next_due = campaign.schedule.as_ref().and_then(|s| {
            let local = now.with_timezone(&s.timezone);
            s.cron
                .find_next_occurrence(&local, false)
                .ok()
                .map(|t| t.to_rfc3339())
        });
        let last_runs = match &ledger {
            Some(ledger) => ledger.schedule_runs(&campaign.id, 3)?,
            None => Vec::new(),
        };
        rows.push(Row {
            campaign: campaign.id.clone(),
            schedule: campaign.schedule.as_ref().map(|s| s.text.clone()),
            timezone: campaign
                .schedule
                .as_ref()
                .map(|s| s.timezone.name().to_string()),
            catch_up: campaign.schedule.as_ref().map(|s| s.catch_up),
            triggered: campaign.trigger.is_some(),
            enabled: campaign.enabled,
            next_due,
            last_runs,
        });
    }
    match global.format {
        Format::Json => super::print_json(&rows)?,
        Format::Text => {
            println!(
                "{:<40} {:<16} {:<16} {:<27} last run",
                "campaign", "schedule", "time zone", "next due"
            );
            for row in &rows {
                let last = row.last_runs.first().map_or("never".to_string(), |r| {
                    format!(
                        "{} {}{}{}",
                        crate::data::timestamp(r.due_at).to_rfc3339(),
                        if r.shard.is_empty() {
                            String::new()
                        } else {
                            format!("shard {} ", r.shard)
                        },
                        r.state.name(),
                        r.detail
                            .as_ref()
                            .map_or(String::new(), |d| format!(" ({d})"))
                    )
                });
                let kind = match (row.enabled, row.triggered) {
                    (false, _) => " [disabled]",
                    (true, true) => "",
                    (true, false) => " [newsletter]",
                };
                println!(
                    "{:<40} {:<16} {:<16} {:<27} {last}",
                    format!("{}{kind}", row.campaign),
                    row.schedule.as_deref().unwrap_or("(every run)"),
                    row.timezone.as_deref().unwrap_or("-"),
                    row.next_due.as_deref().unwrap_or("-"),
                );
            }
        }
    }
    Ok(0)
}
