//! Reading rows of CSV or JSON Lines through a column mapping.
//!
//! Real exports never use our column names. A [`TableSpec`] lists our fields;
//! the source's `columns` map says which file column holds each, `defaults`
//! fill the ones the file lacks. Table loaders then ask a [`Row`] for field
//! *N* and never see the file's own names. Bad rows are reported as
//! `file:line: reason`; past `max_bad_rows` the whole load fails.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{DataFormat, SourceConfig};
use crate::diagnostic::{Diagnostic, Diagnostics};

/// At most this many bad rows are listed; the rest are counted.
const MAX_LISTED_BAD_ROWS: usize = 50;
const MAX_FIELDS: usize = 16;

/// Our fields for one table, and which of them a row cannot do without.
pub struct TableSpec {
    pub name: &'static str,
    pub fields: &'static [&'static str],
    /// Fields that must come from a column or a default.
    pub required: &'static [&'static str],
}

/// One row, seen through the mapping: `get(i)` is our field `i` (of `TableSpec::fields`),
/// the default when the file has no value, `None` when neither has one.
pub struct Row<'a> {
    values: [Option<&'a str>; MAX_FIELDS],
}

impl<'a> Row<'a> {
    pub fn get(&self, field: usize) -> Option<&'a str> {
        self.values[field]
    }
}

/// How the file's columns were matched to our fields; shown by `xsell check`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ColumnReport {
    /// Our field ← the file's column, where the names differ.
    pub mapped: Vec<(String, String)>,
    /// Our field = a default value, because the file has no such column.
    pub defaulted: Vec<(String, String)>,
    /// Optional fields with neither column nor default.
    pub absent: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ReadReport {
    pub rows: usize,
    /// Rows skipped by a `skip_rows` rule.
    pub skipped: usize,
    /// Bad rows tolerated under `max_bad_rows` (listed, then not loaded).
    pub bad_rows: usize,
    pub bad_row_messages: Vec<Diagnostic>,
    pub columns: ColumnReport,
}

/// Calls `on_row(line, row)` for every data row; `on_row` returns a reason when the row is bad.
pub fn read_rows(
    input: impl Read,
    display: &Path,
    source: &SourceConfig,
    table: &TableSpec,
    max_bad_rows: usize,
    on_row: impl FnMut(usize, &Row<'_>) -> Result<(), String>,
) -> Result<ReadReport, Diagnostics> {
    let format = source.format.unwrap_or_else(|| guess_format(display));
    let mut bad = BadRows {
        display: display.to_path_buf(),
        listed: Diagnostics::default(),
        count: 0,
        max: max_bad_rows,
    };
    let mut report = match format {
        DataFormat::Csv => read_csv(input, source, table, &mut bad, on_row)?,
        DataFormat::Jsonl => read_jsonl(input, source, table, &mut bad, on_row)?,
    };
    if bad.count > max_bad_rows {
        let mut problems = bad.listed;
        if bad.count > MAX_LISTED_BAD_ROWS {
            problems.push(Diagnostic::file(
                display,
                format!("… {} bad rows in all; nothing was loaded", bad.count),
            ));
        }
        if max_bad_rows > 0 {
            problems.push(Diagnostic::file(
                display,
                format!(
                    "{} bad rows is more than `max_bad_rows = {max_bad_rows}`; nothing was loaded",
                    bad.count
                ),
            ));
        }
        return Err(problems);
    }
    report.bad_rows = bad.count;
    report.bad_row_messages = bad.listed.0;
    Ok(report)
}

struct BadRows {
    display: PathBuf,
    listed: Diagnostics,
    count: usize,
    max: usize,
}

impl BadRows {
    fn add(&mut self, line: usize, reason: String) {
        self.count += 1;
        if self.listed.len() < MAX_LISTED_BAD_ROWS {
            self.listed
                .push(Diagnostic::row(&self.display, line, reason));
        }
    }

    /// Whether reading on is still useful (to list more problems) or can stop.
    fn hopeless(&self) -> bool {
        self.count > self.max && self.count >= MAX_LISTED_BAD_ROWS
    }
}

fn guess_format(path: &Path) -> DataFormat {
    let name = path.to_string_lossy();
    let name = name.split(['?', '#']).next().unwrap_or_default();
    if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
        DataFormat::Jsonl
    } else {
        DataFormat::Csv
    }
}

/// Where each of our fields comes from in a file with these column names.
struct Plan<'s> {
    /// Our field → file column position.
    columns: [Option<usize>; MAX_FIELDS],
    defaults: [Option<&'s str>; MAX_FIELDS],
    skip: Vec<(usize, &'s crate::config::SkipRule)>,
    /// Our field → their value → ours.
    values: [Option<&'s std::collections::BTreeMap<String, String>>; MAX_FIELDS],
}

fn plan_columns<'s>(
    header: &[&str],
    display: &Path,
    source: &'s SourceConfig,
    table: &TableSpec,
) -> Result<(Plan<'s>, ColumnReport), Diagnostics> {
    let mut plan = Plan {
        columns: [None; MAX_FIELDS],
        defaults: [None; MAX_FIELDS],
        skip: Vec::new(),
        values: [None; MAX_FIELDS],
    };
    let mut report = ColumnReport::default();
    let mut problems = Diagnostics::default();
    let listed_columns = || header.join(", ");
    for (i, field) in table.fields.iter().enumerate() {
        let wanted = source.columns.get(*field).map_or(*field, String::as_str);
        plan.defaults[i] = source.defaults.get(*field).map(String::as_str);
        plan.values[i] = source.values.get(*field);
        match header.iter().position(|column| column.trim() == wanted) {
            Some(position) => {
                plan.columns[i] = Some(position);
                if wanted != *field {
                    report.mapped.push((field.to_string(), wanted.to_string()));
                }
            }
            None if source.columns.contains_key(*field) => problems.push(Diagnostic::row(
                display,
                1,
                format!(
                    "no column `{wanted}` (mapped to `{field}` in xsell.toml); the columns are: {}",
                    listed_columns()
                ),
            )),
            None => match plan.defaults[i] {
                Some(value) => report.defaulted.push((field.to_string(), value.to_string())),
                None if table.required.contains(field) => problems.push(Diagnostic::row(
                    display,
                    1,
                    format!(
                        "no column `{field}`: map one in xsell.toml (`[data.{}.columns] {field} = \"TheirColumn\"`) or give a default (`[data.{}.defaults]`); the columns are: {}",
                        table.name,
                        table.name,
                        listed_columns()
                    ),
                )),
                None => report.absent.push(field.to_string()),
            },
        }
    }
    for rule in &source.skip_rows {
        match header
            .iter()
            .position(|column| column.trim() == rule.column)
        {
            Some(position) => plan.skip.push((position, rule)),
            None => problems.push(Diagnostic::row(
                display,
                1,
                format!(
                    "no column `{}` (named in `skip_rows`); the columns are: {}",
                    rule.column,
                    listed_columns()
                ),
            )),
        }
    }
    problems.into_result((plan, report))
}

fn read_csv(
    input: impl Read,
    source: &SourceConfig,
    table: &TableSpec,
    bad: &mut BadRows,
    mut on_row: impl FnMut(usize, &Row<'_>) -> Result<(), String>,
) -> Result<ReadReport, Diagnostics> {
    let display = bad.display.clone();
    // The csv crate numbers the records of CRLF files one line early
    // (it counts the `\n` after the record has started); peek at the line ending.
    let mut input = std::io::BufReader::with_capacity(1 << 16, input);
    let crlf_fix = {
        let start = input
            .fill_buf()
            .map_err(|error| Diagnostic::row(&display, 1, format!("read failed: {error}")))?;
        let first_line = start
            .iter()
            .position(|b| *b == b'\n')
            .map_or(start, |end| &start[..end]);
        usize::from(first_line.ends_with(b"\r"))
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(source.delimiter)
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 20)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|error| {
            Diagnostic::row(
                &display,
                1,
                format!("cannot read the header row: {}", csv_reason(&error)),
            )
        })?
        .clone();
    let names: Vec<&str> = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}'))
        .collect();
    let (plan, columns) = plan_columns(&names, &display, source, table)?;
    let mut report = ReadReport {
        columns,
        ..ReadReport::default()
    };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line() as usize + crlf_fix);
                match error.kind() {
                    csv::ErrorKind::Io(_) => {
                        return Err(Diagnostic::row(
                            &display,
                            line,
                            format!("read failed: {error}"),
                        )
                        .into());
                    }
                    _ => bad.add(line, csv_reason(&error)),
                }
                if bad.hopeless() {
                    break;
                }
                continue;
            }
        }
        let line = record
            .position()
            .map_or(0, |p| p.line() as usize + crlf_fix);
        if plan
            .skip
            .iter()
            .any(|(column, rule)| rule.matches(record.get(*column)))
        {
            report.skipped += 1;
            continue;
        }
        let mut row = Row {
            values: [None; MAX_FIELDS],
        };
        for i in 0..table.fields.len() {
            let value = plan.columns[i]
                .and_then(|c| record.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty());
            row.values[i] = map_value(value.or(plan.defaults[i]), plan.values[i]);
        }
        match on_row(line, &row) {
            Ok(()) => report.rows += 1,
            Err(reason) => {
                bad.add(line, reason);
                if bad.hopeless() {
                    break;
                }
            }
        }
    }
    Ok(report)
}

fn csv_reason(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields like the header, found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
        _ => error.to_string(),
    }
}

fn read_jsonl(
    input: impl Read,
    source: &SourceConfig,
    table: &TableSpec,
    bad: &mut BadRows,
    mut on_row: impl FnMut(usize, &Row<'_>) -> Result<(), String>,
) -> Result<ReadReport, Diagnostics> {
    let display = bad.display.clone();
    let mut report = ReadReport::default();
    let keys: Vec<&str> = table
        .fields
        .iter()
        .map(|f| source.columns.get(*f).map_or(*f, String::as_str))
        .collect();
    for (field, key) in table.fields.iter().zip(&keys) {
        if field != key {
            report
                .columns
                .mapped
                .push((field.to_string(), key.to_string()));
        }
    }
    let mut seen = [false; MAX_FIELDS];
    let reader = BufReader::with_capacity(1 << 20, input);
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line
            .map_err(|error| Diagnostic::row(&display, number, format!("read failed: {error}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let object: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(&line) {
            Ok(object) => object,
            Err(error) => {
                bad.add(number, format!("not a JSON object: {error}"));
                if bad.hopeless() {
                    break;
                }
                continue;
            }
        };
        if source
            .skip_rows
            .iter()
            .any(|rule| rule.matches(object.get(&rule.column).and_then(json_text).as_deref()))
        {
            report.skipped += 1;
            continue;
        }
        let texts: Vec<Option<String>> = keys
            .iter()
            .map(|key| object.get(*key).and_then(json_text))
            .collect();
        let mut row = Row {
            values: [None; MAX_FIELDS],
        };
        let mut missing = None;
        for (i, field) in table.fields.iter().enumerate() {
            let value = texts[i].as_deref().map(str::trim).filter(|v| !v.is_empty());
            seen[i] |= value.is_some();
            row.values[i] = map_value(
                value.or_else(|| source.defaults.get(*field).map(String::as_str)),
                source.values.get(*field),
            );
            if row.values[i].is_none() && table.required.contains(field) && missing.is_none() {
                missing = Some(keys[i]);
            }
        }
        let outcome = match missing {
            Some(key) => Err(format!("missing `{key}`")),
            None => on_row(number, &row),
        };
        match outcome {
            Ok(()) => report.rows += 1,
            Err(reason) => {
                bad.add(number, reason);
                if bad.hopeless() {
                    break;
                }
            }
        }
    }
    for (i, field) in table.fields.iter().enumerate() {
        if !seen[i] {
            match source.defaults.get(*field) {
                Some(value) => report
                    .columns
                    .defaulted
                    .push((field.to_string(), value.clone())),
                None => report.columns.absent.push(field.to_string()),
            }
        }
    }
    Ok(report)
}

/// Their value → ours, through the field's `values` map (unlisted values pass through).
fn map_value<'a>(
    value: Option<&'a str>,
    map: Option<&'a std::collections::BTreeMap<String, String>>,
) -> Option<&'a str> {
    match (value, map) {
        (Some(value), Some(map)) => Some(map.get(value).map_or(value, String::as_str)),
        _ => value,
    }
}

fn json_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}
