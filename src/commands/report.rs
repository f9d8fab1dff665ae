//! `xsell report`: reads the ledger and the data, prints what the messages
//! did ([`crate::report`]), and writes the HTML page when asked.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::cli::{Format, Global};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::report::{self, Period};
use crate::workspace;

pub fn run(
    global: &Global,
    campaign: Option<&str>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    html: Option<&Path>,
) -> Result<i32> {
    let since = since.map_or(i64::MIN, |t| t.timestamp());
    let until = until.map_or(i64::MAX, |t| t.timestamp());
    if since >= until {
        return Err(Error::usage("--since must be before --until"));
    }
    let inspection = workspace::inspect(&global.workspace);
    let (Some(config), Some(loaded)) = (inspection.config, inspection.loaded) else {
        return Err(Error::Files(inspection.problems));
    };
    // A broken campaign file does not hide the others' results: its
    // messages are reported with the default attribution window.
    if !inspection.problems.is_empty() {
        crate::stderr::warning(&format!(
            "{} problem{} in the campaigns (run `xsell check`); their messages are reported with a 7-day attribution window",
            inspection.problems.len(),
            if inspection.problems.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    let campaigns = inspection.campaigns;
    let campaign_id = campaign.map(|id| {
        crate::campaign::find(&campaigns, id).map_or_else(|| id.to_string(), |c| c.id.clone())
    });
    let store = &loaded.store;
    let period = Period {
        since,
        until,
        data_until: store.last_event_ts(),
    };
    let ledger = Ledger::open_existing_for(&config)?;
    if ledger.is_none() {
        crate::stderr::note(&format!(
            "no ledger at {}: nothing has been sent from this workspace yet",
            config.ledger_path.display()
        ));
    }
    let report = report::from_ledger(
        ledger.as_ref(),
        store,
        &campaigns,
        campaign_id.as_deref(),
        period,
    )?;
    if let Some(id) = &campaign_id
        && report.campaigns.is_empty()
        && crate::campaign::find(&campaigns, id).is_none()
    {
        let known: Vec<&str> = campaigns.iter().map(|c| c.id.as_str()).collect();
        return Err(Error::usage(format!(
            "no campaign `{id}` in the workspace or the ledger; the campaigns are: {}",
            known.join(", ")
        )));
    }
    if let Some(id) = &campaign_id
        && crate::campaign::find(&campaigns, id).is_none()
    {
        crate::stderr::warning(&format!(
            "campaign `{id}` is not in the workspace (or does not check); reporting what the ledger holds for it"
        ));
    }
    if let Some(path) = html {
        std::fs::write(path, report::html::render(&report))
            .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))?;
        crate::stderr::note(&format!("report written to {}", path.display()));
    }
    match global.format {
        Format::Json => super::print_json(&report)?,
        Format::Text => print!("{}", report::text::render(&report)),
    }
    Ok(0)
}
