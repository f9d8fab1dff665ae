//! MJML → HTML with mrml (in process), and the one change we make to its
//! output: line breaks.
//!
//! mrml writes most of a message on a few lines of up to ~8,500 characters.
//! SMTP allows 998 octets per line, so such a body would have to be sent
//! quoted-printable — re-encoding 35 KB for every recipient. Instead,
//! [`break_lines`] starts a new line before structural tags (`<table`,
//! `<tr`, `<td`, `<div`, `<!--`, …) when they directly follow another tag.
//! Whitespace there is insignificant: it sits between table rows and cells,
//! between blocks, or between the inline-block columns of a section whose
//! font size mrml sets to 0 — which is also where MJML's own output has
//! line breaks. Lines then stay short and the body goes out as 8-bit text.

use mrml::prelude::parser::{Error as ParseError, Warning, WarningKind};
use mrml::prelude::render::RenderOptions;

/// A problem mrml found, at a byte offset of the MJML it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MjmlProblem {
    pub offset: usize,
    pub message: String,
}

/// Converts MJML with mrml, in-process.
#[derive(Default)]
pub struct Converter {
    options: RenderOptions,
    /// Where `<mj-include path="…">` finds its files (the templates folder,
    /// canonical); None: includes are refused.
    includes: Option<std::path::PathBuf>,
}

impl Converter {
    /// A converter whose `<mj-include>`s read files inside `templates_dir`.
    pub fn with_includes(templates_dir: &std::path::Path) -> Converter {
        Converter {
            options: RenderOptions::default(),
            includes: templates_dir.canonicalize().ok(),
        }
    }

    fn parse(
        &self,
        mjml: &str,
    ) -> Result<mrml::prelude::parser::ParseOutput<mrml::mjml::Mjml>, ParseError> {
        match &self.includes {
            None => mrml::parse(mjml),
            Some(dir) => {
                let options = mrml::prelude::parser::ParserOptions {
                    include_loader: Box::new(
                        mrml::prelude::parser::local_loader::LocalIncludeLoader::new(dir.clone()),
                    ),
                };
                mrml::parse_with_options(mjml, &options)
            }
        }
    }

    /// The HTML for `mjml` (mrml's output as is; see [`break_lines`]).
    pub fn html(&self, mjml: &str) -> Result<String, MjmlProblem> {
        let parsed = self.parse(mjml).map_err(|error| problem(mjml, &error))?;
        parsed
            .element
            .render(&self.options)
            .map_err(|error| MjmlProblem {
                offset: 0,
                message: format!("MJML cannot be rendered: {error}"),
            })
    }

    /// mrml's warnings about `mjml` (unknown attributes…) and elements mrml
    /// does not know (it would pass `<mj-colum>` through as HTML), or its error.
    pub fn warnings(&self, mjml: &str) -> Result<Vec<MjmlProblem>, MjmlProblem> {
        let parsed = self.parse(mjml).map_err(|error| problem(mjml, &error))?;
        let mut warnings: Vec<MjmlProblem> = parsed
            .warnings
            .iter()
            .filter(|warning| !accepted_by_mjml(mjml, warning))
            .map(|warning| warning_problem(mjml, warning))
            .collect();
        warnings.extend(unknown_elements(mjml));
        warnings.sort_by_key(|w| w.offset);
        Ok(warnings)
    }
}

/// At most a line of `mjml` around `start..end`, for messages.
fn snippet(mjml: &str, start: usize, end: usize) -> String {
    let start = floor_boundary(mjml, start.min(mjml.len()));
    let end = floor_boundary(mjml, end.clamp(start, mjml.len()));
    let text = mjml[start..end].lines().next().unwrap_or_default().trim();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(60).collect();
        format!("{cut}…")
    } else {
        text.to_string()
    }
}

fn floor_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn problem(mjml: &str, error: &ParseError) -> MjmlProblem {
    // mrml's spans may start after the `<` of a tag.
    let at = |span: &mrml::prelude::parser::Span, message: String| MjmlProblem {
        offset: if span.start > 0 && mjml.as_bytes().get(span.start - 1) == Some(&b'<') {
            span.start - 1
        } else {
            span.start
        },
        message,
    };
    match error {
        ParseError::UnexpectedElement { position, .. } => {
            let name = snippet(mjml, position.start, position.end);
            let name = name.trim_start_matches('<');
            at(
                position,
                format!("MJML: unexpected element `<{name}>` here"),
            )
        }
        ParseError::UnexpectedToken { position, .. } => at(
            position,
            format!(
                "MJML: unexpected `{}` here",
                snippet(mjml, position.start, position.end)
            ),
        ),
        ParseError::MissingAttribute { name, position, .. } => at(
            position,
            format!("MJML: this element needs the attribute `{name}`"),
        ),
        ParseError::InvalidAttribute { position, .. } => at(
            position,
            format!(
                "MJML: invalid attribute `{}`",
                snippet(mjml, position.start, position.end)
            ),
        ),
        ParseError::InvalidFormat { position, .. } => at(
            position,
            format!(
                "MJML: invalid value `{}`",
                snippet(mjml, position.start, position.end)
            ),
        ),
        ParseError::EndOfStream { .. } => unclosed(mjml).unwrap_or_else(|| MjmlProblem {
            offset: mjml.trim_end().len(),
            message: "MJML: the document ends before every element is closed".to_string(),
        }),
        ParseError::SizeLimit { .. } => MjmlProblem {
            offset: 0,
            message: "MJML: the document is too large".to_string(),
        },
        ParseError::ParserError { source, .. } => {
            let text = source.to_string();
            MjmlProblem {
                offset: parser_error_offset(mjml, &text).unwrap_or(0),
                message: format!("MJML: malformed markup ({text})"),
            }
        }
        ParseError::NoRootNode => MjmlProblem {
            offset: 0,
            message: "MJML: the template must have an <mjml> root element".to_string(),
        },
        ParseError::IncludeLoaderError {
            position, source, ..
        } => at(
            position,
            format!(
                "MJML: this <mj-include> cannot be read ({source}); its path is relative to the templates folder and must stay inside it"
            ),
        ),
    }
}

/// htmlparser reports `… at row:col …` (1-based, columns in characters) in
/// its message; turn that into a byte offset.
fn parser_error_offset(mjml: &str, message: &str) -> Option<usize> {
    let (_, after) = message.split_once(" at ")?;
    let position = after.split_whitespace().next()?;
    let (row, col) = position.split_once(':')?;
    let (row, col): (usize, usize) = (row.parse().ok()?, col.parse().ok()?);
    let line_start: usize = mjml
        .split_inclusive('\n')
        .take(row.saturating_sub(1))
        .map(str::len)
        .sum();
    let line = mjml.get(line_start..)?.lines().next().unwrap_or_default();
    let column: usize = line
        .chars()
        .take(col.saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    Some(line_start + column)
}

/// Attributes of the `<mjml>` root that MJML 4 accepts and mrml does not
/// know: `version` (written by MJML 3 era tools) and `owa` (Outlook web
/// app); mrml renders the same with or without them.
fn accepted_by_mjml(mjml: &str, warning: &Warning) -> bool {
    if warning.kind != WarningKind::UnexpectedAttribute {
        return false;
    }
    let root_end = mjml
        .find("<mjml")
        .and_then(|start| mjml[start..].find('>').map(|end| start + end));
    let attribute = snippet(mjml, warning.span.start, warning.span.end);
    root_end.is_some_and(|end| warning.span.start < end)
        && ["version", "owa"].iter().any(|name| {
            attribute
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('='))
        })
}

fn warning_problem(mjml: &str, warning: &Warning) -> MjmlProblem {
    let what = snippet(mjml, warning.span.start, warning.span.end);
    MjmlProblem {
        offset: warning.span.start,
        message: match warning.kind {
            WarningKind::UnexpectedAttribute => format!("MJML: unexpected attribute `{what}`"),
            WarningKind::InlineStyleUnsupported => {
                format!("MJML: inline styles are not supported here (`{what}`)")
            }
        },
    }
}

/// The MJML elements mrml knows.
const ELEMENTS: &[&str] = &[
    "mjml",
    "mj-accordion",
    "mj-accordion-element",
    "mj-accordion-text",
    "mj-accordion-title",
    "mj-all",
    "mj-attributes",
    "mj-body",
    "mj-breakpoint",
    "mj-button",
    "mj-carousel",
    "mj-carousel-image",
    "mj-class",
    "mj-column",
    "mj-divider",
    "mj-font",
    "mj-group",
    "mj-head",
    "mj-hero",
    "mj-image",
    "mj-include",
    "mj-navbar",
    "mj-navbar-link",
    "mj-preview",
    "mj-raw",
    "mj-section",
    "mj-social",
    "mj-social-element",
    "mj-spacer",
    "mj-style",
    "mj-table",
    "mj-text",
    "mj-title",
    "mj-wrapper",
];

/// Each MJML tag: (offset, name, closing, self-closing).
fn mj_tags(mjml: &str) -> impl Iterator<Item = (usize, &str, bool, bool)> {
    mjml.match_indices('<').filter_map(move |(at, _)| {
        let rest = &mjml[at + 1..];
        let closing = rest.starts_with('/');
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        if !rest.starts_with("mj") {
            return None;
        }
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let self_closing = !closing && rest[..tag_end].ends_with('/');
        Some((at, name, closing, self_closing))
    })
}

/// `<mj-…>` elements mrml does not know.
fn unknown_elements(mjml: &str) -> Vec<MjmlProblem> {
    mj_tags(mjml)
        .filter(|(_, name, closing, _)| !closing && !ELEMENTS.contains(name))
        .map(|(offset, name, _, _)| MjmlProblem {
            offset,
            message: format!("MJML: unknown element `<{name}>` (it would be sent as is)"),
        })
        .collect()
}

/// The first MJML element left open (mrml only says the document ended).
/// Inside `<mj-text>`, `<mj-button>`… content is HTML and is skipped.
fn unclosed(mjml: &str) -> Option<MjmlProblem> {
    let mut open: Vec<(usize, &str)> = Vec::new();
    for (offset, name, closing, self_closing) in mj_tags(mjml) {
        if self_closing {
            continue;
        }
        if !closing {
            open.push((offset, name));
            continue;
        }
        match open.pop() {
            Some((_, opened)) if opened == name => {}
            Some((opened_at, opened)) => {
                return Some(MjmlProblem {
                    offset: opened_at,
                    message: format!("MJML: `<{opened}>` is not closed (`</{name}>` comes first)"),
                });
            }
            None => {
                return Some(MjmlProblem {
                    offset,
                    message: format!("MJML: `</{name}>` closes nothing"),
                });
            }
        }
    }
    open.pop().map(|(offset, name)| MjmlProblem {
        offset,
        message: format!("MJML: `<{name}>` is not closed"),
    })
}

/// Tags a line may start before (see the module header).
const BREAK_BEFORE: &[&str] = &[
    "table", "/table", "tbody", "/tbody", "tr", "/tr", "td", "/td", "div", "/div", "p", "/p",
    "style", "/style", "meta", "link", "title", "head", "/head", "body", "/body", "/html",
];

/// mrml's HTML with line breaks before structural tags, and every line
/// ending as CRLF (the form of a message body).
pub fn break_lines(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() + html.len() / 24);
    let mut copied = 0;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'<' if index > 0 && bytes[index - 1] == b'>' && starts_line(&bytes[index + 1..]) => {
                out.push_str(&html[copied..index]);
                out.push_str("\r\n");
                copied = index;
            }
            b'\n' if index == 0 || bytes[index - 1] != b'\r' => {
                out.push_str(&html[copied..index]);
                out.push_str("\r\n");
                copied = index + 1;
            }
            b'\r' if bytes.get(index + 1) != Some(&b'\n') => {
                out.push_str(&html[copied..index]);
                out.push_str("\r\n");
                copied = index + 1;
            }
            _ => {}
        }
        index += 1;
    }
    out.push_str(&html[copied..]);
    out
}

fn starts_line(after_angle: &[u8]) -> bool {
    if after_angle.starts_with(b"!--") {
        return true;
    }
    BREAK_BEFORE.iter().any(|tag| {
        after_angle.starts_with(tag.as_bytes())
            && matches!(
                after_angle.get(tag.len()),
                Some(b' ' | b'>' | b'/' | b'\t' | b'\r' | b'\n')
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_before_structural_tags_only() {
        assert_eq!(
            break_lines(
                "<table><tr><td><a href=\"x\"><img src=\"y\"></a></td></tr></table><!--[if mso]><table><![endif]-->"
            ),
            "<table>\r\n<tr>\r\n<td><a href=\"x\"><img src=\"y\"></a>\r\n</td>\r\n</tr>\r\n</table>\r\n<!--[if mso]>\r\n<table><![endif]-->"
        );
        assert_eq!(
            break_lines("<span>★</span><span>★</span><s>$1</s> <strong>x</strong>"),
            "<span>★</span><span>★</span><s>$1</s> <strong>x</strong>",
            "inline tags stay together: a line break there would be a visible space"
        );
        assert_eq!(
            break_lines("text<div>a\nb\r\nc\rd</div><trail>"),
            "text<div>a\r\nb\r\nc\r\nd</div><trail>",
            "line ends become CRLF; a tag only breaks after another tag; <trail> is not <tr>"
        );
    }

    #[test]
    fn mrml_errors_point_into_the_mjml() {
        let converter = Converter::default();
        let mjml =
            "<mjml><mj-body>\n<mj-section><mj-column><mj-text>a</mj-section></mj-body></mjml>";
        let error = converter.html(mjml).unwrap_err();
        assert_eq!(error.offset, mjml.find("<mj-text").unwrap());
        assert_eq!(
            error.message,
            "MJML: `<mj-text>` is not closed (`</mj-section>` comes first)"
        );
        let mjml = "<mjml><mj-head><mj-foo/></mj-head><mj-body></mj-body></mjml>";
        let error = converter.html(mjml).unwrap_err();
        assert_eq!(error.offset, mjml.find("<mj-foo").unwrap());
        assert_eq!(error.message, "MJML: unexpected element `<mj-foo>` here");
        let mjml = "<mjml colour=\"red\"><mj-body><mj-section><mj-colum></mj-colum></mj-section></mj-body></mjml>";
        let warnings = converter.warnings(mjml).unwrap();
        assert_eq!(
            warnings,
            [
                MjmlProblem {
                    offset: mjml.find("colour").unwrap(),
                    message: "MJML: unexpected attribute `colour=\"red\"`".to_string()
                },
                MjmlProblem {
                    offset: mjml.find("<mj-colum").unwrap(),
                    message: "MJML: unknown element `<mj-colum>` (it would be sent as is)"
                        .to_string()
                },
            ]
        );
    }
}
