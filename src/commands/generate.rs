//! `xsell generate`: write the synthetic example shop (the committed
//! `fixtures/` come from the defaults; `--customers 1000000` makes a large
//! store for benchmarks).

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::cli::Global;
use crate::error::{Error, Result};
use crate::generate::{GenerateOptions, generate};

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
