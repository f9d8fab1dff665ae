//! `xsell ledger init`: create the workspace's ledger explicitly, so that a
//! lost one is never silently replaced (see [`crate::ledger::Creation`]);
//! `xsell ledger migrate`: bring its schema up to this xsell's.

use crate::cli::Global;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ledger::Creation;

pub fn init(global: &Global, force: bool) -> Result<i32> {
    let config = Config::load(&global.workspace)?;
    if config.ledger_url.is_some() {
        // A database is created by its administrator; opening it migrates it.
        let ledger = crate::ledger::Ledger::for_config(&config, Creation::Init)?;
        crate::stderr::note(&format!(
            "ledger {} ready (schema version {})",
            ledger.path().display(),
            ledger.schema_version()?
        ));
        return Ok(0);
    }
    let path = &config.ledger_path;
    if !force && std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
        return Err(Error::usage(format!(
            "{} already exists; nothing to do",
            path.display()
        )));
    }
    let creation = if force {
        Creation::Force
    } else {
        Creation::Init
    };
    if force && path.exists() {
        // The file with its write-ahead log, so the new ledger starts clean.
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        for suffix in ["", "-wal", "-shm"] {
            let from = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if from.exists() {
                let kept = format!("{}.replaced-{stamp}{suffix}", path.display());
                std::fs::rename(&from, &kept).map_err(|e| {
                    Error::internal(format!("cannot move {} aside: {e}", from.display()))
                })?;
                if suffix.is_empty() {
                    crate::stderr::note(&format!("moved the old ledger aside to {kept}"));
                }
            }
        }
    }
    crate::ledger::Ledger::for_config(&config, creation)?;
    Ok(0)
}

pub fn migrate(global: &Global) -> Result<i32> {
    let config = Config::load(&global.workspace)?;
    let ledger = match crate::ledger::Ledger::open_existing_for(&config)? {
        Some(ledger) => ledger,
        None => {
            return Err(Error::usage(format!(
                "no ledger at {} yet: `xsell ledger init` creates one",
                config.ledger_path.display()
            )));
        }
    };
    println!(
        "ledger {}: schema version {}",
        ledger.path().display(),
        ledger.schema_version()?
    );
    Ok(0)
}
