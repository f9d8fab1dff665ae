//! Helpers shared by the integration tests: temporary workspaces, running
//! the real `xsell` binary, tiny hand-made shops.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the example workspace).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary workspace: a folder with xsell.toml, campaigns/, templates/ and data.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// An empty folder.
    pub fn empty() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A copy of the repository's example workspace (config, campaigns, templates, fixtures).
    pub fn example() -> Workspace {
        let workspace = Workspace::empty();
        for item in [
            "xsell.toml",
            "campaigns",
            "templates",
            "fixtures",
            "placements",
        ] {
            copy_tree(&repo().join(item), &workspace.path().join(item));
        }
        workspace
    }

    /// A small hand-made shop: the config points at `data/*.csv`, written from the texts given.
    pub fn tiny(catalog: &str, customers: &str, events: &str) -> Workspace {
        let workspace = Workspace::empty();
        workspace.write("xsell.toml", TINY_CONFIG);
        workspace.write("data/catalog.csv", catalog);
        workspace.write("data/customers.csv", customers);
        workspace.write("data/events.csv", events);
        std::fs::create_dir_all(workspace.path().join("campaigns")).unwrap();
        std::fs::create_dir_all(workspace.path().join("templates")).unwrap();
        workspace
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).unwrap()
    }

    /// Runs `xsell --workspace <this> <args>`.
    pub fn xsell(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("run xsell");
        Run::from(output)
    }

    /// The `xsell --workspace <this> <args>` command, not started (with a test signing key).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xsell"));
        command
            .arg("--workspace")
            .arg(self.path())
            .args(args)
            .env_remove("XSELL_WORKSPACE")
            .env("XSELL_SECRET", "xsell-tests-signing-key");
        command
    }
}

pub const TINY_CONFIG: &str = r#"
[sender]
from = "Tiny Shop <hello@shop.example>"
[unsubscribe]
url = "https://shop.example/unsubscribe?token={token}"
[data]
catalog = { path = "data/catalog.csv" }
customers = { path = "data/customers.csv" }
events = { path = "data/events.csv" }
"#;

pub const TINY_CATALOG: &str = "\
id,name,category,manufacturer,price,currency,rating,rating_count,stock,created_at,url,image_url
P1,Gentle Body Soap,Body Care,Maison Douce,12.00,USD,4.6,120,50,2026-01-01T00:00:00Z,https://shop.example/p/P1,https://shop.example/i/P1.jpg
P2,Hydrating Moisturiser,Body Care,Maison Douce,24.00,USD,4.8,80,10,2026-01-01T00:00:00Z,https://shop.example/p/P2,https://shop.example/i/P2.jpg
";

pub const TINY_CUSTOMERS: &str = "\
id,email,first_name,locale,timezone,tier,consent,created_at
C1,ana@example.com,Ana,en-US,America/New_York,gold,true,2025-06-01T00:00:00Z
C2,ben@example.com,Ben,fr-FR,Europe/Paris,silver,false,2025-06-01T00:00:00Z
";

pub const TINY_EVENTS: &str = "\
ts,customer_id,kind,product_id,order_id,quantity,unit_price
2026-11-10T10:00:00Z,C1,view,P1,,,
2026-11-10T10:05:00Z,C1,order,P1,O1,1,12.00
2026-11-10T10:05:00Z,C1,order,P2,O1,2,24.00
";

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else if from.is_file() {
        std::fs::copy(from, to).unwrap();
    }
}
