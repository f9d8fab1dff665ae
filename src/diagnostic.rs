//! Problems in user files, with the place they happened.
//!
//! Every user-facing error about a file (config, campaign, template, data row)
//! becomes a [`Diagnostic`]: a path, a 1-based line and column, a message and
//! the offending source line. They are collected, not thrown one at a time, so
//! `xsell check` can show every problem at once, and are turned into text only
//! at the top (`Display`), like this:
//!
//! ```text
//! campaigns/browse.yaml:12:7: unknown category `Runing`
//!    |
//! 12 |       categories: [Runing]
//!    |       ^
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One problem at one place in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file as the user would type it (relative to the workspace when possible).
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column in characters; 0 when unknown.
    pub column: usize,
    pub message: String,
    /// The source line the problem is on, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A problem about a whole file (cannot be read, missing, …).
    pub fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: 0,
            column: 0,
            message: message.into(),
            source_line: None,
        }
    }

    /// A problem at `line:column` of `source`, the text of `file`.
    pub fn at(
        file: impl Into<PathBuf>,
        source: &str,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        let source_line = line
            .checked_sub(1)
            .and_then(|index| source.lines().nth(index))
            .map(|text| text.trim_end_matches('\r').to_string());
        Diagnostic {
            file: file.into(),
            line,
            column,
            message: message.into(),
            source_line,
        }
    }

    /// A problem at a line of a data file, without the column (CSV rows).
    pub fn row(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line,
            column: 0,
            message: message.into(),
            source_line: None,
        }
    }

    /// A problem at a byte offset of `source`.
    pub fn at_offset(
        file: impl Into<PathBuf>,
        source: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = line_column(source, offset);
        Diagnostic::at(file, source, line, column, message)
    }

    /// `path:line:col` (or less when the line or column is unknown).
    pub fn location(&self) -> String {
        let file = self.file.display();
        match (self.line, self.column) {
            (0, _) => format!("{file}"),
            (line, 0) => format!("{file}:{line}"),
            (line, column) => format!("{file}:{line}:{column}"),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if let Some(text) = &self.source_line {
            let number = self.line.to_string();
            let gutter = " ".repeat(number.len());
            write!(f, "\n{gutter} |\n{number} | {text}")?;
            if self.column > 0 {
                let pad: String = text
                    .chars()
                    .take(self.column - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "\n{gutter} | {pad}^")?;
            }
        }
        Ok(())
    }
}

/// 1-based (line, column in characters) of a byte offset in `source`.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(s: &str, mut index: usize) -> usize {
    while index > 0 && !s.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Many problems, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// `Ok(value)` when nothing was found, the collected problems otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics(vec![diagnostic])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Shows `path` relative to `base` when it is inside it, as a user would type it.
pub fn display_path(base: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_line_and_a_caret_under_the_column() {
        let source = "id: x\nlists:\n  a: { source: bestsellerz }\n";
        let diagnostic = Diagnostic::at("campaigns/x.yaml", source, 3, 15, "unknown source");
        assert_eq!(
            diagnostic.to_string(),
            "campaigns/x.yaml:3:15: unknown source\n  |\n3 |   a: { source: bestsellerz }\n  |               ^"
        );
    }

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let source = "a\nbé c\n";
        assert_eq!(line_column(source, 0), (1, 1));
        assert_eq!(line_column(source, 2), (2, 1));
        // 'c' is after "bé " = 4 bytes into line 2, 3 characters.
        assert_eq!(line_column(source, 6), (2, 4));
    }

    #[test]
    fn rows_have_no_column() {
        let diagnostic = Diagnostic::row("fixtures/events.csv", 42, "bad timestamp");
        assert_eq!(
            diagnostic.to_string(),
            "fixtures/events.csv:42: bad timestamp"
        );
    }
}
