//! One file per subcommand; each only orchestrates library calls and prints.

mod backtest;
mod check;
mod generate;
mod inbound;
mod ledger;
mod listen;
mod offer;
mod plan;
mod preview;
mod report;
mod run;
mod schedule;
mod schema;
mod send;
mod serve;
mod suppress;

use crate::cli::{Cli, Command, GenerateCommand, LedgerCommand, OfferCommand};
use crate::error::{Error, Result};

/// Runs the command; `Ok` holds the exit code (a command may succeed with warnings).
pub fn run(cli: Cli) -> Result<i32> {
    let global = &cli.global;
    match &cli.command {
        Command::Check { campaigns } => check::run(global, campaigns),
        Command::Schema { kind } => schema::run(*kind),
        Command::Plan {
            campaign,
            limit,
            shard,
        } => plan::run(global, campaign, *limit, *shard),
        Command::Preview {
            campaign,
            customer,
            variant,
            out,
            open,
        } => preview::run(
            global,
            campaign,
            customer,
            variant.as_deref(),
            out.as_deref(),
            *open,
        ),
        Command::Serve {
            port,
            bind,
            open,
            transport,
        } => serve::run(global, *bind, *port, *open, transport.as_deref()),
        Command::Inbound {
            recipient,
            soft_bounces,
            soft_bounce_window,
        } => Ok(inbound::run(
            global,
            recipient.as_deref(),
            *soft_bounces,
            *soft_bounce_window,
        )),
        Command::Listen {
            port,
            bind,
            rate_per_client,
            undo_within,
        } => listen::run(global, *bind, *port, *rate_per_client, *undo_within),
        Command::Offer {
            command: OfferCommand::Verify { code, occurrence },
        } => offer::verify(global, code, occurrence.as_deref()),
        Command::Suppress { command } => suppress::run(global, command),
        Command::Ledger {
            command: LedgerCommand::Init { force },
        } => ledger::init(global, *force),
        Command::Ledger {
            command: LedgerCommand::Migrate,
        } => ledger::migrate(global),
        Command::Report {
            campaign,
            campaign_option,
            since,
            until,
            html,
        } => report::run(
            global,
            campaign.as_deref().or(campaign_option.as_deref()),
            *since,
            *until,
            html.as_deref(),
        ),
        Command::Schedule => schedule::run(global),
        Command::Run { args } => run::run(global, args),
        Command::Send { campaign, args } => send::run(global, campaign, args),
        Command::Generate {
            what:
                Some(GenerateCommand::Responses {
                    acceptance,
                    variant_acceptance,
                    baseline,
                    returns,
                    redeem,
                    seed,
                }),
            ..
        } => generate::responses(
            global,
            crate::generate::responses::ResponseOptions {
                acceptance: *acceptance,
                by_variant: variant_acceptance.iter().cloned().collect(),
                baseline: *baseline,
                returns: *returns,
                redeem: *redeem,
                seed: *seed,
            },
        ),
        Command::Generate {
            out,
            customers,
            seed,
            end,
            days,
            what: None,
        } => generate::run(global, out, *customers, *seed, *end, *days),
        Command::Backtest {
            split,
            until,
            k,
            sources,
        } => backtest::run(global, *split, *until, *k, sources),
    }
}

/// The text shown for an error on stderr.
pub fn describe_error(error: &Error) -> String {
    match error {
        Error::Files(problems) => {
            let count = problems.len();
            format!(
                "{problems}\n\n{count} problem{} found",
                if count == 1 { "" } else { "s" }
            )
        }
        Error::Usage(message) => format!("error: {message}"),
        Error::Failed(message) => format!("failed: {message}"),
        Error::Internal(message) => format!("internal error: {message}"),
    }
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::internal(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// `12345` → `12,345`, for counts people read.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Opens a file or URL in the system's browser; says so when it cannot.
pub(crate) fn open_in_browser(target: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener)
        .arg(target)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => {}
        Err(e) => eprintln!("cannot open a browser ({opener}: {e}); open {target} yourself"),
    }
}

/// `--now` for a command about one campaign: a time, the clock, or with
/// `--now next` the next time the campaign would mail (said on stderr).
pub(crate) fn campaign_now(
    global: &crate::cli::Global,
    store: &crate::data::Store,
    campaign: &crate::campaign::Campaign,
) -> Result<i64> {
    match global.now {
        Some(crate::cli::When::Next) => {
            let clock = chrono::Utc::now().timestamp();
            let next = crate::preview::next_moment(store, campaign, clock).ok_or_else(|| {
                Error::usage(format!(
                    "`{}` has no next moment in the data: give a time with --now",
                    campaign.id
                ))
            })?;
            crate::stderr::note(&format!(
                "--now next: {} is the next time `{}` would mail",
                crate::calendar::rfc3339(next),
                campaign.id
            ));
            Ok(next)
        }
        _ => Ok(global.now()?.timestamp()),
    }
}
