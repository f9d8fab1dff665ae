//! What the placements API and the landing page read — the store, its
//! models, the placements and campaigns — held as one value and swapped
//! whole when the data changes: a request takes the engine of the moment
//! (an `Arc`) and finishes on it even if a reload lands meanwhile, so no
//! request ever sees half-loaded data or waits for a load.
//!
//! A reload happens when a data file or a placement file changes (changes
//! within [`SETTLE`] are one reload) or on SIGHUP. It loads everything
//! beside the engine in use, warms the models up, then swaps; a reload that
//! fails (a broken file mid-copy) keeps the engine in use and says why.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, mpsc};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::campaign::Campaign;
use crate::config::{Config, SourceLocation};
use crate::data::Store;
use crate::error::{Error, Result};
use crate::placement::Placement;
use crate::recommend::Recommender;
use crate::render::context::Memo;

/// Changes closer together than this are one reload (a copy is many writes).
const SETTLE: Duration = Duration::from_millis(300);

/// One consistent generation of the data and what is built from it.
pub struct Engine {
    pub store: Store,
    pub model: Recommender,
    pub placements: Vec<Placement>,
    pub campaigns: Vec<Campaign>,
    /// The time lists are resolved at: `--now`, else one second after the
    /// newest event (the data's own "now": nothing newer is known).
    pub now: i64,
    /// The newest event's time (`None`: no events).
    pub data_as_of: Option<i64>,
    /// When this generation was loaded (Unix seconds).
    pub loaded_at: i64,
    /// Product cards and tracked URLs per placement (its UTM parameters).
    memos: HashMap<String, Memo>,
    /// For landing pages: per campaign.
    campaign_memos: HashMap<String, Memo>,
    /// The landing page's template (or why it does not compile).
    pub landing: std::result::Result<tera::Tera, String>,
}

impl Engine {
    /// Builds the models and warms them up (every placement resolved once),
    /// so the first request after a swap is as fast as any.
    pub fn build(
        store: Store,
        campaigns: Vec<Campaign>,
        placements: Vec<Placement>,
        templates_dir: &Path,
        fixed_now: Option<i64>,
    ) -> Engine {
        let model = Recommender::build(&store);
        let data_as_of = store.last_event_ts();
        let now = fixed_now.unwrap_or_else(|| data_as_of.map_or_else(clock, |ts| ts + 1));
        let memos = placements
            .iter()
            .map(|p| (p.id.clone(), Memo::new(&p.utm)))
            .collect();
        let campaign_memos = campaigns
            .iter()
            .map(|c| (c.id.clone(), Memo::new(&c.utm)))
            .collect();
        let engine = Engine {
            store,
            model,
            placements,
            campaigns,
            now,
            data_as_of,
            loaded_at: clock(),
            memos,
            campaign_memos,
            landing: super::landing::compile(templates_dir),
        };
        if let Err(problem) = &engine.landing {
            crate::stderr::warning(&format!("the landing page cannot be shown: {problem}"));
        }
        engine.warm_up();
        engine
    }

    /// Loads the workspace again (config, data, campaigns, placements).
    pub fn load(root: &Path, fixed_now: Option<i64>) -> Result<Engine> {
        let inspection = crate::workspace::inspect(root);
        let (Some(config), Some(loaded)) = (inspection.config, inspection.loaded) else {
            return Err(Error::Files(inspection.problems));
        };
        if !inspection.placement_problems.is_empty() {
            crate::stderr::warning(&format!(
                "placements left out:\n{}",
                inspection.placement_problems
            ));
        }
        Ok(Engine::build(
            loaded.store,
            inspection.campaigns,
            inspection.placements,
            &config.templates_dir,
            fixed_now,
        ))
    }

    fn warm_up(&self) {
        let known = (!self.store.customers().is_empty()).then_some(0);
        for placement in &self.placements {
            for customer in [None, known] {
                placement.resolve(&self.store, &self.model, customer, &[], self.now);
            }
        }
    }

    pub fn placement(&self, id: &str) -> Option<&Placement> {
        self.placements.iter().find(|p| p.id == id)
    }

    pub fn campaign(&self, id: &str) -> Option<&Campaign> {
        self.campaigns.iter().find(|c| c.id == id)
    }

    pub fn placement_memo(&self, id: &str) -> Option<&Memo> {
        self.memos.get(id)
    }

    pub fn campaign_memo(&self, id: &str) -> Option<&Memo> {
        self.campaign_memos.get(id)
    }
}

fn clock() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The engine in use, swapped whole by reloads.
pub struct Current(RwLock<Arc<Engine>>);

impl Current {
    pub fn new(engine: Engine) -> Current {
        Current(RwLock::new(Arc::new(engine)))
    }

    /// The engine of the moment; keep it for the whole request.
    pub fn get(&self) -> Arc<Engine> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn swap(&self, engine: Engine) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(engine);
    }
}

/// Why a reload was asked for.
pub enum Reload {
    Changed(notify::Result<notify::Event>),
    Signal,
}

/// Starts the reloader: it watches the data files and placements, and
/// reloads on their changes or on a [`Reload::Signal`] sent to the returned
/// channel. The watcher stops when the returned watcher is dropped.
pub fn start_reloader(
    current: Arc<Current>,
    config: &Config,
    fixed_now: Option<i64>,
) -> Result<(notify::RecommendedWatcher, mpsc::Sender<Reload>)> {
    let (sender, requests) = mpsc::channel::<Reload>();
    let events = sender.clone();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = events.send(Reload::Changed(event));
    })
    .map_err(|e| Error::internal(format!("cannot watch the data files: {e}")))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for source in [
        &config.data.catalog,
        &config.data.customers,
        &config.data.events,
    ] {
        if let SourceLocation::File(path) = &source.location {
            files.push(path.clone());
        }
    }
    // Watch the folders: a data file is often replaced (written aside, renamed).
    let mut folders: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    folders.sort();
    folders.dedup();
    for folder in &folders {
        watcher
            .watch(folder, RecursiveMode::NonRecursive)
            .map_err(|e| Error::internal(format!("cannot watch {}: {e}", folder.display())))?;
    }
    let placements_dir = config.placements_dir.clone();
    if placements_dir.is_dir() {
        watcher
            .watch(&placements_dir, RecursiveMode::NonRecursive)
            .map_err(|e| {
                Error::internal(format!("cannot watch {}: {e}", placements_dir.display()))
            })?;
    }
    let root = config.root.clone();
    let relevant = move |event: &notify::Result<notify::Event>| -> bool {
        let Ok(event) = event else { return false };
        if event.kind.is_access() {
            return false;
        }
        event
            .paths
            .iter()
            .any(|p| files.contains(p) || p.parent() == Some(placements_dir.as_path()))
    };
    std::thread::Builder::new()
        .name("xsell-reload".into())
        .spawn(move || {
            while let Ok(first) = requests.recv() {
                let mut wanted = match &first {
                    Reload::Signal => true,
                    Reload::Changed(event) => relevant(event),
                };
                while let Ok(next) = requests.recv_timeout(SETTLE) {
                    wanted |= match &next {
                        Reload::Signal => true,
                        Reload::Changed(event) => relevant(event),
                    };
                }
                if !wanted {
                    continue;
                }
                match Engine::load(&root, fixed_now) {
                    Ok(engine) => {
                        let as_of = engine
                            .data_as_of
                            .map_or("no events".to_string(), crate::calendar::rfc3339);
                        current.swap(engine);
                        crate::stderr::note(&format!("reloaded: data as of {as_of}"));
                    }
                    Err(error) => crate::stderr::warning(&format!(
                        "reload failed; still serving the data loaded before:\n{}",
                        crate::commands::describe_error(&error)
                    )),
                }
            }
        })
        .map_err(|e| Error::internal(format!("cannot start the reloader: {e}")))?;
    Ok((watcher, sender))
}
