//! The workspace's templates (`templates/**/*.mjml`, Tera inside MJML): read
//! once, compiled into one Tera environment per campaign, and their errors
//! reported at file, line and column.
//!
//! **Components.** `templates/components/<name>.mjml` defines the component
//! `<name>` (`{% component <name>(…) %}…{% endcomponent <name> %}`); Tera
//! makes every component visible to every template. A campaign replaces one
//! with `components: { product_card: overrides/spring_card.mjml }`: its
//! environment loads that file instead of `components/product_card.mjml`.
//! Override files are loaded only for the campaigns that name them.
//!
//! The subject and preheader of a campaign are templates of its environment
//! too (without HTML escaping); their errors point into the campaign file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::campaign::Campaign;
use crate::diagnostic::{Diagnostic, Diagnostics, display_path};

/// Name of a campaign's subject template in its environment.
pub const SUBJECT: &str = "campaign:subject";
/// Name of a campaign's preheader template in its environment.
pub const PREHEADER: &str = "campaign:preheader";

/// The template files of a workspace, read once: name (relative to the
/// templates folder, `/`-separated) → text with `\n` line ends.
#[derive(Debug, Clone, Default)]
pub struct TemplateSources {
    /// The templates folder as shown in messages (`templates`).
    pub dir: PathBuf,
    /// The folder itself, where `<mj-include>` reads (None for texts given in memory).
    pub location: Option<PathBuf>,
    files: BTreeMap<String, String>,
}

impl TemplateSources {
    /// Reads every template under `dir`; unreadable files are reported.
    pub fn read(dir: &Path, root: &Path) -> (TemplateSources, Diagnostics) {
        let mut problems = Diagnostics::default();
        let mut files = BTreeMap::new();
        for (name, path) in template_files(dir) {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    files.insert(name, normalise_line_ends(&text));
                }
                Err(error) => problems.push(Diagnostic::file(
                    display_path(root, &path),
                    format!("cannot read: {error}"),
                )),
            }
        }
        let sources = TemplateSources {
            dir: display_path(root, dir),
            location: Some(dir.to_path_buf()),
            files,
        };
        (sources, problems)
    }

    /// Templates given as texts (tests, previews of unsaved edits).
    pub fn from_texts<N: Into<String>, T: AsRef<str>>(
        dir: impl Into<PathBuf>,
        files: impl IntoIterator<Item = (N, T)>,
    ) -> TemplateSources {
        TemplateSources {
            dir: dir.into(),
            location: None,
            files: files
                .into_iter()
                .map(|(name, text)| (name.into(), normalise_line_ends(text.as_ref())))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// How a template is named in messages: `templates/components/price.mjml`.
    pub fn display(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The files a campaign's environment loads: every template but the
    /// other campaigns' own templates (unless a template names them, to
    /// extend or include them) and the override files of any campaign, with
    /// this campaign's overrides in place of the components they replace.
    /// (So a broken template breaks only its campaigns.)
    pub fn files_for(&self, campaign: &Campaign, others: &Others) -> Vec<&str> {
        let replaced: BTreeSet<String> = campaign
            .components
            .keys()
            .map(|component| component_file(component))
            .collect();
        let mut files: Vec<&str> = self
            .names()
            .filter(|name| {
                *name == campaign.template
                    || !(others.overrides.contains(*name)
                        || (others.templates.contains(*name) && !self.is_named(name))
                        || replaced.contains(*name))
            })
            .collect();
        for file in campaign.components.values() {
            if !files.contains(&file.as_str())
                && let Some((name, _)) = self.files.get_key_value(file)
            {
                files.push(name);
            }
        }
        files
    }
}

impl TemplateSources {
    /// Whether some template names `name` in quotes (`{% extends "name" %}`).
    fn is_named(&self, name: &str) -> bool {
        let (double, single) = (format!("\"{name}\""), format!("'{name}'"));
        self.files
            .values()
            .any(|text| text.contains(&double) || text.contains(&single))
    }
}

/// The file that defines a component by default.
pub fn component_file(component: &str) -> String {
    format!("components/{component}.mjml")
}

/// The files campaigns name: their templates and component overrides.
#[derive(Debug, Default)]
pub struct Others {
    pub templates: BTreeSet<String>,
    pub overrides: BTreeSet<String>,
}

impl Others {
    pub fn of(campaigns: &[Campaign]) -> Others {
        let all = || {
            campaigns
                .iter()
                .flat_map(|c| std::iter::once(c).chain(c.variants.iter().map(|v| &v.campaign)))
        };
        Others {
            templates: all().map(|c| c.template.clone()).collect(),
            overrides: all().flat_map(|c| c.components.values().cloned()).collect(),
        }
    }
}

fn normalise_line_ends(text: &str) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_string()
    }
}

/// Every template file under `dir`, as (name relative to `dir` with `/`, path).
pub fn template_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|x| x == "mjml" || x == "txt" || x == "html")
            {
                let name = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                found.push((name, path));
            }
        }
    }
    found.sort();
    found
}

/// A Tera error as diagnostics at the lines they are about: in template
/// files, or in the campaign file for its subject and preheader. (Tera
/// reports every unknown filter, component… of a build at once, as text.)
pub fn tera_problems(
    error: &tera::Error,
    sources: &TemplateSources,
    campaign: Option<&Campaign>,
) -> Diagnostics {
    let mut problems = Diagnostics::default();
    match error.kind() {
        tera::ErrorKind::SyntaxError(report) | tera::ErrorKind::RenderingError(report) => {
            let span = report.span();
            problems.push(located(
                report.filename(),
                span.start_line,
                span.start_col + 1,
                report_message(report, error),
                sources,
                campaign,
            ));
        }
        _ => {
            let text = error_chain(error);
            let reports = parse_reports(&text);
            if reports.is_empty() {
                match missing_template_at(&text, sources) {
                    Some((name, line, column)) => {
                        problems.push(located(&name, line, column, text, sources, campaign));
                    }
                    None => {
                        let file = campaign
                            .map_or_else(|| sources.dir.clone(), |c| sources.display(&c.template));
                        problems.push(Diagnostic::file(file, text));
                    }
                }
            }
            for (message, file, line, column) in reports {
                problems.push(located(&file, line, column, message, sources, campaign));
            }
        }
    }
    problems
}

/// The first of [`tera_problems`].
pub fn tera_problem(
    error: &tera::Error,
    sources: &TemplateSources,
    campaign: Option<&Campaign>,
) -> Diagnostic {
    let mut problems = tera_problems(error, sources, campaign).0;
    problems.remove(0)
}

/// Where a template names one that does not exist (`{% extends "…" %}`,
/// `{% include "…" %}`), which Tera reports without a position: the
/// template, and the line and column of the quoted name in it.
fn missing_template_at(text: &str, sources: &TemplateSources) -> Option<(String, usize, usize)> {
    let quoted = |from: usize| -> Option<&str> {
        let rest = &text[from..];
        let start = rest.find('\'')? + 1;
        let end = rest[start..].find('\'')?;
        Some(&rest[start..start + end])
    };
    let template = quoted(text.find("Template ")?)?;
    let missing = quoted(text.find("from ").or_else(|| text.find("include "))?)?;
    let source = sources.files.get(template)?;
    for (index, line) in source.lines().enumerate() {
        for quote in ['"', '\''] {
            if let Some(at) = line.find(&format!("{quote}{missing}{quote}")) {
                return Some((
                    template.to_string(),
                    index + 1,
                    line[..at].chars().count() + 1,
                ));
            }
        }
    }
    None
}

/// Tera's text reports (`error: msg\n --> file:line:col`) as (message, file, line, column).
fn parse_reports(text: &str) -> Vec<(String, String, usize, usize)> {
    let mut found = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(message) = line.strip_prefix("error: ") else {
            continue;
        };
        let Some(place) = lines
            .peek()
            .and_then(|l| l.trim_start().strip_prefix("--> "))
        else {
            continue;
        };
        let mut pieces = place.rsplitn(3, ':');
        let (Some(column), Some(line), Some(file)) = (pieces.next(), pieces.next(), pieces.next())
        else {
            continue;
        };
        if let (Ok(line), Ok(column)) = (line.parse(), column.parse()) {
            found.push((message.to_string(), file.to_string(), line, column));
        }
    }
    found
}

/// A diagnostic at `line:column` (1-based) of the template `name`, which may
/// be a campaign's subject or preheader.
fn located(
    name: &str,
    line: usize,
    column: usize,
    message: String,
    sources: &TemplateSources,
    campaign: Option<&Campaign>,
) -> Diagnostic {
    let message = super::merge_tags::hint(&message).unwrap_or(message);
    let field = match name {
        SUBJECT => campaign.map(|c| (c, c.file.subject_at)),
        PREHEADER => campaign.map(|c| (c, c.file.preheader_at)),
        _ => None,
    };
    if let Some((campaign, (field_line, field_column))) = field {
        let text = &campaign.file.text;
        let quoted = text
            .lines()
            .nth(field_line.saturating_sub(1))
            .and_then(|l| l.chars().nth(field_column.saturating_sub(1)))
            .is_some_and(|c| c == '"' || c == '\'');
        let (line, column) = if line <= 1 {
            (field_line, field_column + usize::from(quoted) + column - 1)
        } else {
            (field_line + line - 1, column)
        };
        return Diagnostic::at(&campaign.file.path, text, line, column, message);
    }
    match sources.get(name) {
        Some(text) => Diagnostic::at(sources.display(name), text, line, column, message),
        None => Diagnostic::file(sources.display(name), message),
    }
}

/// The report's own message, plus the cause a filter or function gave.
fn report_message(report: &tera::ReportError, error: &tera::Error) -> String {
    let mut message = report.message().to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
