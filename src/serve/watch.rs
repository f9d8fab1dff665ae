//! Watching the workspace: a change to a template, a campaign or
//! `xsell.toml` reloads it (changes within 100 ms are taken together) and
//! publishes the result; problems are printed in the terminal as well as
//! shown in the pages. A change to `xsell.toml` reloads everything,
//! data included; templates and campaigns reload on their own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::{Shared, compile, load};
use crate::campaign::{self, CheckContext};
use crate::config::{CONFIG_FILE, Config};
use crate::error::{Error, Result};

/// Changes closer together than this are one reload (an editor's save is several events).
const SETTLE: Duration = Duration::from_millis(100);

/// Starts watching; the watcher stops when the returned value is dropped.
pub fn start(shared: Arc<Shared>, config: &Config) -> Result<notify::RecommendedWatcher> {
    let (events, changes) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(events)
        .map_err(|e| Error::internal(format!("cannot watch the workspace: {e}")))?;
    let watched: [(&Path, RecursiveMode); 3] = [
        (&shared.root, RecursiveMode::NonRecursive),
        (&config.templates_dir, RecursiveMode::Recursive),
        (&config.campaigns_dir, RecursiveMode::Recursive),
    ];
    for (path, mode) in watched {
        watcher
            .watch(path, mode)
            .map_err(|e| Error::internal(format!("cannot watch {}: {e}", path.display())))?;
    }
    std::thread::Builder::new()
        .name("xsell-watch".into())
        .spawn(move || reload_on_change(&shared, &changes))
        .map_err(|e| Error::internal(format!("cannot start the watcher: {e}")))?;
    Ok(watcher)
}

fn reload_on_change(shared: &Shared, changes: &mpsc::Receiver<notify::Result<notify::Event>>) {
    while let Ok(first) = changes.recv() {
        let mut paths = relevant(&shared.root, first);
        while let Ok(next) = changes.recv_timeout(SETTLE) {
            paths.extend(relevant(&shared.root, next));
        }
        if paths.is_empty() {
            continue;
        }
        paths.sort();
        paths.dedup();
        let config_changed = paths
            .iter()
            .any(|p| p.file_name() == Some(CONFIG_FILE.as_ref()));
        let (previewer, problems) = if config_changed {
            load(&shared.root)
        } else {
            reload_files(shared)
        };
        // Editors and tools save through temporary files: name the files that remain.
        let changed: Vec<String> = paths
            .iter()
            .filter(|p| p.exists())
            .map(|p| {
                p.strip_prefix(&shared.root)
                    .unwrap_or(p)
                    .display()
                    .to_string()
            })
            .collect();
        if problems.is_empty() {
            eprintln!("reloaded ({})", changed.join(", "));
        } else {
            eprintln!(
                "{problems}\n\n{} problem{} after changing {}; pages show the last good version",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                changed.join(", ")
            );
        }
        shared.publish(previewer.map(Arc::new), problems);
    }
}

/// Campaigns and templates read again, over the data already loaded.
fn reload_files(
    shared: &Shared,
) -> (
    Option<crate::preview::Previewer>,
    crate::diagnostic::Diagnostics,
) {
    let snapshot = shared.snapshot();
    let Some(previous) = &snapshot.previewer else {
        return load(&shared.root);
    };
    let config: Arc<Config> = previous.config.clone();
    let context = CheckContext {
        store: Some(&previous.store),
        templates_dir: &config.templates_dir,
        shop_timezone: config.shop.timezone,
    };
    let (campaigns, problems) = campaign::load_all(&config.campaigns_dir, &shared.root, &context);
    compile(
        &shared.root,
        config.clone(),
        previous.store.clone(),
        campaigns,
        problems,
    )
}

/// The paths of an event worth a reload: created, changed, renamed or
/// removed files, not editors' swap and backup files, not the ledger or outbox.
fn relevant(root: &Path, event: notify::Result<notify::Event>) -> Vec<PathBuf> {
    let Ok(event) = event else {
        return Vec::new();
    };
    if matches!(event.kind, notify::EventKind::Access(_)) {
        return Vec::new();
    }
    event
        .paths
        .into_iter()
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let scratch = name.starts_with('.')
                || name.ends_with('~')
                || name.ends_with(".swp")
                || name.ends_with(".tmp");
            let in_root = path.parent() == Some(root);
            !scratch && (!in_root || name == CONFIG_FILE)
        })
        .collect()
}
