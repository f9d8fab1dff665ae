//! A workspace folder opened for work: its config, its loaded data and its
//! checked campaigns. Commands that render (plan, preview, serve, send, run)
//! open it with [`open_checked`]: the config and the data must load, and
//! each campaign gets the verdict `xsell check` gives it — its file, its
//! templates, a sample render (MJML, merge tags, unsubscribe link, postal
//! address). A campaign with problems is set aside with them; the others go
//! on. [`Workspace::open`] (any problem fails it) serves commands that only
//! read the campaigns.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::campaign::{self, Campaign, CheckContext};
use crate::config::Config;
use crate::data::{self, Store, TableReport};
use crate::diagnostic::Diagnostics;
use crate::error::{Error, Result};
use crate::render::Renderer;
use crate::signing::SigningKey;

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
    pub placements: Vec<crate::placement::Placement>,
    pub problems: Diagnostics,
    /// Problems of placement files: kept apart, since a broken placement
    /// concerns `xsell listen` and `check`, never what is sent.
    pub placement_problems: Diagnostics,
}

/// Opens as much of the workspace as can be opened, collecting every problem.
pub fn inspect(root: &Path) -> Inspection {
    inspect_shard(root, None)
}

/// [`inspect`], keeping the events of one shard's customers only (see
/// [`data::load_shard`]).
pub fn inspect_shard(root: &Path, shard: Option<crate::shard::Shard>) -> Inspection {
    let mut problems = Diagnostics::default();
    let config = match Config::load(root) {
        Ok(config) => config,
        Err(found) => {
            problems.extend(found);
            return Inspection {
                config: None,
                loaded: None,
                campaigns: Vec::new(),
                placements: Vec::new(),
                problems,
                placement_problems: Diagnostics::default(),
            };
        }
    };
    let loaded = match data::load_shard(&config.data, root, shard) {
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
    let (placements, placement_problems) =
        crate::placement::load_all(&config.placements_dir, root, &context);
    Inspection {
        config: Some(config),
        loaded,
        campaigns,
        placements,
        problems,
        placement_problems,
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
                ..
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

    /// Opens the workspace at `root` with the campaigns whose files check
    /// (templates are not looked at), and the problems of the others — for
    /// commands that only read campaigns (offer codes, reports).
    pub fn open_lenient(root: &Path) -> Result<(Workspace, Diagnostics)> {
        let inspection = inspect(root);
        let (Some(config), Some(loaded)) = (inspection.config, inspection.loaded) else {
            return Err(Error::Files(inspection.problems));
        };
        Ok((
            Workspace {
                root: root.to_path_buf(),
                config,
                store: Arc::new(loaded.store),
                tables: loaded.reports,
                campaigns: inspection.campaigns,
            },
            inspection.problems,
        ))
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

/// A campaign set aside by the verdict: its id (or file name, when the file
/// does not parse) and its problems.
#[derive(Debug, Clone)]
pub struct Broken {
    pub name: String,
    pub problems: Diagnostics,
    /// False for a campaign whose file says `enabled: false`.
    pub enabled: bool,
}

/// A workspace opened with the verdict applied: the campaigns that check,
/// their compiled templates, and the campaigns set aside.
pub struct Opened {
    /// Its `campaigns` are those that check.
    pub workspace: Workspace,
    pub renderer: Renderer,
    pub broken: Vec<Broken>,
    /// Template problems of no campaign in particular (a file none uses).
    pub general: Diagnostics,
}

impl Opened {
    /// The campaign `id` (or file name), if it checks; its problems if not.
    pub fn campaign(&self, id: &str) -> Result<&Campaign> {
        if let Some(campaign) = campaign::find(&self.workspace.campaigns, id) {
            return Ok(campaign);
        }
        match self.broken.iter().find(|b| b.name == id) {
            Some(broken) => Err(Error::Files(broken.problems.clone())),
            None => self.workspace.campaign(id),
        }
    }

    /// Every problem set aside (campaigns and files), for pages that show them.
    pub fn problems(&self) -> Diagnostics {
        let mut all = self.general.clone();
        for broken in &self.broken {
            all.extend(broken.problems.clone());
        }
        all
    }

    /// Says on stderr which other campaigns were set aside, so a send of one
    /// campaign does not hide that its neighbours are broken.
    pub fn warn_about_others(&self, except: Option<&str>) {
        let names: Vec<&str> = self
            .broken
            .iter()
            .map(|b| b.name.as_str())
            .filter(|n| Some(*n) != except)
            .collect();
        if !names.is_empty() {
            crate::stderr::warning(&format!(
                "set aside, with problems (run `xsell check`): {}",
                names.join(", ")
            ));
        }
    }
}

/// Opens the workspace at `root` with the verdict applied (see the module
/// header). `now` dates the sample render (default: the data's last event,
/// as `check` does).
pub fn open_checked(root: &Path, now: Option<i64>) -> Result<Opened> {
    open_checked_shard(root, now, None)
}

/// [`open_checked`] for one shard's customers (`send`/`run`/`plan --shard`).
pub fn open_checked_shard(
    root: &Path,
    now: Option<i64>,
    shard: Option<crate::shard::Shard>,
) -> Result<Opened> {
    let inspection = inspect_shard(root, shard);
    let (Some(config), Some(loaded)) = (inspection.config, inspection.loaded) else {
        return Err(Error::Files(inspection.problems));
    };
    let store = loaded.store;
    // What is left are the campaign files' own problems: by file.
    let mut broken: Vec<Broken> = Vec::new();
    for problem in inspection.problems.iter() {
        let name = problem.file.file_stem().map_or_else(
            || problem.file.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        match broken.iter_mut().find(|b| b.name == name) {
            Some(entry) => entry.problems.push(problem.clone()),
            None => broken.push(Broken {
                name,
                problems: problem.clone().into(),
                enabled: true,
            }),
        }
    }
    let now = now.or_else(|| store.last_event_ts()).unwrap_or_default();
    let verdicts = crate::render::check::verdicts(
        &config,
        &inspection.campaigns,
        Some(&store),
        &SigningKey::from_config(&config),
        now,
    );
    if let Some(dkim) = verdicts.dkim {
        return Err(Error::Files(dkim.into()));
    }
    let mut campaigns = Vec::new();
    for campaign in inspection.campaigns {
        match verdicts.campaigns.get(&campaign.id) {
            Some(problems) => broken.push(Broken {
                name: campaign.id.clone(),
                problems: problems.clone(),
                enabled: campaign.enabled,
            }),
            None => campaigns.push(campaign),
        }
    }
    Ok(Opened {
        workspace: Workspace {
            root: root.to_path_buf(),
            config,
            store: Arc::new(store),
            tables: loaded.reports,
            campaigns,
        },
        renderer: verdicts.renderer,
        broken,
        general: verdicts.general,
    })
}
