//! Real SMTP servers on 127.0.0.1 for the tests: Postfix's `smtp-sink`
//! (fast, well-behaved) and an aiosmtpd server that misbehaves on purpose
//! (`tests/peers/smtp_server.py`). Both are separate implementations from
//! the client under test. Missing tools fail the test with what to install.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; killed when dropped.
pub struct Server {
    pub port: u16,
    /// Where received messages are stored, one file each.
    pub store: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The stored messages (complete files only), sorted by name.
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.store)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.to_string_lossy().ends_with(".tmp"))
            .collect();
        paths.sort();
        // A file can be renamed away between listing and reading (a server finishing it): skip it.
        paths
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .collect()
    }

    /// How many messages are stored, without reading them: cheap enough to
    /// poll while a send is under way.
    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.store)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))
            .count()
    }

    /// The Message-ID header of every stored message.
    pub fn message_ids(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter_map(|m| header(m, "Message-ID"))
            .collect()
    }

    /// Waits until `count` messages are stored (smtp-sink writes asynchronously).
    pub fn wait_for(&self, count: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let stored = self.count();
            if stored >= count || Instant::now() > deadline {
                return stored;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The value of a header in a raw message (first occurrence, unfolded).
pub fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next().unwrap_or(message);
    let head = head.split("\n\n").next().unwrap_or(head);
    let prefix = format!("{}:", name.to_lowercase());
    let mut lines = head.lines().peekable();
    while let Some(line) = lines.next() {
        if line.to_lowercase().starts_with(&prefix) {
            let mut value = line[prefix.len()..].trim().to_string();
            while lines
                .peek()
                .is_some_and(|l| l.starts_with(' ') || l.starts_with('\t'))
            {
                value.push(' ');
                value.push_str(lines.next().unwrap().trim());
            }
            return Some(value);
        }
    }
    None
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn require(program: &str, install: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let path = Path::new(dir).join(program);
        if path.exists() {
            return path;
        }
    }
    panic!("`{program}` is not installed: {install} (.ci/run installs it)");
}

pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the SMTP server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Postfix's smtp-sink, storing every message (`-d`).
pub fn smtp_sink() -> Server {
    smtp_sink_with(&[])
}

/// smtp-sink with extra options (e.g. `-f RCPT`: refuse every recipient with a 5xx).
pub fn smtp_sink_with(options: &[&str]) -> Server {
    let program = require("smtp-sink", "apt-get install postfix");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    // smtp-sink drops to `nobody` when started as root; it must be able to write the store.
    let _ = Command::new("chmod")
        .args(["-R", "a+rwx"])
        .arg(dir.path())
        .status();
    let port = free_port();
    let mut command = Command::new(program);
    if is_root() {
        command.args(["-u", "nobody"]);
    }
    let child = command
        .args(options)
        .arg("-d")
        .arg(format!("{}/%Y%m%d%H%M%S.", store.display()))
        .arg(format!("127.0.0.1:{port}"))
        .arg("256")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start smtp-sink");
    wait_for_port(port);
    Server {
        port,
        store,
        child,
        _dir: dir,
    }
}

/// Options of the misbehaving server.
#[derive(Default)]
pub struct Flaky<'a> {
    pub transient_every: u32,
    pub drop_every: u32,
    pub bounce: &'a [&'a str],
    /// (certificate, key) PEM files: require STARTTLS, or with `implicit_tls` speak TLS at once.
    pub tls: Option<(&'a Path, &'a Path)>,
    pub implicit_tls: bool,
    /// Require AUTH and refuse every credential (535).
    pub refuse_auth: bool,
    /// Keep each DATA this long before answering, so deliveries overlap.
    pub hold_ms: u32,
    /// Where the server keeps the most deliveries in DATA at once per
    /// recipient domain (JSON); stored messages get `X-Accepted-At`.
    pub concurrency_file: Option<&'a Path>,
}

/// A private CA and a server certificate it signed for 127.0.0.1 (openssl):
/// (CA certificate, server certificate, server key), PEM files in `dir`.
pub fn private_ca_certificate(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = require("openssl", "apt-get install openssl");
    let run = |args: &[&str]| {
        let status = Command::new(&openssl)
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(status.success(), "openssl {args:?} failed");
    };
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=xsell test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// The aiosmtpd server of `tests/peers/smtp_server.py`.
pub fn flaky_server(options: Flaky<'_>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let port_file = dir.path().join("port");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/smtp_server.py");
    let mut command = Command::new("python3");
    command
        .arg(script)
        .arg("--store")
        .arg(&store)
        .arg("--port-file")
        .arg(&port_file);
    command.args([
        "--transient-every",
        &options.transient_every.to_string(),
        "--drop-every",
        &options.drop_every.to_string(),
    ]);
    for address in options.bounce {
        command.args(["--bounce", address]);
    }
    if let Some((certificate, key)) = options.tls {
        command
            .arg("--tls-cert")
            .arg(certificate)
            .arg("--tls-key")
            .arg(key);
        if options.implicit_tls {
            command.arg("--implicit-tls");
        }
    }
    if options.refuse_auth {
        command.arg("--refuse-auth");
    }
    if options.hold_ms > 0 {
        command.args(["--hold-ms", &options.hold_ms.to_string()]);
    }
    if let Some(file) = options.concurrency_file {
        command.arg("--concurrency-file").arg(file);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3 tests/peers/smtp_server.py");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut child = child;
    let port = loop {
        if let Ok(text) = std::fs::read_to_string(&port_file) {
            break text.trim().parse().unwrap();
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!(
                "the aiosmtpd test server exited ({status}): {stderr}\n(it needs `pip install aiosmtpd`; .ci/run installs it)"
            );
        }
        assert!(
            Instant::now() < deadline,
            "the aiosmtpd test server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    wait_for_port(port);
    Server {
        port,
        store,
        child,
        _dir: dir,
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
