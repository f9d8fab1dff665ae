//! Which ledger belongs to which workspace, so that a lost ledger is noticed
//! before it costs anything. The ledger is the memory of what was sent: a
//! run that silently started a fresh one (a deleted or truncated file, a
//! wrong `[ledger] path` after a deploy) would mail every open moment again.
//!
//! A ledger is created only in a workspace that has never sent (or by
//! `xsell ledger init`); it records a workspace id, which the workspace
//! keeps too, in `.xsell-workspace` beside `xsell.toml`. A send that finds
//! an empty ledger file, no ledger while the workspace shows earlier sends
//! (its id file, a run lock file, `.eml` files in the outbox), or a ledger
//! of another workspace stops with what it found and what to do.

use std::path::{Path, PathBuf};

use super::Ledger;
use crate::error::{Error, Result};

/// The file beside `xsell.toml` that names the workspace's ledger.
pub const WORKSPACE_ID_FILE: &str = ".xsell-workspace";

const WORKSPACE_ID: &str = "workspace_id";

/// How a ledger may be opened for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    /// Create one only where the workspace shows no earlier sends (send, run).
    IfNeverSent,
    /// `xsell ledger init`: create one where there is none.
    Init,
    /// `xsell ledger init --force`: create one even though earlier sends show.
    Force,
}

impl Ledger {
    /// The workspace's ledger as `config` places it, opened for writing
    /// (see [`Ledger::open_for_workspace`]) with the configured busy timeout.
    pub fn for_config(config: &crate::config::Config, creation: Creation) -> Result<Ledger> {
        if config.ledger_url.is_some() {
            let mut ledger = Ledger::connect(config)?;
            let marker = config.root.join(WORKSPACE_ID_FILE);
            reconcile_workspace_id(&mut ledger, &marker)?;
            return Ok(ledger);
        }
        let outbox = match &config.transport {
            crate::config::TransportConfig::Outbox { dir } => Some(dir.as_path()),
            crate::config::TransportConfig::Smtp(_) => None,
        };
        let ledger =
            Ledger::open_for_workspace(&config.root, &config.ledger_path, outbox, creation)?;
        ledger.set_busy_timeout(
            config
                .ledger_busy_timeout
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(60)),
        )?;
        Ok(ledger)
    }

    /// Opens the ledger at `path` for the workspace at `root`, creating it
    /// as `creation` allows; `outbox` is the outbox folder, if the workspace
    /// has one. Says on stderr when it creates one.
    pub fn open_for_workspace(
        root: &Path,
        path: &Path,
        outbox: Option<&Path>,
        creation: Creation,
    ) -> Result<Ledger> {
        let marker = root.join(WORKSPACE_ID_FILE);
        let remembered = read_marker(&marker)?;
        let size = std::fs::metadata(path).map(|m| m.len()).ok();
        if size == Some(0) && creation != Creation::Force {
            return Err(Error::usage(format!(
                "{}: the ledger file is empty — it was lost or truncated, and a fresh ledger would send every open moment again. Restore it from a backup; if this workspace has really never sent, remove the file and run `xsell ledger init`",
                path.display()
            )));
        }
        if size.is_none_or(|s| s == 0) {
            if creation == Creation::IfNeverSent || creation == Creation::Init {
                let created_meanwhile = || std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
                if let Some(evidence) =
                    earlier_sends(&marker, path, outbox).filter(|_| !created_meanwhile())
                {
                    return Err(Error::usage(format!(
                        "no ledger at {}, but {evidence} shows this workspace has sent before: a fresh ledger would send every open moment again. Restore the ledger (or correct `[ledger] path` in xsell.toml); if you are sure, start a new one with `xsell ledger init --force`",
                        path.display()
                    )));
                }
            }
            if size == Some(0) {
                std::fs::remove_file(path).map_err(|e| {
                    Error::internal(format!("cannot remove {}: {e}", path.display()))
                })?;
            }
            let id = remembered.clone().unwrap_or_else(new_id);
            if create_atomically(path, &id)? {
                write_marker(&marker, &id)?;
                crate::stderr::note(&format!(
                    "created a new ledger at {} (workspace {id})",
                    path.display()
                ));
            }
        }
        let mut ledger = Ledger::open(path)?;
        reconcile_workspace_id(&mut ledger, &marker)?;
        Ok(ledger)
    }

    /// The PostgreSQL ledger of `config` (its password from the variable
    /// `[ledger] password_env` names).
    pub fn connect(config: &crate::config::Config) -> Result<Ledger> {
        let Some(url) = &config.ledger_url else {
            return Err(Error::internal("no [ledger] url"));
        };
        let password = match &config.ledger_password_env {
            Some(name) => Some(std::env::var(name).map_err(|_| {
                Error::usage(format!(
                    "set the environment variable {name} to the ledger's PostgreSQL password (`[ledger] password_env`)"
                ))
            })?),
            None => None,
        };
        Ledger::open_postgres(url, password.as_deref())
    }

    /// The workspace's ledger for reading, without creating one (`None`
    /// before the first send): the SQLite file if it exists, or the
    /// PostgreSQL database.
    pub fn open_existing_for(config: &crate::config::Config) -> Result<Option<Ledger>> {
        if config.ledger_url.is_some() {
            return Ledger::connect(config).map(Some);
        }
        Ledger::open_existing(&config.ledger_path)
    }
}

/// Ties the ledger to the workspace: the id in `.xsell-workspace` and the
/// one the ledger keeps must agree (a ledger of another workspace is
/// refused); whichever is missing is written from the other.
fn reconcile_workspace_id(ledger: &mut Ledger, marker: &Path) -> Result<()> {
    let remembered = read_marker(marker)?;
    let path = ledger.path().to_path_buf();
    {
        match (remembered, ledger.meta(WORKSPACE_ID)?) {
            (Some(ours), Some(its)) if ours != its => {
                return Err(Error::usage(format!(
                    "{} belongs to another workspace ({its}; this one is {ours}, in {}): check `[ledger] path` in xsell.toml",
                    path.display(),
                    marker.display()
                )));
            }
            (Some(_), Some(_)) => {}
            // A ledger from before workspace ids: it becomes this workspace's.
            (Some(ours), None) => ledger.set_meta(WORKSPACE_ID, &ours)?,
            (None, Some(its)) => write_marker(marker, &its)?,
            (None, None) => {
                // Two first runs at once agree on the id the ledger kept.
                let id = ledger.meta_or_insert(WORKSPACE_ID, &new_id())?;
                write_marker(marker, &id)?;
            }
        }
    }
    Ok(())
}

/// Creates a complete ledger at `path` (schema and workspace id) in one
/// step: built aside, then linked into place, which fails if another
/// process got there first (two first sends at once). `false`: it did.
fn create_atomically(path: &Path, id: &str) -> Result<bool> {
    let aside = PathBuf::from(format!("{}.new-{}", path.display(), std::process::id()));
    let io = |what: &str, e: std::io::Error| {
        Error::internal(format!("cannot {what} {}: {e}", path.display()))
    };
    {
        let mut ledger = Ledger::open(&aside)?;
        ledger.set_meta(WORKSPACE_ID, id)?;
        // Closing checkpoints the write-ahead log into the file.
    }
    let linked = std::fs::hard_link(&aside, path);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", aside.display()));
    }
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io("create", e)),
    }
}

fn read_marker(marker: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(marker) {
        Ok(text) => Ok(Some(text.trim().to_string()).filter(|id| !id.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::internal(format!(
            "cannot read {}: {e}",
            marker.display()
        ))),
    }
}

fn write_marker(marker: &Path, id: &str) -> Result<()> {
    std::fs::write(marker, format!("{id}\n"))
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", marker.display())))
}

/// What shows that this workspace has sent before, if anything.
fn earlier_sends(marker: &Path, ledger: &Path, outbox: Option<&Path>) -> Option<String> {
    if marker.exists() {
        return Some(format!("{} (written with its ledger)", marker.display()));
    }
    // The lock of this very run (`xsell run` takes it first) shows nothing.
    let lock: PathBuf = ledger.with_file_name("xsell.lock");
    let ours = format!("pid {},", std::process::id());
    if lock.exists()
        && !std::fs::read_to_string(&lock).is_ok_and(|holder| holder.starts_with(&ours))
    {
        return Some(format!("the run lock file {}", lock.display()));
    }
    let outbox = outbox?;
    let has_mail = walk_has_eml(outbox, 2);
    has_mail.then(|| format!("the .eml files in {}", outbox.display()))
}

fn walk_has_eml(dir: &Path, depth: u32) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            depth > 0 && walk_has_eml(&path, depth - 1)
        } else {
            path.extension().is_some_and(|e| e == "eml")
        }
    })
}

fn new_id() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random source");
    format!("ws-{}", hex::encode(bytes))
}
