//! Campaign files (`campaigns/*.yaml`): parsed with line and column
//! positions and input budgets ([`raw`]), then checked once into typed
//! campaigns ([`checked`]) by [`check`].

pub mod check;
pub mod checked;
pub mod raw;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use check::CheckContext;
pub use checked::*;

use crate::diagnostic::{Diagnostic, Diagnostics, display_path};

/// A campaign file larger than this is refused before parsing.
pub const MAX_CAMPAIGN_BYTES: usize = 256 * 1024;

/// Limits that stop YAML bombs (alias expansion, deep nesting, huge documents).
/// A campaign is a small hand-written file; these are far above any real one.
fn yaml_budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 50_000;
    budget.max_aliases = 32;
    budget.max_anchors = 32;
    budget.max_depth = 24;
    budget.max_documents = 1;
    budget.max_nodes = 20_000;
    budget.max_total_scalar_bytes = MAX_CAMPAIGN_BYTES;
    budget.max_merge_keys = 32;
    budget
}

/// Parses the text of one campaign file (syntax and shape only).
pub fn parse(display: &Path, text: &str) -> Result<raw::RawCampaign, Diagnostic> {
    parse_yaml(display, text, "campaign")
}

/// Parses a hand-written YAML file (a campaign, a placement) into its raw
/// shape, within the same budgets; `what` names the kind of file in errors.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    display: &Path,
    text: &str,
    what: &str,
) -> Result<T, Diagnostic> {
    if text.len() > MAX_CAMPAIGN_BYTES {
        return Err(Diagnostic::file(
            display,
            format!(
                "{what} file is {} bytes; the limit is {MAX_CAMPAIGN_BYTES}",
                text.len()
            ),
        ));
    }
    // The whole text is measured first, so a bomb is refused even where the
    // typed parse would have stopped early on another error.
    let budget = serde_saphyr::budget::check_yaml_budget(
        text,
        yaml_budget(),
        serde_saphyr::budget::EnforcingPolicy::AllContent,
    );
    if let Ok(report) = &budget
        && let Some(breach) = &report.breached
    {
        let message = format!("refused: {}", budget_message(breach));
        return Err(match breach_offset(text, breach) {
            Some(offset) => Diagnostic::at_offset(display, text, offset, message),
            None => Diagnostic::file(display, message),
        });
    }
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(yaml_budget());
    serde_saphyr::from_str_with_options(text, options)
        .map_err(|error| yaml_diagnostic(display, text, &error))
}

/// Where a budget was breached, for the aliases, anchors and documents
/// budgets: the first `*name`, `&name` or `---` past the limit (outside
/// quotes and comments). The budget check itself reports no position.
fn breach_offset(text: &str, breach: &serde_saphyr::budget::BudgetBreach) -> Option<usize> {
    use serde_saphyr::budget::BudgetBreach::*;
    let budget = yaml_budget();
    let (marker, limit) = match breach {
        Aliases { .. } | AliasAnchorRatio { .. } => ('*', budget.max_aliases),
        Anchors { .. } => ('&', budget.max_anchors),
        Documents { .. } => {
            return text
                .match_indices("---")
                .filter(|(at, _)| *at == 0 || text.as_bytes()[at - 1] == b'\n')
                .nth(budget.max_documents)
                .map(|(at, _)| at);
        }
        _ => return None,
    };
    let mut seen = 0;
    let mut quote: Option<char> = None;
    let mut previous = '\n';
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && (previous.is_whitespace()) => {
                while chars.peek().is_some_and(|(_, c)| *c != '\n') {
                    chars.next();
                }
            }
            None if c == marker
                && (previous.is_whitespace()
                    || matches!(previous, '[' | '{' | ',' | ':' | '-'))
                && chars
                    .peek()
                    .is_some_and(|(_, n)| n.is_alphanumeric() || *n == '_') =>
            {
                seen += 1;
                if seen > limit {
                    return Some(at);
                }
            }
            None => {}
        }
        previous = c;
    }
    None
}

fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach::*;
    let budget = yaml_budget();
    match breach {
        Aliases { .. } | AliasAnchorRatio { .. } => format!(
            "more than {} YAML aliases (`*name`): anchors and aliases are limited so a file cannot expand into a \"billion laughs\" bomb",
            budget.max_aliases
        ),
        Anchors { .. } => format!("more than {} YAML anchors (`&name`)", budget.max_anchors),
        Depth { .. } => format!("nested more than {} levels deep", budget.max_depth),
        Documents { .. } => {
            "more than one YAML document (`---`): write one campaign per file".to_string()
        }
        Nodes { .. } | Events { .. } => format!(
            "more than {} YAML values: a campaign is a short file",
            budget.max_nodes
        ),
        ScalarBytes { .. } => format!("more than {MAX_CAMPAIGN_BYTES} bytes of text"),
        MergeKeys { .. } => format!("more than {} merge keys (`<<`)", budget.max_merge_keys),
        other => format!("YAML input budget exceeded ({other:?})"),
    }
}

fn yaml_diagnostic(display: &Path, text: &str, error: &serde_saphyr::Error) -> Diagnostic {
    let plain = error.without_snippet();
    let message = yaml_message(plain);
    match plain.location() {
        Some(location) if location.line() > 0 => Diagnostic::at(
            display,
            text,
            location.line() as usize,
            location.column() as usize,
            message,
        ),
        _ => Diagnostic::file(display, message),
    }
}

/// The error text without the position the YAML library appends (we print our
/// own), and in words a marketer knows where serde's are cryptic.
fn yaml_message(error: &serde_saphyr::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" at line ") {
        Some(index) => text[..index].to_string(),
        None => text,
    };
    let text = text.trim().trim_end_matches('.');
    if text.contains("untagged enum RawScope") {
        return "invalid scope: expected one of catalog, most_represented_category, visited_category, last_viewed_category, trigger_category, visited_manufacturer, or `{ categories: [...] }` / `{ manufacturers: [...] }`".to_string();
    }
    if text.contains("untagged enum RawAmount") {
        return "invalid amount: expected a number like `5`, or one per currency like `{ USD: 5, EUR: 5 }`".to_string();
    }
    if text.contains("untagged enum BoolOrText") {
        return "expected true, false, or a duration like `90d`".to_string();
    }
    if let Some(kind) = text
        .strip_prefix("invalid ")
        .filter(|k| matches!(*k, "u8" | "u16" | "u32" | "u64" | "usize"))
    {
        let _ = kind;
        return "expected a whole number (0 or more)".to_string();
    }
    if text.contains("expected a Decimal type") {
        return "expected a number like `15` or `4.99`".to_string();
    }
    text.to_string()
}

/// Reads, parses and checks one campaign file.
pub fn load_file(
    path: &Path,
    root: &Path,
    context: &CheckContext<'_>,
) -> Result<Campaign, Diagnostics> {
    let display = display_path(root, path);
    let text = std::fs::read_to_string(path)
        .map_err(|error| Diagnostic::file(&display, format!("cannot read: {error}")))?;
    let text: Arc<str> = Arc::from(text);
    let raw = parse(&display, &text)?;
    check::check_campaign(raw, &display, &text, context)
}

/// The campaign files of a folder (`*.yaml`, `*.yml`), sorted by name.
pub fn campaign_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    yaml_files(dir, "campaigns")
}

/// The YAML files of a folder (`*.yaml`, `*.yml`), sorted by name; `what`
/// names the folder in errors.
pub fn yaml_files(dir: &Path, what: &str) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|error| {
        Diagnostic::file(dir, format!("cannot read the {what} folder: {error}"))
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// The campaign with this id, or whose file is named so (without `.yaml`).
pub fn find<'a>(campaigns: &'a [Campaign], id: &str) -> Option<&'a Campaign> {
    campaigns
        .iter()
        .find(|c| c.id == id || c.file.path.file_stem().is_some_and(|s| s == id))
}

/// Loads every campaign in `dir`; returns those that passed and every problem found.
pub fn load_all(
    dir: &Path,
    root: &Path,
    context: &CheckContext<'_>,
) -> (Vec<Campaign>, Diagnostics) {
    let mut campaigns: Vec<Campaign> = Vec::new();
    let mut problems = Diagnostics::default();
    let files = match campaign_files(dir) {
        Ok(files) => files,
        Err(problem) => return (campaigns, problem.into()),
    };
    for path in files {
        match load_file(&path, root, context) {
            Ok(campaign) => {
                if let Some(other) = campaigns.iter().find(|c| c.id == campaign.id) {
                    problems.push(Diagnostic::at(
                        &campaign.file.path,
                        &campaign.file.text,
                        1,
                        1,
                        format!(
                            "campaign id `{}` is also used by {}",
                            campaign.id,
                            other.file.path.display()
                        ),
                    ));
                } else {
                    campaigns.push(campaign);
                }
            }
            Err(found) => problems.extend(found),
        }
    }
    (campaigns, problems)
}
