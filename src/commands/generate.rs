//! `xsell generate`: write the synthetic example shop (the committed
//! `fixtures/` come from the defaults; `--customers 1000000` makes a large
//! store for benchmarks).

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::cli::Global;
use crate::config::SourceLocation;
use crate::error::{Error, Result};
use crate::generate::responses::{ResponseOptions, SimulatedEvent, simulate};
use crate::generate::{GenerateOptions, generate};
use crate::ledger::Ledger;

pub fn run(
    global: &Global,
    out: &Path,
    customers: usize,
    seed: u64,
    end: DateTime<Utc>,
    days: u32,
) -> Result<i32> {
    let out = if out.is_absolute() {
        out.to_path_buf()
    } else {
        global.workspace.join(out)
    };
    let options = GenerateOptions {
        seed,
        customers,
        end,
        days,
    };
    let summary = generate(&options, &out)
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", out.display())))?;
    println!(
        "wrote {}: {} products, {} customers, {} events ({} orders)",
        out.display(),
        super::thousands(summary.products),
        super::thousands(summary.customers),
        super::thousands(summary.events),
        super::thousands(summary.orders)
    );
    Ok(0)
}

/// `xsell generate responses`: appends simulated responses to the
/// workspace's events file.
pub fn responses(global: &Global, options: ResponseOptions) -> Result<i32> {
    for (name, share) in [
        ("acceptance", options.acceptance),
        ("baseline", options.baseline),
        ("returns", options.returns),
    ] {
        if !(0.0..=1.0).contains(&share) {
            return Err(Error::usage(format!(
                "--{name} is a share from 0 to 1, not {share}"
            )));
        }
    }
    let (workspace, _) = crate::workspace::Workspace::open_lenient(&global.workspace)?;
    let events = &workspace.config.data.events;
    let path = match &events.location {
        SourceLocation::File(path) if events.columns.is_empty() => path.clone(),
        _ => {
            return Err(Error::usage(
                "generate responses appends to an events file in xsell's own columns; this workspace reads its events from a URL or maps other columns",
            ));
        }
    };
    let Some(ledger) = Ledger::open_existing_for(&workspace.config)? else {
        return Err(Error::usage(
            "no ledger yet: send a campaign first, then simulate the responses",
        ));
    };
    let rows = ledger.report_rows(None, i64::MIN, i64::MAX)?;
    let window = |id: &str| {
        crate::campaign::find(&workspace.campaigns, id).map_or(crate::report::DEFAULT_WINDOW, |c| {
            c.attribution_window.num_seconds()
        })
    };
    let simulated = simulate(&workspace.store, &rows, &window, &options);
    append(&path, &simulated)
        .map_err(|e| Error::usage(format!("cannot append to {}: {e}", path.display())))?;
    let count = |kind: &str| simulated.iter().filter(|e| e.kind == kind).count();
    println!(
        "appended to {}: {} orders, {} returns, {} views after {} messages",
        path.display(),
        super::thousands(count("order")),
        super::thousands(count("return")),
        super::thousands(count("view")),
        super::thousands(rows.len())
    );
    Ok(0)
}

fn append(path: &Path, events: &[SimulatedEvent]) -> std::io::Result<()> {
    use std::io::Write;
    let mut text = std::fs::read_to_string(path)?;
    let has_code = |text: &str| {
        text.lines()
            .next()
            .unwrap_or_default()
            .split(',')
            .any(|c| c == "code")
    };
    if events.iter().any(|e| !e.code.is_empty()) && !has_code(&text) {
        // Orders placed with an offer code need the `code` column: add it.
        let mut widened = String::with_capacity(text.len() + text.lines().count() * 6);
        for (number, line) in text.lines().enumerate() {
            widened.push_str(line);
            widened.push_str(if number == 0 { ",code\n" } else { ",\n" });
        }
        std::fs::write(path, &widened)?;
        text = widened;
    }
    let header: Vec<&str> = text.lines().next().unwrap_or_default().split(',').collect();
    for needed in ["ts", "customer_id", "kind", "product_id"] {
        if !header.contains(&needed) {
            return Err(std::io::Error::other(format!(
                "its header has no `{needed}` column"
            )));
        }
    }
    let mut out = std::fs::OpenOptions::new().append(true).open(path)?;
    let mut buffer = String::new();
    if !text.is_empty() && !text.ends_with('\n') {
        buffer.push('\n');
    }
    for event in events {
        let ts = crate::data::timestamp(event.ts)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let quantity = event.quantity.to_string();
        let fields: Vec<&str> = header
            .iter()
            .map(|column| match *column {
                "ts" => ts.as_str(),
                "customer_id" => event.customer_id.as_str(),
                "kind" => event.kind,
                "product_id" => event.product_id.as_str(),
                "order_id" => event.order_id.as_str(),
                "quantity" => quantity.as_str(),
                "unit_price" => event.unit_price.as_str(),
                "code" => event.code.as_str(),
                _ => "",
            })
            .collect();
        buffer.push_str(&fields.join(","));
        buffer.push('\n');
    }
    out.write_all(buffer.as_bytes())
}
