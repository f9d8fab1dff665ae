//! What xsell says on standard error besides its results: notes, warnings,
//! errors and (never, we hope) panics. With `--format json` each is one JSON
//! line, so a log that takes both streams (`>> xsell.jsonl 2>&1`, as the
//! README's cron line does) stays JSON Lines, and no CR/LF from the data can
//! start a line of its own.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::error::Error;

static JSON: AtomicBool = AtomicBool::new(false);

/// `--format json`: every message on stderr is a JSON line from now on.
pub fn use_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

#[derive(Serialize)]
struct Line<'a> {
    level: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    problems: &'a [Diagnostic],
}

fn say(level: &str, message: &str, kind: Option<&str>, problems: &[Diagnostic]) {
    if is_json() {
        let line = Line {
            level,
            message,
            kind,
            problems,
        };
        if let Ok(text) = serde_json::to_string(&line) {
            eprintln!("{text}");
        }
    } else if level == "error" || level == "panic" {
        eprintln!("{message}");
    } else {
        eprintln!("{level}: {message}");
    }
}

/// `note: …`: something worth knowing that needs nothing done.
pub fn note(message: &str) {
    say("note", message, None, &[]);
}

/// `warning: …`: something that will surprise if left alone.
pub fn warning(message: &str) {
    say("warning", message, None, &[]);
}

/// The error a command ended with.
pub fn error(error: &Error) {
    let (kind, problems): (&str, &[Diagnostic]) = match error {
        Error::Files(problems) => ("files", &problems.0),
        Error::Usage(_) => ("usage", &[]),
        Error::Failed(_) => ("failed", &[]),
        Error::Internal(_) => ("internal", &[]),
    };
    say(
        "error",
        &crate::commands::describe_error(error),
        Some(kind),
        problems,
    );
}

/// A panic, as the panic hook reports it.
pub fn panic(message: &str) {
    say("panic", message, None, &[]);
}

/// An access log line of `xsell listen`.
pub fn access(message: &str) {
    say("access", message, None, &[]);
}
