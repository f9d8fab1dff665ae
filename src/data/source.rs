//! Opening a data source: a local file (streamed) or an `http(s)://` URL
//! (fetched whole, with timeouts and retries, and refused when incomplete).

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::time::Duration;

use crate::config::{SourceConfig, SourceLocation};

/// An open source, ready to be read from the start.
pub enum Opened {
    File(BufReader<File>),
    Fetched(Cursor<Vec<u8>>),
}

impl Opened {
    /// Size in bytes, when known.
    pub fn size(&self) -> u64 {
        match self {
            Opened::File(file) => file.get_ref().metadata().map_or(0, |m| m.len()),
            Opened::Fetched(bytes) => bytes.get_ref().len() as u64,
        }
    }
}

impl Read for Opened {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Opened::File(file) => file.read(buf),
            Opened::Fetched(bytes) => bytes.read(buf),
        }
    }
}

/// Opens the source; the error is a plain message (the caller names the source).
pub fn open(source: &SourceConfig) -> Result<Opened, String> {
    match &source.location {
        SourceLocation::File(path) => File::open(path)
            .map(|file| Opened::File(BufReader::with_capacity(1 << 20, file)))
            .map_err(|error| format!("cannot open: {error}")),
        SourceLocation::Url(url) => {
            fetch(url, source).map(|bytes| Opened::Fetched(Cursor::new(bytes)))
        }
    }
}

/// GETs `url` whole. Server errors (5xx), timeouts and dropped connections are
/// retried with a growing pause, up to `source.attempts` tries; any other
/// non-2xx status, and a body shorter than announced, are errors at once.
pub fn fetch(url: &str, source: &SourceConfig) -> Result<Vec<u8>, String> {
    install_crypto_provider();
    let timeout = source.timeout.to_std().unwrap_or(Duration::from_secs(30));
    let client = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("xsell/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| format!("cannot start an HTTP client: {error}"))?;
    let mut last_problem = String::new();
    for attempt in 1..=source.attempts {
        if attempt > 1 {
            std::thread::sleep(Duration::from_millis(200 * (1 << (attempt - 2).min(5))));
        }
        match fetch_once(&client, url) {
            Ok(bytes) => return Ok(bytes),
            Err(Fetch::Retryable(problem)) => last_problem = problem,
            Err(Fetch::Fatal(problem)) => return Err(problem),
        }
    }
    Err(format!(
        "{last_problem} (gave up after {} attempts)",
        source.attempts
    ))
}

enum Fetch {
    Retryable(String),
    Fatal(String),
}

fn fetch_once(client: &reqwest::blocking::Client, url: &str) -> Result<Vec<u8>, Fetch> {
    let response = client.get(url).send().map_err(|error| {
        let message = format!("GET failed: {}", error_chain(&error));
        if error.is_timeout() || error.is_connect() || error.is_request() {
            Fetch::Retryable(message)
        } else {
            Fetch::Fatal(message)
        }
    })?;
    let status = response.status();
    if status.is_server_error() {
        return Err(Fetch::Retryable(format!("server answered HTTP {status}")));
    }
    if !status.is_success() {
        return Err(Fetch::Fatal(format!("server answered HTTP {status}")));
    }
    let announced = response.content_length();
    let bytes = response.bytes().map_err(|error| {
        let message = format!("the response body was cut off: {}", error_chain(&error));
        if error.is_timeout() {
            Fetch::Retryable(message)
        } else {
            Fetch::Fatal(message)
        }
    })?;
    if let Some(announced) = announced
        && announced != bytes.len() as u64
    {
        return Err(Fetch::Fatal(format!(
            "the response body was cut off: {} of {announced} announced bytes arrived",
            bytes.len()
        )));
    }
    Ok(bytes.to_vec())
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// rustls needs one process-wide crypto provider; we use ring (no C toolchain beyond cc).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
