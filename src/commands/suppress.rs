//! `xsell suppress add|remove|list|import`: the addresses no campaign may
//! mail (unsubscribed, bounced, complained), kept in the ledger.

use std::path::Path;

use crate::cli::{Format, Global, SuppressCommand};
use crate::config::Config;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::{Error, Result};
use crate::ledger::Creation;

const REASONS: &[&str] = &["unsubscribed", "bounced", "complained", "manual"];

pub fn run(global: &Global, command: &SuppressCommand) -> Result<i32> {
    let config = Config::load(&global.workspace)?;
    let mut ledger = crate::ledger::Ledger::for_config(&config, Creation::IfNeverSent)?;
    let now = global.now()?.timestamp();
    match command {
        SuppressCommand::Add { emails, reason } => {
            check_reason(reason)?;
            let mut added = 0;
            for email in emails {
                check_email(email)?;
                added += usize::from(ledger.suppress(email, reason, "xsell suppress add", now)?);
            }
            println!(
                "suppressed {added} address{} ({} already were)",
                plural(added),
                emails.len() - added
            );
        }
        SuppressCommand::Remove { emails } => {
            let mut removed = 0;
            for email in emails {
                removed += usize::from(ledger.unsuppress(email)?);
            }
            println!(
                "removed {removed} address{} from the suppression list",
                plural(removed)
            );
        }
        SuppressCommand::List => {
            let list = ledger.suppression_list()?;
            match global.format {
                Format::Json => super::print_json(&list)?,
                Format::Text => {
                    for entry in &list {
                        let at = crate::data::timestamp(entry.at).format("%Y-%m-%d %H:%M UTC");
                        println!(
                            "{:<40} {:<13} {at}  {}{}",
                            entry.email,
                            entry.reason,
                            entry.source.as_deref().unwrap_or(""),
                            entry
                                .campaign
                                .as_deref()
                                .map_or(String::new(), |c| format!(" (from {c})"))
                        );
                    }
                    println!("{} suppressed address{}", list.len(), plural(list.len()));
                }
            }
        }
        SuppressCommand::Import { file, reason } => {
            check_reason(reason)?;
            let emails = read_unsubscribe_file(file, &global.workspace)?;
            let source = format!("import {}", file.display());
            let added = ledger.in_transaction(|ledger| {
                let mut added = 0;
                for email in &emails {
                    added += usize::from(ledger.suppress(email, reason, &source, now)?);
                }
                Ok(added)
            })?;
            println!(
                "imported {} address{} from {}: {added} new, {} already suppressed",
                emails.len(),
                plural(emails.len()),
                file.display(),
                emails.len() - added
            );
        }
    }
    Ok(0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "es" }
}

fn check_reason(reason: &str) -> Result<()> {
    if REASONS.contains(&reason) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "unknown reason `{reason}`: expected one of {}",
            REASONS.join(", ")
        )))
    }
}

fn check_email(email: &str) -> Result<()> {
    if email.contains('@') && !email.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(Error::usage(format!("`{email}` is not an email address")))
    }
}

/// The addresses of an unsubscribe export: a CSV with an `email` column
/// (any case; or a single unnamed column). Every bad row is reported; none is imported then.
fn read_unsubscribe_file(file: &Path, root: &Path) -> Result<Vec<String>> {
    let path = if file.is_absolute() {
        file.to_path_buf()
    } else {
        root.join(file)
    };
    let display = file.to_path_buf();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&path)
        .map_err(|e| Diagnostic::file(&display, format!("cannot read: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| Diagnostic::row(&display, 1, e.to_string()))?
        .clone();
    let column = headers.iter().position(|h| {
        h.trim().eq_ignore_ascii_case("email") || h.trim().eq_ignore_ascii_case("e-mail")
    });
    let column = match (column, headers.len()) {
        (Some(column), _) => column,
        (None, 1) if headers[0].contains('@') => {
            return Err(Diagnostic::row(
                &display,
                1,
                "the first row is an address: add a header row `email`",
            )
            .into());
        }
        (None, _) => {
            return Err(Diagnostic::row(
                &display,
                1,
                format!(
                    "no `email` column; the columns are: {}",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            )
            .into());
        }
    };
    let mut emails = Vec::new();
    let mut problems = Diagnostics::default();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                match record.get(column).map(str::trim) {
                    Some(email) if email.contains('@') && !email.contains(char::is_whitespace) => {
                        emails.push(email.to_string())
                    }
                    Some("") | None => problems.push(Diagnostic::row(&display, line, "no address")),
                    Some(other) => problems.push(Diagnostic::row(
                        &display,
                        line,
                        format!("`{other}` is not an email address"),
                    )),
                }
            }
            Err(error) => problems.push(Diagnostic::row(
                &display,
                error.position().map_or(0, |p| p.line() as usize),
                error.to_string(),
            )),
        }
    }
    problems.into_result(emails).map_err(Error::Files)
}
