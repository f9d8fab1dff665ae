//! Deterministic generator of the example shop (fixtures and large benchmark stores).
//!
//! The repository must be a complete example workspace, and benchmarks need
//! stores of a million customers; both come from here. `generate` writes
//! `catalog.csv`, `customers.csv` and `events.csv` in the data contract of
//! DESIGN.md, with behaviour that tells the stories the campaigns look for
//! (complements, replenishment, upgrades, ecosystems, series, usage
//! milestones) and moments at `end` for every trigger.
//!
//! The same options always give the same bytes: all randomness comes from the
//! seeded generator in `rng.rs`, customer `n` draws from its own stream, and
//! money is integer cents. Customers are generated and written one at a time,
//! so memory does not grow with the number of customers.

pub mod catalog;
pub mod customers;
pub mod events;
pub mod money;
pub mod responses;
pub mod rng;

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};

use catalog::Catalog;
use events::EventWriter;
use rng::Rng;

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    pub seed: u64,
    pub customers: usize,
    /// Events happen in `[end - days, end)`; run triggers at `end` to find moments.
    pub end: DateTime<Utc>,
    pub days: u32,
}

impl Default for GenerateOptions {
    fn default() -> GenerateOptions {
        GenerateOptions {
            seed: 42,
            customers: 3000,
            end: Utc
                .with_ymd_and_hms(2026, 11, 16, 9, 0, 0)
                .single()
                .expect("a valid date"),
            days: 180,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSummary {
    pub products: usize,
    pub customers: usize,
    /// Rows of events.csv.
    pub events: usize,
    /// Distinct order ids.
    pub orders: usize,
}

/// Write `catalog.csv`, `customers.csv` and `events.csv` into `out_dir`
/// (created if missing). Events are ordered by customer, then time.
pub fn generate(opts: &GenerateOptions, out_dir: &Path) -> io::Result<GenerateSummary> {
    std::fs::create_dir_all(out_dir)?;
    let end = opts.end.timestamp();
    let start = end - i64::from(opts.days) * DAY;

    let catalog = Catalog::build(opts.seed, start, end);
    let catalog_file = BufWriter::new(File::create(out_dir.join("catalog.csv"))?);
    catalog::write_csv(&catalog, catalog_file)?;

    let customers_file = BufWriter::new(File::create(out_dir.join("customers.csv"))?);
    let mut customers_csv = csv::Writer::from_writer(customers_file);
    customers_csv.write_record(customers::HEADER)?;
    let events_file = BufWriter::with_capacity(1 << 20, File::create(out_dir.join("events.csv"))?);
    let mut events_csv = csv::Writer::from_writer(events_file);
    events_csv.write_record(events::HEADER)?;

    let mut writer = EventWriter::default();
    let mut events = Vec::new();
    for n in 1..=opts.customers as u64 {
        let mut rng = Rng::new(opts.seed, n);
        let customer = customers::generate(&mut rng, n, start, end);
        events::simulate(&mut rng, &catalog, &customer, start, end, &mut events);
        customers::write_row(&mut customers_csv, &customer)?;
        writer.write(&mut events_csv, &catalog, &customer, &events)?;
    }
    customers_csv.flush()?;
    events_csv.flush()?;

    Ok(GenerateSummary {
        products: catalog.products.len(),
        customers: opts.customers,
        events: writer.rows as usize,
        orders: writer.orders as usize,
    })
}

/// `2026-10-30T08:00:00Z` for unix seconds.
pub fn rfc3339(secs: i64) -> String {
    let mut out = String::new();
    write_rfc3339(&mut out, secs);
    out
}

/// Like [`rfc3339`], into a reused buffer (the events file has millions of rows).
pub fn write_rfc3339(out: &mut String, secs: i64) {
    use std::fmt::Write as _;
    let t = DateTime::from_timestamp(secs, 0).expect("timestamp in chrono's range");
    out.clear();
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

#[cfg(test)]
mod tests;
