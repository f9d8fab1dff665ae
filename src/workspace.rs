//! A workspace folder opened for work: its config, its loaded data and its
//! checked campaigns. Every command but `check` (which wants to see *all*
//! problems) opens one with [`Workspace::open`], which fails on any problem.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::campaign::{self, Campaign, CheckContext};
use crate::config::Config;
use crate::data::{self, Store, TableReport};
use crate::diagnostic::Diagnostics;
use crate::error::{Error, Result};

pub struct Workspace {
    pub root: PathBuf,
    pub config: Config,
    pub store: Arc<Store>,
    pub tables: Vec<TableReport>,
    pub campaigns: Vec<Campaign>,
}

/// Everything found while opening a workspace, good and bad; `check` shows it all.
pub struct Inspection {
    pub config: Option<Config>,
    pub loaded: Option<data::Loaded>,
    pub campaigns: Vec<Campaign>,
    pub problems: Diagnostics,
}

/// Opens as much of the workspace as can be opened, collecting every problem.
pub fn inspect(root: &Path) -> Inspection {
    let mut problems = Diagnostics::default();
    let config = match Config::load(root) {
        Ok(config) => config,
        Err(found) => {
            problems.extend(found);
            return Inspection {
                config: None,
                loaded: None,
                campaigns: Vec::new(),
                problems,
            };
        }
    };
    let loaded = match data::load(&config.data, root) {
        Ok(loaded) => Some(loaded),
        Err(found) => {
            problems.extend(found);
            None
        }
    };
    let context = CheckContext {
        store: loaded.as_ref().map(|l| &l.store),
        templates_dir: &config.templates_dir,
        shop_timezone: config.shop.timezone,
    };
    let (campaigns, found) = campaign::load_all(&config.campaigns_dir, root, &context);
    problems.extend(found);
    Inspection {
        config: Some(config),
        loaded,
        campaigns,
        problems,
    }
}

impl Workspace {
    /// Opens the workspace at `root`; any problem in config, data or campaigns fails it.
    pub fn open(root: &Path) -> Result<Workspace> {
        let inspection = inspect(root);
        match inspection {
            Inspection {
                config: Some(config),
                loaded: Some(loaded),
                campaigns,
                problems,
            } if problems.is_empty() => Ok(Workspace {
                root: root.to_path_buf(),
                config,
                store: Arc::new(loaded.store),
                tables: loaded.reports,
                campaigns,
            }),
            Inspection { problems, .. } => Err(Error::Files(problems)),
        }
    }

    /// The campaign with this id (or file name without extension).
    pub fn campaign(&self, id: &str) -> Result<&Campaign> {
        campaign::find(&self.campaigns, id).ok_or_else(|| {
            let known: Vec<&str> = self.campaigns.iter().map(|c| c.id.as_str()).collect();
            Error::usage(format!(
                "no campaign `{id}`; the campaigns are: {}",
                known.join(", ")
            ))
        })
    }
}
