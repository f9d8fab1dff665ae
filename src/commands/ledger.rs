//! `xsell ledger init`: create the workspace's ledger explicitly, so that a
//! lost one is never silently replaced (see [`crate::ledger::Creation`]).

use crate::cli::Global;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ledger::Creation;

pub fn init(global: &Global, force: bool) -> Result<i32> {
    let config = Config::load(&global.workspace)?;
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
