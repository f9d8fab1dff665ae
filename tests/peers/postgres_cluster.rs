//! A private PostgreSQL cluster for tests and benchmarks (Debian's
//! `postgresql`): `initdb` in a temporary folder, `pg_ctl start` on a free
//! port of 127.0.0.1 — as the `postgres` user through `runuser` when run as
//! root —, stopped when dropped. Used by `tests/xsell/postgres.rs` and
//! `benches/ledger.rs`. (Each uses a part of it.)
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private PostgreSQL cluster; stopped and removed when dropped.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    dir: tempfile::TempDir,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Cluster {
    pub fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| {
                versions
                    .flatten()
                    .map(|e| e.path().join("bin"))
                    .filter(|b| b.join("initdb").exists())
                    .max()
            })
            .expect("PostgreSQL is missing: apt-get install postgresql (.ci/run does)");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let root = is_root();
        if root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let run = |program: &Path, args: &[&str]| {
            let mut command = if root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            } else {
                Command::new(program)
            };
            let output = command.args(args).output().unwrap();
            assert!(
                output.status.success(),
                "{} {args:?}: {}",
                program.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let data_text = data.display().to_string();
        run(
            &bin.join("initdb"),
            &[
                "-D",
                &data_text,
                "-A",
                "trust",
                "-U",
                "xsell",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let port = free_port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200",
            dir.path().display()
        );
        let log = dir.path().join("postgres.log").display().to_string();
        run(
            &bin.join("pg_ctl"),
            &["-D", &data_text, "-o", &options, "-l", &log, "-w", "start"],
        );
        Cluster {
            bin,
            data,
            port,
            dir,
        }
    }

    /// A new empty database; its URL.
    pub fn database(&self, name: &str) -> String {
        let mut client = postgres::Client::connect(
            &format!("postgres://xsell@127.0.0.1:{}/postgres", self.port),
            postgres::NoTls,
        )
        .unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        self.url(name)
    }

    pub fn url(&self, name: &str) -> String {
        format!("postgres://xsell@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs SQL on a database directly (tests that fake what a dead process left).
    pub fn sql(&self, name: &str, sql: &str) {
        let mut client = postgres::Client::connect(&self.url(name), postgres::NoTls).unwrap();
        client.batch_execute(sql).unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = command
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = &self.dir;
    }
}
