//! `xsell serve`: the designers' preview server. A local web app (no
//! external assets, works offline) that shows any campaign's message for
//! any customer, desktop and mobile side by side, with the lists, reasons,
//! offer and caps status next to it — rendered by [`crate::preview`], the
//! send path itself.
//!
//! The workspace is watched ([`watch`]): when a template, a campaign or
//! `xsell.toml` changes, it is reloaded and every open page re-renders
//! (a WebSocket tells them). A file that does not check keeps the last good
//! workspace loaded and shows its problems (file, line, column, the line
//! itself) in the page as an overlay, and in the terminal.
//!
//! It listens on 127.0.0.1 unless told otherwise: the pages show customer
//! data, and only the workspace's own.

pub mod pages;
mod routes;
mod watch;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tokio::sync::watch as channel;

use crate::config::Config;
use crate::diagnostic::Diagnostics;
use crate::error::{Error, Result};
use crate::preview::Previewer;
use crate::send::TransportSpec;

/// How to run the server.
pub struct Options {
    pub root: PathBuf,
    pub bind: IpAddr,
    pub port: u16,
    /// The time pages evaluate at unless they say otherwise (`--now`; default the clock).
    pub now: Option<i64>,
    /// `--now next`: pages show each campaign's next moment unless they say otherwise.
    pub next: bool,
    /// "send test" uses this transport instead of the configured one.
    pub transport: Option<String>,
}

/// What the server knows at one moment: the last workspace that loaded,
/// and the problems of the files as they are now (empty when all is well).
pub struct Snapshot {
    /// Counts reloads; pages ask for it so a reload is never missed.
    pub generation: u64,
    pub previewer: Option<Arc<Previewer>>,
    pub problems: Diagnostics,
}

/// The campaign and the time a page is about, resolved against the
/// workspace as it is when the request comes.
pub struct Selected {
    pub snapshot: Arc<Snapshot>,
    pub previewer: Arc<Previewer>,
    /// The campaign's id (the address may give its file name).
    pub campaign_id: String,
    pub now: i64,
    /// `now` as the address gives it (absent: the server's default).
    pub explicit_now: Option<String>,
    /// The A/B variant asked for (absent: the customer's own).
    pub variant: Option<String>,
}

impl Selected {
    pub fn campaign(&self) -> &crate::campaign::Campaign {
        self.previewer
            .campaign(&self.campaign_id)
            .expect("resolved against this previewer")
    }
}

/// Shared by every request and the file watcher.
pub struct Shared {
    pub root: PathBuf,
    /// The address the server listens on (its only name besides loopback's).
    pub bind: IpAddr,
    pub now: Option<i64>,
    pub next: bool,
    pub transport: Option<String>,
    current: RwLock<Arc<Snapshot>>,
    reloads: channel::Sender<u64>,
}

impl Shared {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.read().expect("snapshot lock").clone()
    }

    /// Publishes a reload: open pages re-render.
    fn publish(&self, previewer: Option<Arc<Previewer>>, problems: Diagnostics) {
        let mut current = self.current.write().expect("snapshot lock");
        let generation = current.generation + 1;
        // While a campaign that worked is broken, its page keeps showing the
        // last good version under the problems; a campaign broken from the
        // start does not hold back the others.
        let lost_one = match (&previewer, &current.previewer) {
            (Some(new), Some(old)) => old.campaigns.iter().any(|c| new.campaign(&c.id).is_none()),
            (None, _) => true,
            (Some(_), None) => false,
        };
        let previewer = if lost_one {
            current.previewer.clone().or(previewer)
        } else {
            previewer
        };
        *current = Arc::new(Snapshot {
            generation,
            previewer,
            problems,
        });
        drop(current);
        let _ = self.reloads.send(generation);
    }

    /// The transport "send test" uses.
    pub fn transport(&self, config: &Config) -> Result<TransportSpec> {
        match &self.transport {
            Some(url) => TransportSpec::parse(url, &self.root),
            None => Ok(TransportSpec::from_config(&config.transport)),
        }
    }
}

/// Loads the whole workspace (config, data, campaigns, templates).
fn load(root: &Path) -> (Option<Previewer>, Diagnostics) {
    let inspection = crate::workspace::inspect(root);
    let (Some(config), Some(loaded)) = (inspection.config, inspection.loaded) else {
        return (None, inspection.problems);
    };
    compile(
        root,
        Arc::new(config),
        Arc::new(loaded.store),
        inspection.campaigns,
        inspection.problems,
    )
}

/// Compiles the templates of `campaigns` into a previewer of those that
/// check (the verdict `xsell check` gives); `problems` (the campaign files'
/// own) and those of the templates are returned for the pages to show.
fn compile(
    root: &Path,
    config: Arc<Config>,
    store: Arc<crate::data::Store>,
    campaigns: Vec<crate::campaign::Campaign>,
    mut problems: Diagnostics,
) -> (Option<Previewer>, Diagnostics) {
    let verdicts = crate::render::check::verdicts(
        &config,
        &campaigns,
        Some(&store),
        &crate::signing::SigningKey::from_config(&config),
        store.last_event_ts().unwrap_or_default(),
    );
    problems.extend(verdicts.general);
    if let Some(dkim) = verdicts.dkim {
        problems.push(dkim);
        return (None, problems);
    }
    let good: Vec<crate::campaign::Campaign> = campaigns
        .into_iter()
        .filter(|c| !verdicts.campaigns.contains_key(&c.id))
        .collect();
    for found in verdicts.campaigns.into_values() {
        problems.extend(found);
    }
    (
        Some(Previewer::new(
            root.to_path_buf(),
            config,
            store,
            good,
            verdicts.renderer,
        )),
        problems,
    )
}

/// Runs the server until the process is stopped. `ready` is called with the
/// address once it listens.
pub fn run(options: Options, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let (previewer, problems) = load(&options.root);
    // Templates, campaigns or data that do not check yet are shown in the
    // pages until fixed; only a config that cannot be read stops the server
    // (it says what to watch).
    if previewer.is_some() && !problems.is_empty() {
        eprintln!(
            "{problems}\n\n{} problem{}; the campaigns that check are served, the pages show the rest",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
    }
    let config = match &previewer {
        Some(previewer) => previewer.config.clone(),
        None => match Config::load(&options.root) {
            Ok(config) => {
                eprintln!(
                    "{problems}\n\n{} problem{}; the pages show them until they are fixed",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
                Arc::new(config)
            }
            Err(_) => return Err(Error::Files(problems)),
        },
    };
    let (reloads, _) = channel::channel(0);
    let shared = Arc::new(Shared {
        root: options.root.clone(),
        bind: options.bind,
        now: options.now,
        next: options.next,
        transport: options.transport.clone(),
        current: RwLock::new(Arc::new(Snapshot {
            generation: 0,
            previewer: previewer.map(Arc::new),
            problems,
        })),
        reloads,
    });
    let _watcher = watch::start(shared.clone(), &config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let address = SocketAddr::new(options.bind, options.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| Error::usage(format!("cannot listen on {address}: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::internal(format!("no local address: {e}")))?;
        ready(address);
        axum::serve(listener, routes::router(shared))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Error::Failed(format!("the preview server stopped: {e}")))
    })
}
