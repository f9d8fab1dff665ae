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
    let allow_private = host_is_private(url);
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("more than 5 redirects")
            } else if !allow_private && url_is_private(attempt.url()) {
                let target = crate::config::redact_url(attempt.url().as_str());
                attempt.error(format!(
                    "refused a redirect to a loopback or private address ({target})"
                ))
            } else {
                attempt.follow()
            }
        }))
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
        match fetch_once(&client, url, source.max_bytes) {
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

fn fetch_once(
    client: &reqwest::blocking::Client,
    url: &str,
    max_bytes: u64,
) -> Result<Vec<u8>, Fetch> {
    let response = client.get(url).send().map_err(|error| {
        let error = error.without_url();
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
    let too_large = |size: String| {
        Fetch::Fatal(format!(
            "the response is larger than `max_bytes` ({max_bytes}): {size}; raise `max_bytes` for this source if that is expected"
        ))
    };
    if let Some(announced) = announced.filter(|a| *a > max_bytes) {
        return Err(too_large(format!("{announced} bytes announced")));
    }
    let mut bytes = Vec::new();
    response
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| {
            let message = format!("the response body was cut off: {}", error_chain(&error));
            if error.kind() == std::io::ErrorKind::TimedOut {
                Fetch::Retryable(message)
            } else {
                Fetch::Fatal(message)
            }
        })?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large("more than that arrived".into()));
    }
    if let Some(announced) = announced
        && announced != bytes.len() as u64
    {
        return Err(Fetch::Fatal(format!(
            "the response body was cut off: {} of {announced} announced bytes arrived",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Whether the URL's host is (or resolves to) a loopback, private,
/// link-local or unspecified address.
fn url_is_private(url: &url::Url) -> bool {
    use std::net::{IpAddr, ToSocketAddrs};
    let private = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified()
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
    };
    match url.host() {
        Some(url::Host::Ipv4(v4)) => private(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => private(IpAddr::V6(v6)),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || (name, url.port_or_known_default().unwrap_or(80))
                    .to_socket_addrs()
                    .is_ok_and(|mut addrs| addrs.any(|a| private(a.ip())))
        }
        None => true,
    }
}

fn host_is_private(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| url_is_private(&u))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_private_addresses_are_told_apart_from_public_ones() {
        for private in [
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://0.0.0.0/",
        ] {
            assert!(host_is_private(private), "{private}");
        }
        for public in [
            "https://93.184.215.14/data.csv",
            "http://[2606:4700::1111]/",
        ] {
            assert!(!host_is_private(public), "{public}");
        }
    }
}
