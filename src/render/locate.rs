//! Mapping a position in Tera's output (the MJML mrml complains about) back
//! to the template line that wrote it.
//!
//! Only used when something went wrong, so it may be slow: the templates are
//! rendered again with a marker at the start of every line that is not
//! inside a Tera tag; the markers are taken out of the output, remembering
//! where each template line begins in it.

/// Opens a line marker: `\u{FDD4}<file>:<line>\u{FDD5}`.
const MARK_OPEN: char = '\u{FDD4}';
const MARK_CLOSE: char = '\u{FDD5}';

/// `text` with a marker for (`file`, line) at the start of each line outside
/// `{{ }}`, `{% %}` and `{# #}` — and, in a template that `extends` another
/// (where Tera allows no text outside blocks), only inside blocks.
pub fn traced(text: &str, file: usize) -> String {
    let child = text.contains("extends");
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut closer: Option<&str> = None;
    let mut blocks = 0usize;
    let mut line = 1;
    let mut at_line_start = true;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if at_line_start && closer.is_none() && (!child || blocks > 0) {
            out.push(MARK_OPEN);
            out.push_str(&format!("{file}:{line}"));
            out.push(MARK_CLOSE);
        }
        at_line_start = false;
        match closer {
            None => {
                if let Some(found) = ["{{", "{%", "{#"].iter().find(|o| rest.starts_with(**o)) {
                    if *found == "{%" {
                        let tag = rest[2..].trim_start_matches(['-', '+']).trim_start();
                        if tag.starts_with("block ") {
                            blocks += 1;
                        } else if tag.starts_with("endblock") {
                            blocks = blocks.saturating_sub(1);
                        }
                    }
                    closer = Some(match *found {
                        "{{" => "}}",
                        "{%" => "%}",
                        _ => "#}",
                    });
                    out.push_str(found);
                    rest = &rest[2..];
                    continue;
                }
            }
            Some(end) if rest.starts_with(end) => {
                closer = None;
                out.push_str(end);
                rest = &rest[2..];
                continue;
            }
            Some(_) => {}
        }
        out.push(c);
        if c == '\n' {
            line += 1;
            at_line_start = true;
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A template line's start in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub offset: usize,
    pub file: usize,
    pub line: usize,
}

/// The output without markers, and where each marker was.
pub fn untrace(output: &str) -> (String, Vec<Mark>) {
    let mut clean = String::with_capacity(output.len());
    let mut marks = Vec::new();
    let mut rest = output;
    while let Some(open) = rest.find(MARK_OPEN) {
        clean.push_str(&rest[..open]);
        let after = &rest[open + MARK_OPEN.len_utf8()..];
        let Some(close) = after.find(MARK_CLOSE) else {
            rest = after;
            continue;
        };
        if let Some((file, line)) = after[..close].split_once(':')
            && let (Ok(file), Ok(line)) = (file.parse(), line.parse())
        {
            marks.push(Mark {
                offset: clean.len(),
                file,
                line,
            });
        }
        rest = &after[close + MARK_CLOSE.len_utf8()..];
    }
    clean.push_str(rest);
    (clean, marks)
}

/// (file, line, column) of `offset` in the clean output: the last template
/// line starting at or before it, plus the lines and characters after it.
pub fn position(marks: &[Mark], clean: &str, offset: usize) -> Option<(usize, usize, usize)> {
    let mark = marks.iter().rev().find(|m| m.offset <= offset)?;
    let between = clean.get(mark.offset..offset)?;
    let newlines = between.matches('\n').count();
    let column = between
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    Some((mark.file, mark.line + newlines, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_templates_are_marked_inside_blocks_only() {
        let mut tera = tera::Tera::new();
        tera.add_raw_templates([
            (
                "base",
                traced("<a>\n{% block body %}{% endblock body %}\n</a>", 0),
            ),
            (
                "child",
                traced(
                    "{% extends \"base\" %}\n{% block body %}\n<b>\n{%- endblock body %}\n",
                    1,
                ),
            ),
        ])
        .unwrap();
        let output = tera.render("child", &tera::Context::new()).unwrap();
        let (clean, marks) = untrace(&output);
        // `{%-` trims back to the marker only: whitespace may differ a little
        // from the untraced output, which is why mrml is asked again.
        assert_eq!(clean, "<a>\n\n<b>\n\n</a>");
        let offset = clean.find("<b>").unwrap();
        assert_eq!(position(&marks, &clean, offset), Some((1, 3, 1)));
    }

    #[test]
    fn marks_survive_rendering_and_locate_lines() {
        let template = "<mjml>\n{% if true %}\n  <mj-bodyy>\n{% endif %}{{ \"x\n\" }}\n</mjml>";
        let traced = traced(template, 3);
        let mut tera = tera::Tera::new();
        tera.add_raw_template("t", &traced).unwrap();
        let output = tera.render("t", &tera::Context::new()).unwrap();
        let (clean, marks) = untrace(&output);
        assert_eq!(clean, "<mjml>\n\n  <mj-bodyy>\nx\n\n</mjml>");
        let offset = clean.find("<mj-bodyy").unwrap();
        assert_eq!(position(&marks, &clean, offset), Some((3, 3, 3)));
        assert_eq!(position(&marks, &clean, 0), Some((3, 1, 1)));
    }
}
