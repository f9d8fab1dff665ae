//! Loading the workspace's templates (`templates/**/*.mjml`, Tera inside
//! MJML) and reporting template errors at their file, line and column.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics, display_path};

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

/// Parses every template with Tera; returns how many there are and every problem.
pub fn check_templates(dir: &Path, root: &Path) -> (usize, Diagnostics) {
    let mut problems = Diagnostics::default();
    let files = template_files(dir);
    let mut tera = tera::Tera::new();
    for (name, path) in &files {
        let display = display_path(root, path);
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                problems.push(Diagnostic::file(&display, format!("cannot read: {error}")));
                continue;
            }
        };
        if let Err(error) = tera.add_raw_template(name, &text) {
            problems.push(tera_diagnostic(&display, &text, &error));
        }
    }
    (files.len(), problems)
}

/// A Tera error as a diagnostic at the template line it is about.
pub fn tera_diagnostic(display: &Path, text: &str, error: &tera::Error) -> Diagnostic {
    match error.kind() {
        tera::ErrorKind::SyntaxError(report) | tera::ErrorKind::RenderingError(report) => {
            let span = report.span();
            Diagnostic::at(
                display,
                text,
                span.start_line,
                span.start_col + 1,
                report.message().to_string(),
            )
        }
        _ => Diagnostic::file(display, error_chain(error)),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
