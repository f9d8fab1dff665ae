//! `xsell check`: validate everything a send depends on and report every
//! problem at once, as `path:line:col: message` with the line and a caret.

use serde::Serialize;

use crate::cli::{Format, Global};
use crate::data::TableReport;
use crate::diagnostic::Diagnostics;
use crate::error::{Error, Result};
use crate::render;
use crate::signing::SigningKey;
use crate::workspace;

#[derive(Serialize)]
struct CheckReport<'a> {
    ok: bool,
    problems: &'a Diagnostics,
    tables: &'a [TableReport],
    campaigns: Vec<&'a str>,
    /// On-site placements (`placements/*.yaml`), checked when no campaign is named.
    placements: Vec<&'a str>,
    templates: usize,
    products: usize,
    customers: usize,
    events: usize,
    /// What will not stop a send but will surprise: currencies the catalog does not price.
    warnings: Vec<String>,
}

pub fn run(global: &Global, only: &[String]) -> Result<i32> {
    let root = &global.workspace;
    let mut inspection = workspace::inspect(root);
    let Some(config) = &inspection.config else {
        return Err(Error::Files(inspection.problems));
    };
    let store = inspection.loaded.as_ref().map(|l| &l.store);
    let now = global
        .explicit_now()
        .or_else(|| store.and_then(|s| s.last_event_ts()))
        .unwrap_or_default();
    let (template_count, template_problems) = render::check::check(
        config,
        &inspection.campaigns,
        store,
        &SigningKey::from_config(config),
        now,
    );
    inspection.problems.extend(template_problems);
    if only.is_empty() {
        let placement_problems = std::mem::take(&mut inspection.placement_problems);
        inspection.problems.extend(placement_problems);
    }
    for id in only {
        if !inspection.campaigns.iter().any(|c| &c.id == id)
            && !inspection
                .problems
                .iter()
                .any(|p| p.file.file_stem().is_some_and(|s| s == id.as_str()))
        {
            return Err(Error::usage(format!(
                "no campaign `{id}` in {}",
                config.campaigns_dir.display()
            )));
        }
    }
    let campaigns: Vec<&str> = inspection
        .campaigns
        .iter()
        .filter(|c| only.is_empty() || only.contains(&c.id))
        .map(|c| c.id.as_str())
        .collect();
    let tables: &[TableReport] = inspection.loaded.as_ref().map_or(&[], |l| &l.reports);
    let store = inspection.loaded.as_ref().map(|l| &l.store);
    let report = CheckReport {
        ok: inspection.problems.is_empty(),
        problems: &inspection.problems,
        tables,
        campaigns,
        placements: if only.is_empty() {
            inspection
                .placements
                .iter()
                .map(|p| p.id.as_str())
                .collect()
        } else {
            Vec::new()
        },
        templates: template_count,
        products: store.map_or(0, |s| s.products().len()),
        customers: store.map_or(0, |s| s.customers().len()),
        events: store.map_or(0, |s| s.events().len()),
        warnings: store
            .map(|s| s.currency_gaps().iter().map(|g| g.to_string()).collect())
            .unwrap_or_default(),
    };
    match global.format {
        Format::Json => super::print_json(&report)?,
        Format::Text => print_text(&report),
    }
    Ok(if report.ok { 0 } else { 1 })
}

fn print_text(report: &CheckReport<'_>) {
    use super::thousands;
    for table in report.tables {
        let read = &table.read;
        let mut line = format!(
            "{:<10} {}  {} rows",
            table.table,
            table.source.display(),
            thousands(read.rows)
        );
        if read.skipped > 0 {
            line.push_str(&format!(
                ", {} skipped by skip_rows",
                thousands(read.skipped)
            ));
        }
        if read.bad_rows > 0 {
            line.push_str(&format!(
                ", {} bad rows left out (max_bad_rows)",
                thousands(read.bad_rows)
            ));
        }
        println!("{line}");
        let columns = &read.columns;
        if !columns.mapped.is_empty() {
            let mapped: Vec<String> = columns
                .mapped
                .iter()
                .map(|(ours, theirs)| format!("{ours} ← {theirs}"))
                .collect();
            println!("           columns: {}", mapped.join(", "));
        }
        if !columns.defaulted.is_empty() {
            let defaulted: Vec<String> = columns
                .defaulted
                .iter()
                .map(|(field, value)| format!("{field} = {value}"))
                .collect();
            println!(
                "           defaults (no such column): {}",
                defaulted.join(", ")
            );
        }
        for problem in &read.bad_row_messages {
            println!("           left out: {problem}");
        }
    }
    for warning in &report.warnings {
        crate::stderr::warning(warning);
    }
    if !report.ok {
        eprintln!("{}", report.problems);
        let count = report.problems.len();
        eprintln!(
            "\n{count} problem{} found",
            if count == 1 { "" } else { "s" }
        );
        return;
    }
    let placements = match report.placements.len() {
        0 => String::new(),
        1 => "1 placement, ".to_string(),
        n => format!("{n} placements, "),
    };
    println!(
        "ok: {} campaigns, {placements}{} templates, {} products, {} customers, {} events",
        report.campaigns.len(),
        report.templates,
        thousands(report.products),
        thousands(report.customers),
        thousands(report.events),
    );
}
