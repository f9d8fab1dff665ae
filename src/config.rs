//! `xsell.toml`: where the data is, who the mail is from, how it is sent and
//! how often a customer may be mailed.
//!
//! The file is read into raw serde shapes (unknown keys rejected, positions
//! kept), then checked once into [`Config`]; everything downstream takes the
//! checked type. Every problem found is reported, with its line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveTime, TimeDelta};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::units::{self, Rate};

pub const CONFIG_FILE: &str = "xsell.toml";

/// The checked configuration of a workspace.
#[derive(Debug, Clone)]
pub struct Config {
    /// The workspace folder; relative paths in the config are relative to it.
    pub root: PathBuf,
    pub shop: Shop,
    pub sender: Sender,
    pub unsubscribe: Unsubscribe,
    pub secrets: Secrets,
    pub data: DataConfig,
    pub caps: GlobalCaps,
    pub send: SendSettings,
    pub transport: TransportConfig,
    pub ledger_path: PathBuf,
    /// A PostgreSQL ledger instead of the SQLite file: `postgres://user@host:port/db`.
    pub ledger_url: Option<String>,
    /// The environment variable holding the PostgreSQL password.
    pub ledger_password_env: Option<String>,
    /// How long a write waits for another process's lock on the ledger.
    pub ledger_busy_timeout: TimeDelta,
    pub dkim: Option<DkimConfig>,
    pub run: RunSettings,
    pub preview: PreviewSettings,
    pub templates_dir: PathBuf,
    pub campaigns_dir: PathBuf,
    pub placements_dir: PathBuf,
    pub site: Site,
}

/// The path `xsell listen` answers landing pages on, from the landing URL
/// (`https://shop.example/more/{token}` → `/more/{token}`); `None` when the
/// URL is not https or its path does not end with `/{token}`.
pub fn landing_route(landing_url: &str) -> Option<String> {
    let rest = landing_url.strip_prefix("https://")?;
    let path = &rest[rest.find('/')?..];
    let prefix = path.strip_suffix("/{token}")?;
    (!prefix.contains(['{', '}', '?', '#'])).then(|| format!("{prefix}/{{token}}"))
}

/// What `xsell listen` serves to the shop's site: placements and the
/// landing page a message's "see more" link opens.
#[derive(Debug, Clone)]
pub struct Site {
    /// A URL with `{token}`: the landing page of one message
    /// (`{{ more_url }}` in templates). Default: the unsubscribe URL's
    /// origin with `/p/{token}`.
    pub landing_url: String,
    /// Name of the environment variable holding the placements API key.
    pub api_key_env: String,
    /// Origins allowed to call the placements API from a browser (CORS).
    pub cors_origins: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Shop {
    pub name: String,
    pub website: String,
    pub postal_address: String,
    pub timezone: Tz,
    pub default_currency: String,
    /// The shop's colours, for the pages `xsell listen` shows customers:
    /// buttons and headings, and the text on buttons.
    pub brand_color: String,
    pub brand_text_color: String,
}

#[derive(Debug, Clone)]
pub struct Sender {
    pub from: lettre::message::Mailbox,
    pub reply_to: Option<lettre::message::Mailbox>,
    /// The envelope sender per message, `bounces+{token}@shop.example`
    /// (VERP): a bounce names its recipient by the signed token. `None`:
    /// the From address.
    pub return_path: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Unsubscribe {
    /// A URL with `{token}` where the signed per-recipient token goes.
    pub url: String,
    pub mailto: Option<String>,
}

/// Names of environment variables holding secrets; the values never appear in files or logs.
#[derive(Debug, Clone)]
pub struct Secrets {
    pub signing_key_env: String,
}

#[derive(Debug, Clone)]
pub struct DataConfig {
    pub catalog: SourceConfig,
    pub customers: SourceConfig,
    pub events: SourceConfig,
    /// Bad rows tolerated per file before the load fails (they are reported and counted).
    pub max_bad_rows: usize,
}

/// Where one table comes from and how its columns map to ours.
#[derive(Debug, Clone, Default)]
pub struct SourceConfig {
    pub location: SourceLocation,
    pub format: Option<DataFormat>,
    /// Our field name → the column name in the file.
    pub columns: BTreeMap<String, String>,
    /// Our field name → the value used when the file has no such column (or an empty cell).
    pub defaults: BTreeMap<String, String>,
    /// chrono `strftime` pattern for timestamps that are not RFC 3339.
    pub timestamp_format: Option<String>,
    /// Time zone of timestamps written without an offset.
    pub timezone: Tz,
    pub delimiter: u8,
    /// Rows matching a rule are skipped (e.g. cancelled invoices, rows without a customer).
    pub skip_rows: Vec<SkipRule>,
    /// Our field → (their value → our value), e.g. `kind = { purchase = "order" }`.
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// catalog, customers: build the table from the events file (exports that only have transactions).
    pub from_events: bool,
    /// HTTP sources: timeout per attempt, attempts in all.
    pub timeout: TimeDelta,
    pub attempts: u32,
    /// HTTP sources: the largest body accepted.
    pub max_bytes: u64,
}

/// The largest HTTP data source accepted unless `max_bytes` says otherwise.
pub const DEFAULT_MAX_BYTES: u64 = 512 << 20;

/// Skip a row when its `column` starts with `prefix`, or (with `empty`) has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipRule {
    pub column: String,
    pub prefix: Option<String>,
    pub empty: bool,
}

impl SkipRule {
    pub fn matches(&self, value: Option<&str>) -> bool {
        let value = value.map(str::trim).unwrap_or_default();
        (self.empty && value.is_empty())
            || self.prefix.as_deref().is_some_and(|p| value.starts_with(p))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLocation {
    File(PathBuf),
    Url(String),
}

impl Default for SourceLocation {
    fn default() -> Self {
        SourceLocation::File(PathBuf::new())
    }
}

impl SourceLocation {
    /// How the source is named in messages: a workspace-relative path or the URL.
    pub fn display(&self, root: &Path) -> PathBuf {
        match self {
            SourceLocation::File(path) => crate::diagnostic::display_path(root, path),
            SourceLocation::Url(url) => PathBuf::from(redact_url(url)),
        }
    }
}

/// A URL as it may be shown: without the password (or token) in it.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) if url.password().is_some() || !url.username().is_empty() => {
            let _ = url.set_username("***");
            let _ = url.set_password(None);
            url.to_string()
        }
        Ok(_) => text.to_string(),
        Err(_) => "(a URL that does not parse)".to_string(),
    }
}

/// Keys that hold a secret: never written in `xsell.toml` (it is in git and
/// in logs), only named through an environment variable.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "signing_key",
    "api_key",
    "apikey",
    "token",
    "access_token",
    "private_key",
];

/// Each line of `text` that assigns a secret key, as a problem that does
/// not repeat the value.
fn typed_secrets(text: &str) -> Diagnostics {
    let mut problems = Diagnostics::default();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some((key, _)) = trimmed.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"').to_ascii_lowercase();
        if SECRET_KEYS.contains(&key.as_str()) {
            let column = line.len() - trimmed.len() + 1;
            problems.push(Diagnostic {
                file: CONFIG_FILE.into(),
                line: index + 1,
                column,
                message: format!(
                    "`{key}` holds a secret: do not write it in {CONFIG_FILE} (it ends up in git and in logs); put it in an environment variable and name the variable (`{key}_env = \"NAME\"` where the section has one)"
                ),
                source_line: Some(format!("{}{key} = …", &line[..column - 1])),
            });
        }
    }
    problems
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    Csv,
    Jsonl,
}

/// Frequency caps over all campaigns, per customer.
#[derive(Debug, Clone)]
pub struct GlobalCaps {
    pub max: Option<Rate>,
    pub min_gap: Option<TimeDelta>,
    pub on_cap: OnCap,
    pub quiet_hours: Option<QuietHours>,
}

/// What happens to a message a cap holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnCap {
    /// Not sent, recorded as skipped; the moment is gone.
    Skip,
    /// Recorded as deferred; a later run sends it when the cap allows (if the moment is still open).
    Defer,
}

/// Hours in the customer's time zone when nothing is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

#[derive(Debug, Clone)]
pub struct SendSettings {
    /// Messages per second over all campaigns in one process; `None` = unlimited.
    pub rate: Option<f64>,
    pub burst: u32,
    pub concurrency: usize,
    pub retries: u32,
    pub max_consecutive_failures: u32,
    /// Limits per recipient domain (`[send.domains]`), lowercase domain → limit.
    pub domains: BTreeMap<String, DomainLimit>,
}

/// How fast and how wide one recipient domain is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainLimit {
    /// Messages in delivery at once to the domain, at most.
    pub concurrency: Option<usize>,
    /// Messages per second started to the domain, at most (evenly spaced).
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportConfig {
    Outbox { dir: PathBuf },
    Smtp(SmtpConfig),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username_env: Option<String>,
    pub password_env: Option<String>,
    pub timeout: TimeDelta,
    /// `tls = "none"` to a host that is not loopback must be forced explicitly.
    pub allow_insecure: bool,
    pub hello_name: Option<String>,
    /// Extra trusted CA certificates (PEM file), for a relay with a private CA.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone)]
pub struct DkimConfig {
    pub domain: String,
    pub selector: String,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct RunSettings {
    pub on_overlap: OnOverlap,
    /// How long `on_overlap = "wait"` waits for the other run before giving up.
    pub wait_timeout: TimeDelta,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnOverlap {
    Wait,
    Exit,
}

#[derive(Debug, Clone, Default)]
pub struct PreviewSettings {
    /// Whether the preview server may send a test message.
    pub allow_test_send: bool,
    /// Addresses (or `@domain` suffixes) a test message may go to.
    pub test_recipients: Vec<String>,
}

// ---------------------------------------------------------------------------
// Raw shapes, exactly as written in xsell.toml.

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    shop: RawShop,
    sender: Option<RawSender>,
    #[serde(default)]
    unsubscribe: RawUnsubscribe,
    #[serde(default)]
    secrets: RawSecrets,
    #[serde(default)]
    data: RawData,
    #[serde(default)]
    caps: RawCaps,
    #[serde(default)]
    send: RawSend,
    #[serde(default)]
    transport: RawTransport,
    #[serde(default)]
    ledger: RawLedger,
    dkim: Option<RawDkim>,
    #[serde(default)]
    run: RawRun,
    #[serde(default)]
    preview: RawPreview,
    #[serde(default)]
    site: RawSite,
    templates: Option<String>,
    campaigns: Option<String>,
    placements: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSite {
    landing_url: Option<Spanned<String>>,
    api_key_env: Option<String>,
    #[serde(default)]
    cors_origins: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawShop {
    name: Option<String>,
    website: Option<String>,
    postal_address: Option<String>,
    timezone: Option<Spanned<String>>,
    default_currency: Option<Spanned<String>>,
    brand_color: Option<Spanned<String>>,
    brand_text_color: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSender {
    from: Spanned<String>,
    reply_to: Option<Spanned<String>>,
    return_path: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUnsubscribe {
    url: Option<Spanned<String>>,
    mailto: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSecrets {
    signing_key_env: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawData {
    catalog: Option<RawSource>,
    customers: Option<RawSource>,
    events: Option<RawSource>,
    max_bad_rows: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSource {
    path: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    format: Option<DataFormat>,
    #[serde(default)]
    columns: BTreeMap<Spanned<String>, String>,
    #[serde(default)]
    defaults: BTreeMap<Spanned<String>, toml::Value>,
    timestamp_format: Option<String>,
    timezone: Option<Spanned<String>>,
    default_currency: Option<Spanned<String>>,
    delimiter: Option<Spanned<String>>,
    #[serde(default)]
    skip_rows: Vec<Spanned<RawSkipRule>>,
    #[serde(default)]
    values: BTreeMap<Spanned<String>, BTreeMap<String, String>>,
    from_events: Option<Spanned<bool>>,
    timeout: Option<Spanned<String>>,
    attempts: Option<u32>,
    max_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSkipRule {
    column: String,
    prefix: Option<String>,
    empty: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCaps {
    max: Option<Spanned<String>>,
    min_gap: Option<Spanned<String>>,
    on_cap: Option<OnCap>,
    quiet_hours: Option<RawQuietHours>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuietHours {
    start: Spanned<String>,
    end: Spanned<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSend {
    rate: Option<f64>,
    burst: Option<u32>,
    concurrency: Option<usize>,
    retries: Option<u32>,
    max_consecutive_failures: Option<u32>,
    #[serde(default)]
    domains: BTreeMap<String, Spanned<DomainLimit>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTransport {
    kind: Option<Spanned<String>>,
    dir: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    tls: Option<TlsMode>,
    username_env: Option<String>,
    password_env: Option<String>,
    timeout: Option<Spanned<String>>,
    allow_insecure: Option<bool>,
    hello_name: Option<String>,
    ca_file: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLedger {
    path: Option<String>,
    url: Option<Spanned<String>>,
    password_env: Option<String>,
    busy_timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDkim {
    domain: String,
    selector: String,
    key_file: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRun {
    on_overlap: Option<OnOverlap>,
    wait_timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPreview {
    allow_test_send: Option<bool>,
    #[serde(default)]
    test_recipients: Vec<String>,
}

/// The fields each table knows; column maps and defaults may only name these.
pub const CATALOG_FIELDS: &[&str] = &[
    "id",
    "name",
    "category",
    "manufacturer",
    "price",
    "currency",
    "rating",
    "rating_count",
    "stock",
    "created_at",
    "url",
    "image_url",
    "family",
    "level",
    "compare_at_price",
    "prices",
];
pub const CUSTOMER_FIELDS: &[&str] = &[
    "id",
    "email",
    "first_name",
    "locale",
    "timezone",
    "tier",
    "consent",
    "created_at",
    "tags",
    "currency",
];
/// The last three are read only to build a catalog from the events (`[data.catalog] from_events = true`).
pub const EVENT_FIELDS: &[&str] = &[
    "ts",
    "customer_id",
    "kind",
    "product_id",
    "order_id",
    "quantity",
    "unit_price",
    "value",
    "metric",
    "gift",
    "product_name",
    "category",
    "manufacturer",
    "code",
];

impl Config {
    /// Reads `xsell.toml` in `root`.
    pub fn load(root: &Path) -> Result<Config, Diagnostics> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|error| {
            Diagnostic::file(
                CONFIG_FILE,
                format!("cannot read the workspace configuration: {error} (is `{}` an xsell workspace?)", root.display()),
            )
        })?;
        Config::parse(root, &text)
    }

    /// Checks the text of an `xsell.toml` whose folder is `root`.
    pub fn parse(root: &Path, text: &str) -> Result<Config, Diagnostics> {
        let secrets = typed_secrets(text);
        if !secrets.is_empty() {
            return Err(secrets);
        }
        let raw: RawConfig = toml::from_str(text).map_err(|error| {
            let offset = error.span().map_or(0, |span| span.start);
            Diagnostic::at_offset(
                CONFIG_FILE,
                text,
                offset,
                error.message().trim().to_string(),
            )
        })?;
        Checker {
            root,
            text,
            problems: Diagnostics::default(),
        }
        .check(raw)
    }
}

struct Checker<'a> {
    root: &'a Path,
    text: &'a str,
    problems: Diagnostics,
}

impl Checker<'_> {
    fn problem<T>(&mut self, spanned: &Spanned<T>, message: impl Into<String>) {
        self.problems.push(Diagnostic::at_offset(
            CONFIG_FILE,
            self.text,
            spanned.span().start,
            message,
        ));
    }

    fn site(&mut self, raw: RawSite, unsubscribe_url: &str) -> Site {
        let landing_url = match raw.landing_url {
            Some(url) if landing_route(url.get_ref()).is_some() => url.into_inner(),
            Some(url) => {
                self.problem(
                    &url,
                    "`site.landing_url` must be an https:// URL whose path ends with `/{token}`, e.g. `https://shop.example/p/{token}`",
                );
                String::new()
            }
            None => url::Url::parse(unsubscribe_url)
                .ok()
                .map(|u| format!("{}/p/{{token}}", u.origin().ascii_serialization()))
                .unwrap_or_default(),
        };
        Site {
            landing_url,
            api_key_env: raw
                .api_key_env
                .unwrap_or_else(|| "XSELL_API_KEY".to_string()),
            cors_origins: raw.cors_origins,
        }
    }

    fn path(&self, text: &str) -> PathBuf {
        self.root.join(text)
    }

    /// A data path, where `${NAME}` is replaced by the environment variable
    /// (so a workspace can point at data kept outside the repository).
    fn data_path(&mut self, text: &Spanned<String>) -> PathBuf {
        let expanded = self.expand_env(text, "path");
        self.path(&expanded)
    }

    /// `text` with each `${NAME}` replaced by the environment variable (a
    /// data URL's credentials live there, not in the file).
    fn expand_env(&mut self, text: &Spanned<String>, what: &str) -> String {
        let mut expanded = String::new();
        let mut rest = text.get_ref().as_str();
        while let Some(start) = rest.find("${") {
            expanded.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            let name = &rest[start + 2..start + end];
            match std::env::var(name) {
                Ok(value) => expanded.push_str(&value),
                Err(_) => self.problem(
                    text,
                    format!("environment variable `{name}` is not set (used in this {what})"),
                ),
            }
            rest = &rest[start + end + 1..];
        }
        expanded.push_str(rest);
        expanded
    }

    /// A CSS colour written `#rgb` or `#rrggbb` (it goes into a page's style).
    fn color(&mut self, value: Option<Spanned<String>>, default: &str) -> String {
        match value {
            None => default.to_string(),
            Some(text) => {
                let hex = text.get_ref().strip_prefix('#').unwrap_or("");
                if matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    text.into_inner()
                } else {
                    self.problem(
                        &text,
                        format!(
                            "invalid colour `{}`: expected `#rrggbb`, like `#1f3d36`",
                            text.get_ref()
                        ),
                    );
                    default.to_string()
                }
            }
        }
    }

    fn timezone(&mut self, value: Option<Spanned<String>>, default: Tz) -> Tz {
        match value {
            None => default,
            Some(name) => {
                match name.get_ref().parse::<Tz>() {
                    Ok(tz) => tz,
                    Err(_) => {
                        self.problem(&name, format!("unknown time zone `{}` (expected an IANA name like `Europe/Paris`)", name.get_ref()));
                        default
                    }
                }
            }
        }
    }

    fn duration(&mut self, value: Option<Spanned<String>>, default: TimeDelta) -> TimeDelta {
        match value {
            None => default,
            Some(text) => match units::parse_duration(text.get_ref()) {
                Ok(duration) => duration,
                Err(message) => {
                    self.problem(&text, message);
                    default
                }
            },
        }
    }

    fn currency(&mut self, value: Option<Spanned<String>>, default: &str) -> String {
        match value {
            None => default.to_string(),
            Some(code) if is_currency_code(code.get_ref()) => code.into_inner(),
            Some(code) => {
                self.problem(
                    &code,
                    format!(
                        "invalid currency `{}`: expected an ISO 4217 code like `USD` or `EUR`",
                        code.get_ref()
                    ),
                );
                default.to_string()
            }
        }
    }

    fn mailbox(&mut self, value: &Spanned<String>) -> Option<lettre::message::Mailbox> {
        match value.get_ref().parse() {
            Ok(mailbox) => Some(mailbox),
            Err(error) => {
                self.problem(
                    value,
                    format!("invalid address `{}`: {error}", value.get_ref()),
                );
                None
            }
        }
    }

    fn check(mut self, raw: RawConfig) -> Result<Config, Diagnostics> {
        let shop_timezone = self.timezone(raw.shop.timezone, Tz::UTC);
        let default_currency = self.currency(raw.shop.default_currency, "USD");
        let shop = Shop {
            name: raw.shop.name.unwrap_or_else(|| "Our shop".into()),
            website: raw
                .shop
                .website
                .unwrap_or_else(|| "https://shop.example".into()),
            postal_address: raw.shop.postal_address.unwrap_or_default(),
            timezone: shop_timezone,
            default_currency: default_currency.clone(),
            brand_color: self.color(raw.shop.brand_color, "#1f3d36"),
            brand_text_color: self.color(raw.shop.brand_text_color, "#ffffff"),
        };

        let sender = match raw.sender {
            Some(sender) => {
                let from = self.mailbox(&sender.from);
                let reply_to = sender.reply_to.as_ref().and_then(|r| self.mailbox(r));
                let return_path = sender.return_path.and_then(|text| {
                    let example = text.get_ref().replace("{token}", "QzAwMDAwMQ.abcdefghijk");
                    if text.get_ref().contains("{token}")
                        && example.parse::<lettre::Address>().is_ok()
                    {
                        Some(text.into_inner())
                    } else {
                        self.problem(&text, "`return_path` must be an address with `{token}` in its local part, like `bounces+{token}@shop.example`");
                        None
                    }
                });
                from.map(|from| Sender {
                    from,
                    reply_to,
                    return_path,
                })
            }
            None => {
                self.problems.push(Diagnostic::file(
                    CONFIG_FILE,
                    "missing `[sender]` with `from = \"Shop <hello@shop.example>\"`",
                ));
                None
            }
        };

        let unsubscribe = match raw.unsubscribe.url {
            Some(url)
                if url.get_ref().contains("{token}") && url.get_ref().starts_with("https://") =>
            {
                Unsubscribe {
                    url: url.into_inner(),
                    mailto: raw.unsubscribe.mailto,
                }
            }
            Some(url) => {
                self.problem(
                    &url,
                    "`unsubscribe.url` must be an https:// URL containing `{token}`",
                );
                Unsubscribe {
                    url: String::new(),
                    mailto: None,
                }
            }
            None => {
                self.problems.push(Diagnostic::file(
                    CONFIG_FILE,
                    "missing `[unsubscribe]` with `url = \"https://…/unsubscribe?token={token}\"`: every marketing message needs a working unsubscribe link",
                ));
                Unsubscribe {
                    url: String::new(),
                    mailto: None,
                }
            }
        };

        let secrets = Secrets {
            signing_key_env: raw
                .secrets
                .signing_key_env
                .unwrap_or_else(|| "XSELL_SECRET".into()),
        };

        let data = self.data(raw.data, &default_currency);
        let caps = self.caps(raw.caps);

        let mut send = SendSettings {
            rate: raw.send.rate.filter(|r| *r > 0.0),
            burst: raw.send.burst.unwrap_or(100).max(1),
            concurrency: raw.send.concurrency.unwrap_or(4).max(1),
            retries: raw.send.retries.unwrap_or(3),
            max_consecutive_failures: raw.send.max_consecutive_failures.unwrap_or(20).max(1),
            domains: BTreeMap::new(),
        };
        for (domain, limit) in raw.send.domains {
            let value = *limit.get_ref();
            let valid = value.concurrency.is_none_or(|n| n >= 1)
                && value.rate.is_none_or(|r| r > 0.0 && r.is_finite())
                && domain.contains('.')
                && !domain.contains('@');
            if valid {
                send.domains.insert(domain.to_ascii_lowercase(), value);
            } else {
                self.problem(
                    &limit,
                    format!("`send.domains.\"{domain}\"`: a domain such as \"gmail.com\" with `concurrency` of 1 or more and `rate` above 0 (messages per second)"),
                );
            }
        }

        let transport = self.transport(raw.transport);
        let ledger_path = self.path(raw.ledger.path.as_deref().unwrap_or("state/xsell.db"));
        let ledger_busy_timeout = self.duration(raw.ledger.busy_timeout, TimeDelta::minutes(1));
        let ledger_url = match raw.ledger.url {
            Some(url)
                if url.get_ref().starts_with("postgres://")
                    || url.get_ref().starts_with("postgresql://") =>
            {
                if url::Url::parse(url.get_ref()).is_ok_and(|u| u.password().is_some()) {
                    self.problem(
                        &url,
                        "`ledger.url` must not hold a password: name the environment variable that does with `password_env`",
                    );
                }
                Some(url.into_inner())
            }
            Some(url) => {
                self.problem(
                    &url,
                    "`ledger.url` must be a PostgreSQL URL: postgres://user@host:port/database",
                );
                None
            }
            None => None,
        };
        let ledger_password_env = raw.ledger.password_env;
        let dkim = raw.dkim.map(|d| DkimConfig {
            domain: d.domain,
            selector: d.selector,
            key_file: self.path(&d.key_file),
        });
        let run = RunSettings {
            on_overlap: raw.run.on_overlap.unwrap_or(OnOverlap::Wait),
            wait_timeout: self.duration(raw.run.wait_timeout, TimeDelta::minutes(10)),
        };
        let preview = PreviewSettings {
            allow_test_send: raw.preview.allow_test_send.unwrap_or(false),
            test_recipients: raw.preview.test_recipients,
        };
        let templates_dir = self.path(raw.templates.as_deref().unwrap_or("templates"));
        let campaigns_dir = self.path(raw.campaigns.as_deref().unwrap_or("campaigns"));
        let placements_dir = self.path(raw.placements.as_deref().unwrap_or("placements"));
        let site = self.site(raw.site, &unsubscribe.url);

        match (self.problems.is_empty(), sender) {
            (true, Some(sender)) => Ok(Config {
                root: self.root.to_path_buf(),
                shop,
                sender,
                unsubscribe,
                secrets,
                data,
                caps,
                send,
                transport,
                ledger_path,
                ledger_url,
                ledger_password_env,
                ledger_busy_timeout,
                dkim,
                run,
                preview,
                templates_dir,
                campaigns_dir,
                placements_dir,
                site,
            }),
            _ => {
                self.problems.0.sort_by_key(|p| (p.line, p.column));
                Err(self.problems)
            }
        }
    }

    fn data(&mut self, raw: RawData, default_currency: &str) -> DataConfig {
        DataConfig {
            catalog: self.source(
                "catalog",
                raw.catalog,
                "fixtures/catalog.csv",
                CATALOG_FIELDS,
                default_currency,
            ),
            customers: self.source(
                "customers",
                raw.customers,
                "fixtures/customers.csv",
                CUSTOMER_FIELDS,
                default_currency,
            ),
            events: self.source(
                "events",
                raw.events,
                "fixtures/events.csv",
                EVENT_FIELDS,
                default_currency,
            ),
            max_bad_rows: raw.max_bad_rows.unwrap_or(0),
        }
    }

    fn source(
        &mut self,
        table: &str,
        raw: Option<RawSource>,
        default_path: &str,
        fields: &[&str],
        shop_currency: &str,
    ) -> SourceConfig {
        let raw = raw.unwrap_or_default();
        let location = match (raw.path, raw.url) {
            (Some(_), Some(url)) => {
                self.problem(
                    &url,
                    format!("`data.{table}` has both `path` and `url`: give one"),
                );
                SourceLocation::default()
            }
            (_, Some(url)) => {
                let text = self.expand_env(&url, "URL");
                if text.starts_with("http://") || text.starts_with("https://") {
                    SourceLocation::Url(text)
                } else {
                    self.problem(
                        &url,
                        format!("`data.{table}.url` must start with http:// or https://"),
                    );
                    SourceLocation::default()
                }
            }
            (Some(path), None) => SourceLocation::File(self.data_path(&path)),
            (None, None) => SourceLocation::File(self.path(default_path)),
        };
        let mut columns = BTreeMap::new();
        for (field, column) in raw.columns {
            if fields.contains(&field.get_ref().as_str()) {
                columns.insert(field.into_inner(), column);
            } else {
                self.problem(
                    &field,
                    unknown_field_message(table, field.get_ref(), fields),
                );
            }
        }
        let mut defaults = BTreeMap::new();
        for (field, value) in raw.defaults {
            if !fields.contains(&field.get_ref().as_str()) {
                self.problem(
                    &field,
                    unknown_field_message(table, field.get_ref(), fields),
                );
                continue;
            }
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Datetime(d) => d.to_string(),
                other => {
                    self.problem(
                        &field,
                        format!(
                            "default for `{}` must be a string, number or boolean, not {}",
                            field.get_ref(),
                            other.type_str()
                        ),
                    );
                    continue;
                }
            };
            defaults.insert(field.into_inner(), value);
        }
        if fields.contains(&"currency") {
            let currency = self.currency(raw.default_currency, shop_currency);
            defaults.entry("currency".to_string()).or_insert(currency);
        } else if let Some(given) = raw.default_currency {
            self.problem(&given, format!("`default_currency` does not apply to {table} (prices in events are in the customer's currency)"));
        }
        let delimiter = match raw.delimiter {
            None => b',',
            Some(text) => match text.get_ref().as_bytes() {
                [byte] => *byte,
                _ => {
                    self.problem(
                        &text,
                        "`delimiter` must be a single character, like \",\" or \";\"",
                    );
                    b','
                }
            },
        };
        let mut skip_rows = Vec::new();
        for rule in raw.skip_rows {
            let span = rule.span();
            let rule = rule.into_inner();
            if rule.prefix.is_none() && rule.empty != Some(true) {
                self.problems.push(Diagnostic::at_offset(
                    CONFIG_FILE,
                    self.text,
                    span.start,
                    "a skip_rows rule needs `prefix = \"…\"` or `empty = true`",
                ));
            }
            skip_rows.push(SkipRule {
                column: rule.column,
                prefix: rule.prefix,
                empty: rule.empty.unwrap_or(false),
            });
        }
        let mut values = BTreeMap::new();
        for (field, map) in raw.values {
            if fields.contains(&field.get_ref().as_str()) {
                values.insert(field.into_inner(), map);
            } else {
                self.problem(
                    &field,
                    unknown_field_message(table, field.get_ref(), fields),
                );
            }
        }
        let from_events = match raw.from_events {
            Some(flag) if *flag.get_ref() && table == "events" => {
                self.problem(
                    &flag,
                    "`from_events` applies to catalog and customers, not to events",
                );
                false
            }
            Some(flag) => flag.into_inner(),
            None => false,
        };
        SourceConfig {
            location,
            format: raw.format,
            columns,
            defaults,
            timestamp_format: raw.timestamp_format,
            timezone: self.timezone(raw.timezone, Tz::UTC),
            delimiter,
            skip_rows,
            values,
            from_events,
            timeout: self.duration(raw.timeout, TimeDelta::seconds(30)),
            attempts: raw.attempts.unwrap_or(3).max(1),
            max_bytes: raw.max_bytes.unwrap_or(DEFAULT_MAX_BYTES).max(1),
        }
    }

    fn caps(&mut self, raw: RawCaps) -> GlobalCaps {
        let max = raw
            .max
            .and_then(|text| match units::parse_rate(text.get_ref()) {
                Ok(rate) => Some(rate),
                Err(message) => {
                    self.problem(&text, message);
                    None
                }
            });
        let min_gap = raw
            .min_gap
            .map(|text| self.duration(Some(text), TimeDelta::zero()));
        let quiet_hours = raw.quiet_hours.and_then(|q| {
            let start = units::parse_time_of_day(q.start.get_ref());
            let end = units::parse_time_of_day(q.end.get_ref());
            match (start, end) {
                (Ok(start), Ok(end)) => Some(QuietHours { start, end }),
                (Err(message), _) => {
                    self.problem(&q.start, message);
                    None
                }
                (_, Err(message)) => {
                    self.problem(&q.end, message);
                    None
                }
            }
        });
        GlobalCaps {
            max,
            min_gap,
            on_cap: raw.on_cap.unwrap_or(OnCap::Skip),
            quiet_hours,
        }
    }

    fn transport(&mut self, raw: RawTransport) -> TransportConfig {
        let kind = raw.kind.as_ref().map_or("outbox", |k| k.get_ref().as_str());
        match kind {
            "outbox" => TransportConfig::Outbox {
                dir: self.path(raw.dir.as_deref().unwrap_or("outbox")),
            },
            "smtp" => TransportConfig::Smtp(SmtpConfig {
                host: raw.host.unwrap_or_else(|| "127.0.0.1".into()),
                port: raw.port.unwrap_or(25),
                tls: raw.tls.unwrap_or(TlsMode::Starttls),
                username_env: raw.username_env,
                password_env: raw.password_env,
                timeout: self.duration(raw.timeout, TimeDelta::seconds(30)),
                allow_insecure: raw.allow_insecure.unwrap_or(false),
                hello_name: raw.hello_name,
                ca_file: raw.ca_file.map(|f| self.path(&f)),
            }),
            other => {
                let message = format!("unknown transport `{other}`: expected `outbox` or `smtp`");
                if let Some(kind) = &raw.kind {
                    self.problem(kind, message);
                }
                TransportConfig::Outbox {
                    dir: self.path("outbox"),
                }
            }
        }
    }
}

fn unknown_field_message(table: &str, field: &str, fields: &[&str]) -> String {
    format!(
        "`{field}` is not a field of {table}; expected one of: {}",
        fields.join(", ")
    )
}

/// An ISO 4217 code (`USD`, `EUR`, `JPY`), not just three capitals (`XYZ`).
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && iso_currency::Currency::from_code(code).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[sender]
from = "Demo Shop <hello@shop.example>"
[unsubscribe]
url = "https://shop.example/unsubscribe?token={token}"
"#;

    #[test]
    fn domain_limits_and_the_landing_url_are_read_and_bad_ones_located() {
        let config = Config::parse(
            Path::new("/ws"),
            &format!(
                "{MINIMAL}\n[send.domains]\n\"Gmail.com\" = {{ concurrency = 4, rate = 50 }}\n"
            ),
        )
        .unwrap();
        assert_eq!(
            config.send.domains["gmail.com"],
            DomainLimit {
                concurrency: Some(4),
                rate: Some(50.0)
            }
        );
        // Default landing page: the unsubscribe URL's origin.
        assert!(
            config.site.landing_url.ends_with("/p/{token}"),
            "{}",
            config.site.landing_url
        );
        let bad = Config::parse(
            Path::new("/ws"),
            &format!("{MINIMAL}\n[send.domains]\n\"gmail.com\" = {{ concurrency = 0 }}\n"),
        )
        .unwrap_err();
        let text = bad.to_string();
        assert!(text.contains("send.domains.\"gmail.com\""), "{text}");
        assert!(text.contains("xsell.toml:"), "{text}");
        let bad = Config::parse(
            Path::new("/ws"),
            &format!("{MINIMAL}\n[site]\nlanding_url = \"https://shop.example/p?t={{token}}\"\n"),
        )
        .unwrap_err();
        assert!(bad.to_string().contains("site.landing_url"), "{bad}");
        assert_eq!(
            landing_route("https://shop.example/more/{token}").as_deref(),
            Some("/more/{token}")
        );
        assert_eq!(landing_route("http://shop.example/p/{token}"), None);
    }

    #[test]
    fn a_minimal_config_gets_sensible_defaults() {
        let config = Config::parse(Path::new("/ws"), MINIMAL).unwrap();
        assert_eq!(
            config.transport,
            TransportConfig::Outbox {
                dir: PathBuf::from("/ws/outbox")
            }
        );
        assert_eq!(config.ledger_path, PathBuf::from("/ws/state/xsell.db"));
        assert_eq!(
            config.data.events.location,
            SourceLocation::File(PathBuf::from("/ws/fixtures/events.csv"))
        );
        assert_eq!(
            config
                .data
                .customers
                .defaults
                .get("currency")
                .map(String::as_str),
            Some("USD")
        );
        assert_eq!(config.caps.on_cap, OnCap::Skip);
    }

    #[test]
    fn unknown_keys_are_reported_with_their_position() {
        let text = format!("{MINIMAL}[caps]\nmax = \"2/7d\"\nmax_per_day = 3\n");
        let problems = Config::parse(Path::new("/ws"), &text).unwrap_err();
        assert_eq!(problems.len(), 1);
        let problem = &problems.0[0];
        assert_eq!((problem.line, problem.column), (8, 1));
        assert!(
            problem.message.starts_with("unknown field `max_per_day`"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn every_checked_problem_is_reported() {
        let text = format!(
            "{MINIMAL}[shop]\ntimezone = \"Mars/Olympus\"\n[caps]\nmax = \"2 per week\"\n[data.events]\ncolumns = {{ when = \"InvoiceDate\" }}\n"
        );
        let problems = Config::parse(Path::new("/ws"), &text).unwrap_err();
        let messages: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.location(), p.message))
            .collect();
        assert_eq!(
            messages,
            vec![
                "xsell.toml:7:12: unknown time zone `Mars/Olympus` (expected an IANA name like `Europe/Paris`)".to_string(),
                "xsell.toml:9:7: invalid cap `2 per week`: expected `<count>/<duration>`, like `2/7d`".to_string(),
                "xsell.toml:11:13: `when` is not a field of events; expected one of: ts, customer_id, kind, product_id, order_id, quantity, unit_price, value, metric, gift, product_name, category, manufacturer, code".to_string(),
            ]
        );
    }
}
