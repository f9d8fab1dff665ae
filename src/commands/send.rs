//! `xsell send CAMPAIGN`: plan, render and send one campaign now (or at
//! `--now`), with a summary at the end; `--dry-run` renders and reports
//! without sending or writing, `--limit N` sends a first small batch,
//! `--to ADDRESS` sends a test copy of the first recipient's message.

use std::sync::{Arc, Mutex};

use crate::cli::{Format, Global, SendArgs};
use crate::error::{Error, Result};
use crate::ledger::{Creation, Ledger};
use crate::recommend::Recommender;
use crate::render::Renderer;
use crate::send::TransportSpec;
use crate::send::campaign::{CampaignReport, Request, Sender};
use crate::send::engine::Prepared;
use crate::signing::SigningKey;
use crate::workspace::{Workspace, open_checked_shard};

pub fn run(global: &Global, campaign_id: &str, args: &SendArgs) -> Result<i32> {
    let opened = open_checked_shard(&global.workspace, global.explicit_now(), args.shard)?;
    let campaign = opened.campaign(campaign_id)?.clone();
    opened.warn_about_others(Some(&campaign.id));
    let now = global.now()?;
    let transport = transport_spec(&opened.workspace, args.transport.as_deref())?;
    let sender = sender(
        opened.workspace,
        opened.renderer,
        &transport,
        now.timestamp(),
        args.dry_run || args.to.is_some(),
    )?;
    let runtime = runtime()?;
    if let Some(address) = &args.to {
        return runtime.block_on(send_test_copy(&sender, &campaign, now.timestamp(), address));
    }
    let due = crate::schedule::newsletter_due(&campaign, now.timestamp());
    let request = Request {
        now: now.timestamp(),
        due,
        dry_run: args.dry_run,
        limit: args.limit,
        resend_unconfirmed: args.resend_unconfirmed,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr())
            && global.format == Format::Text,
    };
    let report = runtime.block_on(sender.send(&campaign, &request))?;
    match global.format {
        Format::Json => super::print_json(&report)?,
        Format::Text => print!("{}", describe(&report, &transport.describe())),
    }
    Ok(if report.has_failures() { 2 } else { 0 })
}

/// The transport of this run: `--transport URL`, or the configured one.
pub(crate) fn transport_spec(workspace: &Workspace, url: Option<&str>) -> Result<TransportSpec> {
    match url {
        Some(url) => TransportSpec::parse(url, &workspace.root),
        None => Ok(TransportSpec::from_config(&workspace.config.transport)),
    }
}

/// Everything a send needs, built once per process.
pub(crate) fn sender(
    workspace: Workspace,
    renderer: Renderer,
    transport: &TransportSpec,
    now: i64,
    dry_run: bool,
) -> Result<Sender> {
    // Anything recorded as sent carries links and codes signed with this key:
    // the development key (public in the source) is for dry runs only.
    let key = if dry_run {
        SigningKey::from_config(&workspace.config)
    } else {
        SigningKey::require_real(&workspace.config)?
    };
    let ledger = if dry_run {
        // Nothing is written: the ledger is read if there is one.
        Ledger::open_existing_for(&workspace.config)?.map_or_else(Ledger::in_memory, Ok)?
    } else {
        Ledger::for_config(&workspace.config, Creation::IfNeverSent)?
    };
    let transport = transport.open(workspace.config.send.concurrency)?;
    Ok(Sender {
        recommender: Arc::new(Recommender::build_before(&workspace.store, now)),
        store: workspace.store,
        config: Arc::new(workspace.config),
        renderer: Arc::new(renderer),
        key,
        ledger: Arc::new(Mutex::new(ledger)),
        transport: Arc::new(transport),
    })
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}

/// Renders the first planned message and sends it to `address` instead of
/// the customer; the ledger is not touched (it is not the customer's mail).
async fn send_test_copy(
    sender: &Sender,
    campaign: &crate::campaign::Campaign,
    now: i64,
    address: &str,
) -> Result<i32> {
    let plan = sender.plan(
        campaign,
        now,
        crate::schedule::newsletter_due(campaign, now),
    )?;
    let Some(first) = plan.planned.first() else {
        return Err(Error::usage(format!(
            "`{}` has nobody to send to at this time, so there is no message to copy",
            campaign.id
        )));
    };
    let prepared: Prepared = sender
        .prepare(campaign, first, now)
        .map_err(|f| Error::Failed(f.reason))?;
    sender
        .transport
        .send_test(
            sender.config.sender.from.email.as_ref(),
            address,
            &prepared.bytes,
            &format!("test-{}", prepared.file_name),
            &campaign.id,
        )
        .await
        .map_err(Error::Failed)?;
    println!(
        "sent a test copy of {}'s message ({}) to {address}",
        prepared.key.customer, prepared.message_id
    );
    Ok(0)
}

/// The summary printed at the end of a send.
pub(crate) fn describe(report: &CampaignReport, transport: &str) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    let verb = if report.dry_run {
        "would send (dry run: nothing sent, nothing recorded)"
    } else {
        "sent"
    };
    let _ = writeln!(text, "{} via {transport}", report.campaign);
    let _ = writeln!(text, "  moments       {}", report.occurrences);
    let _ = writeln!(text, "  planned       {}", report.planned);
    let _ = writeln!(
        text,
        "  {verb:<13} {}",
        report.would_send.unwrap_or(report.sent)
    );
    if report.held_out > 0 {
        let _ = writeln!(text, "  held out      {}", report.held_out);
    }
    if report.deferred > 0 {
        let _ = writeln!(text, "  deferred      {}", report.deferred);
    }
    for (reason, count) in &report.skipped {
        let _ = writeln!(text, "  skipped       {count} ({reason})");
    }
    if report.bounced > 0 {
        let _ = writeln!(
            text,
            "  bounced       {} (addresses suppressed)",
            report.bounced
        );
    }
    if report.failed > 0 {
        let _ = writeln!(
            text,
            "  failed        {} (a later run retries them)",
            report.failed
        );
    }
    if !report.unconfirmed.is_empty() {
        let _ = writeln!(
            text,
            "  unconfirmed   {} claims of an earlier run were never confirmed and were not re-sent (the server may have them); check, then use --resend-unconfirmed:",
            report.unconfirmed.len()
        );
        for row in report.unconfirmed.iter().take(20) {
            let _ = writeln!(
                text,
                "                {} {} {}",
                row.key.customer, row.email, row.key.occurrence
            );
        }
    }
    if let Some(stopped) = &report.stopped {
        let _ = writeln!(text, "  {stopped}");
    }
    text
}
