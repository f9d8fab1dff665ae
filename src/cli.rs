//! The command line: global options and one subcommand per job.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "xsell",
    version,
    about = "Personalised cross-selling emails from your shop's data"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The workspace folder (with xsell.toml).
    #[arg(
        long,
        short = 'w',
        global = true,
        default_value = ".",
        env = "XSELL_WORKSPACE"
    )]
    pub workspace: PathBuf,
    /// Output for people (`text`) or machines (`json`).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Evaluate as if it were this time (RFC 3339, e.g. 2026-11-16T09:00:00Z); default the clock.
    /// `plan`, `preview` and `serve` also take `next`: the next time the campaign would mail.
    #[arg(long, global = true, value_parser = parse_when)]
    pub now: Option<When>,
}

/// What `--now` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    At(DateTime<Utc>),
    /// The next time the campaign would mail (its next window or due time).
    Next,
}

impl Global {
    /// `--now` as a time, or the clock. `--now next` is refused: only the
    /// commands about one campaign know whose next moment it means.
    pub fn now(&self) -> crate::error::Result<DateTime<Utc>> {
        match self.now {
            None => Ok(Utc::now()),
            Some(When::At(at)) => Ok(at),
            Some(When::Next) => Err(crate::error::Error::usage(
                "--now next is for plan, preview and serve (the next time a campaign would mail); give a time here",
            )),
        }
    }

    /// The time `--now` gives, if it gives one.
    pub fn explicit_now(&self) -> Option<i64> {
        match self.now {
            Some(When::At(at)) => Some(at.timestamp()),
            _ => None,
        }
    }
}

fn parse_when(text: &str) -> Result<When, String> {
    if text.trim().eq_ignore_ascii_case("next") {
        return Ok(When::Next);
    }
    parse_now(text).map(When::At)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate config, campaigns, templates and data; report every problem.
    Check {
        /// Only these campaigns (ids); default all.
        campaigns: Vec<String>,
    },
    /// Who would get what, and why; who is left out, and why. Sends nothing.
    Plan {
        /// The campaign id (or file name without .yaml).
        campaign: String,
        /// Show at most this many recipients and skips in detail (the summary counts all).
        #[arg(long)]
        limit: Option<usize>,
        /// Plan only the customers of shard K of N, as `send --shard K/N` would.
        #[arg(long)]
        shard: Option<crate::shard::Shard>,
    },
    /// One message for one customer, as it would be sent: .html, .txt and .eml files.
    Preview {
        /// The campaign id (or file name without .yaml).
        campaign: String,
        /// A customer id, `random`, `first-eligible`, or a tag (`tag:vip`, or just `vip`).
        #[arg(long, default_value = "first-eligible")]
        customer: String,
        /// Show this A/B variant (default: the customer's own).
        #[arg(long)]
        variant: Option<String>,
        /// Where to write the files (default: a folder in the system's temp directory, printed).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Open the HTML in the system's browser.
        #[arg(long)]
        open: bool,
    },
    /// The local preview server for designers: campaigns × customers, desktop and mobile, live reload.
    Serve {
        #[arg(long, default_value_t = 8025)]
        port: u16,
        /// The address to listen on. Customer data is served: keep it on loopback unless you mean it.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Open the index in the system's browser.
        #[arg(long)]
        open: bool,
        /// The transport "send test" uses: smtp://host:port, smtps://host:port or outbox:DIR (default: the configured one).
        #[arg(long)]
        transport: Option<String>,
    },
    /// The public service behind a TLS proxy: one-click unsubscribes (RFC 8058) and the unsubscribe page.
    Listen {
        #[arg(long, default_value_t = 8026)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Requests per second one client may make (a token bucket; twice as many at once).
        #[arg(long, default_value_t = 20.0)]
        rate_per_client: f64,
        /// How long after unsubscribing on the page an "undo" still works.
        #[arg(long, default_value = "24h", value_parser = parse_duration_arg)]
        undo_within: chrono::TimeDelta,
    },
    /// Read one message that came back (a bounce, a complaint, a mailed unsubscribe) on standard input: for an MTA's pipe.
    Inbound {
        /// The envelope address it was delivered to (Postfix: `${recipient}`); else read from its headers.
        #[arg(long)]
        recipient: Option<String>,
        /// Temporary failures (4.x.x) within `--soft-bounce-window` that suppress an address.
        #[arg(long, default_value_t = 3)]
        soft_bounces: i64,
        #[arg(long, default_value = "14d", value_parser = parse_duration_arg)]
        soft_bounce_window: chrono::TimeDelta,
    },
    /// Offer codes.
    Offer {
        #[command(subcommand)]
        command: OfferCommand,
    },
    /// Print the JSON Schema of campaign or placement files (for editor autocompletion).
    Schema {
        /// Which files: `campaign` (campaigns/*.yaml) or `placement` (placements/*.yaml).
        #[arg(value_enum, default_value_t = SchemaKind::Campaign)]
        kind: SchemaKind,
    },
    /// Write a synthetic example shop (catalog, customers, events) as CSV.
    #[command(args_conflicts_with_subcommands = true)]
    Generate {
        #[command(subcommand)]
        what: Option<GenerateCommand>,
        /// Output folder.
        #[arg(long, default_value = "fixtures")]
        out: PathBuf,
        #[arg(long, default_value_t = 3000)]
        customers: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The moment the history ends (RFC 3339).
        #[arg(long, value_parser = parse_now, default_value = "2026-11-16T09:00:00Z")]
        end: DateTime<Utc>,
        /// Days of history.
        #[arg(long, default_value_t = 180)]
        days: u32,
    },
    /// Plan, render and send one campaign (to the configured transport).
    Send {
        campaign: String,
        #[command(flatten)]
        args: SendArgs,
    },
    /// Send every campaign that is due (the cron entry point).
    Run {
        #[command(flatten)]
        args: RunArgs,
    },
    /// Offline quality of each list source on a time split, next to bestsellers.
    Backtest {
        /// Hide every event at and after this time (RFC 3339 or YYYY-MM-DD, UTC).
        #[arg(long, value_parser = parse_now)]
        split: DateTime<Utc>,
        /// Judge only on purchases before this time (a validation window
        /// inside the training period, to tune on; default: the end of the data).
        #[arg(long, value_parser = parse_now)]
        until: Option<DateTime<Utc>>,
        /// Products asked of each source per customer.
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Sources to compare (repeat or separate with commas); default all. Bestsellers is always shown.
        #[arg(long = "source", value_delimiter = ',')]
        sources: Vec<String>,
    },
    /// What the messages did: acceptance of the suggestions, uplift against
    /// the holdout, order value, returns, A/B variants, red flags.
    Report {
        /// One campaign (id or file name); default every campaign in the ledger.
        campaign: Option<String>,
        /// The same as CAMPAIGN.
        #[arg(
            long = "campaign",
            conflicts_with = "campaign",
            value_name = "CAMPAIGN"
        )]
        campaign_option: Option<String>,
        /// Messages sent from this time (RFC 3339 or YYYY-MM-DD, UTC).
        #[arg(long, value_parser = parse_now)]
        since: Option<DateTime<Utc>>,
        /// … until this time (excluded).
        #[arg(long, value_parser = parse_now)]
        until: Option<DateTime<Utc>>,
        /// Also write one self-contained HTML page with charts here.
        #[arg(long)]
        html: Option<std::path::PathBuf>,
    },
    /// Campaigns with their schedules, next due times and last runs.
    Schedule,
    /// The suppression list: addresses no campaign may mail.
    Suppress {
        #[command(subcommand)]
        command: SuppressCommand,
    },
    /// The ledger itself: create it explicitly.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Create the workspace's ledger (the first `run` or `send` of a workspace that never sent does it too).
    Init {
        /// Create a new one even though the workspace shows earlier sends (the old ledger is lost: every open moment may be sent again).
        #[arg(long)]
        force: bool,
    },
    /// Apply the ledger's schema migrations now (every command applies them when it opens the ledger); says the version.
    Migrate,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Plan and render what is due, but send nothing and record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only these campaigns (repeatable).
    #[arg(long)]
    pub only: Vec<String>,
    /// Use this transport for this run: smtp://host:port, smtps://host:port or outbox:DIR.
    #[arg(long)]
    pub transport: Option<String>,
    /// Re-send claims an earlier run never confirmed (check first: the server may have them).
    #[arg(long)]
    pub resend_unconfirmed: bool,
    /// Handle only the customers of shard K of N (N processes or machines split the work).
    #[arg(long)]
    pub shard: Option<crate::shard::Shard>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Render and report, but send nothing and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Send at most this many messages (a first small batch).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Send a test copy of the first recipient's message to this address instead (not recorded).
    #[arg(long)]
    pub to: Option<String>,
    /// Use this transport for this run: smtp://host:port, smtps://host:port or outbox:DIR.
    #[arg(long)]
    pub transport: Option<String>,
    /// Re-send claims an earlier run never confirmed (check first: the server may have them).
    #[arg(long)]
    pub resend_unconfirmed: bool,
    /// Send only to the customers of shard K of N (N processes or machines split the campaign).
    #[arg(long)]
    pub shard: Option<crate::shard::Shard>,
}

#[derive(Debug, Subcommand)]
pub enum SuppressCommand {
    /// Suppress addresses.
    Add {
        #[arg(required = true)]
        emails: Vec<String>,
        /// unsubscribed, bounced, complained or manual.
        #[arg(long, default_value = "manual")]
        reason: String,
    },
    /// Allow addresses again (e.g. a customer who re-subscribed).
    Remove {
        #[arg(required = true)]
        emails: Vec<String>,
    },
    /// List suppressed addresses.
    List,
    /// Import an unsubscribe export (CSV with an `email` column); all or nothing.
    Import {
        file: PathBuf,
        #[arg(long, default_value = "unsubscribed")]
        reason: String,
    },
}

/// What else `xsell generate` writes.
#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Simulate what customers did after the messages in the ledger (a known
    /// truth for `xsell report`): appends orders, returns and views to the
    /// workspace's events file.
    Responses {
        /// Share of recipients who buy a product shown to them, 0–1.
        #[arg(long)]
        acceptance: f64,
        /// Share of a variant's recipients who do, e.g. `b=0.45` (repeatable).
        #[arg(long = "variant-acceptance", value_parser = parse_variant_share)]
        variant_acceptance: Vec<(String, f64)>,
        /// Share of everyone (recipients and holdout) who orders something anyway, 0–1.
        #[arg(long, default_value_t = 0.0)]
        baseline: f64,
        /// Share of suggested purchases sent back, 0–1.
        #[arg(long, default_value_t = 0.0)]
        returns: f64,
        /// Share of suggested purchases placed with the message's offer code, 0–1.
        #[arg(long, default_value_t = 1.0)]
        redeem: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

fn parse_variant_share(text: &str) -> Result<(String, f64), String> {
    let (name, share) = text
        .split_once('=')
        .ok_or_else(|| format!("expected VARIANT=SHARE, e.g. b=0.45, not `{text}`"))?;
    let share: f64 = share
        .parse()
        .map_err(|_| format!("`{share}` is not a share from 0 to 1"))?;
    if !(0.0..=1.0).contains(&share) {
        return Err(format!("`{share}` is not a share from 0 to 1"));
    }
    Ok((name.to_string(), share))
}

#[derive(Debug, Subcommand)]
pub enum OfferCommand {
    /// Which campaign and customer a unique offer code was made for, or that it is not valid.
    Verify {
        code: String,
        /// Also check the code was made for this moment (its occurrence key).
        #[arg(long)]
        occurrence: Option<String>,
    },
}

/// RFC 3339, or `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DD` taken as UTC.
pub fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    crate::data::parse_timestamp(text, None, chrono_tz::Tz::UTC)
        .map(crate::data::timestamp)
        .map_err(|_| format!("invalid time `{text}`: expected RFC 3339 like 2026-11-16T09:00:00Z"))
}

fn parse_duration_arg(text: &str) -> Result<chrono::TimeDelta, String> {
    crate::units::parse_duration(text)
}

/// The files `xsell schema` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaKind {
    Campaign,
    Placement,
}
