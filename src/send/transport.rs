//! Where messages go: the `outbox` folder (the default, no server needed) or
//! an SMTP server. Configured in `xsell.toml`, or overridden for one run by
//! `--transport smtp://127.0.0.1:2525` / `smtps://host` / `outbox:DIR`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{SmtpConfig, TlsMode, TransportConfig};
use crate::error::{Error, Result};

use super::outbox::Outbox;
use super::smtp::{SmtpPool, SmtpTarget};

/// A transport as configured, before any connection is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportSpec {
    Outbox { dir: PathBuf },
    Smtp(SmtpConfig),
}

impl TransportSpec {
    pub fn from_config(config: &TransportConfig) -> TransportSpec {
        match config {
            TransportConfig::Outbox { dir } => TransportSpec::Outbox { dir: dir.clone() },
            TransportConfig::Smtp(smtp) => TransportSpec::Smtp(smtp.clone()),
        }
    }

    /// `smtp://host[:port][?tls=none|starttls][&allow_insecure=true]`, `smtps://host[:port]`, `outbox:DIR`.
    /// `smtp://` to a loopback address is plain; to any other host it requires STARTTLS.
    pub fn parse(text: &str, root: &Path) -> Result<TransportSpec> {
        let invalid = |why: &str| {
            Error::usage(format!(
                "invalid --transport `{text}`: {why} (expected smtp://host:port, smtps://host:port or outbox:DIR)"
            ))
        };
        if let Some(dir) = text.strip_prefix("outbox:") {
            if dir.is_empty() {
                return Err(invalid("no folder after `outbox:`"));
            }
            return Ok(TransportSpec::Outbox {
                dir: root.join(dir),
            });
        }
        let url = url::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        let (default_port, implicit_tls) = match url.scheme() {
            "smtp" => (25, false),
            "smtps" => (465, true),
            _ => return Err(invalid("unknown scheme")),
        };
        let host = url
            .host_str()
            .ok_or_else(|| invalid("no host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let mut tls = if implicit_tls {
            TlsMode::Tls
        } else if is_loopback(&host) {
            TlsMode::None
        } else {
            TlsMode::Starttls
        };
        let mut allow_insecure = false;
        for (name, value) in url.query_pairs() {
            match (&*name, &*value) {
                ("tls", "none") if !implicit_tls => tls = TlsMode::None,
                ("tls", "starttls") if !implicit_tls => tls = TlsMode::Starttls,
                ("allow_insecure", "true") => allow_insecure = true,
                _ => return Err(invalid(&format!("unknown option `{name}={value}`"))),
            }
        }
        Ok(TransportSpec::Smtp(SmtpConfig {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            username_env: None,
            password_env: None,
            timeout: chrono::TimeDelta::seconds(30),
            allow_insecure,
            hello_name: None,
            ca_file: None,
        }))
    }

    /// Short description for logs: never includes credentials.
    pub fn describe(&self) -> String {
        match self {
            TransportSpec::Outbox { dir } => format!("outbox {}", dir.display()),
            TransportSpec::Smtp(smtp) => format!(
                "smtp {}:{} ({})",
                smtp.host,
                smtp.port,
                match smtp.tls {
                    TlsMode::None => "no TLS",
                    TlsMode::Starttls => "STARTTLS",
                    TlsMode::Tls => "TLS",
                }
            ),
        }
    }

    /// Opens the transport: checks the outbox folder, or the SMTP settings and credentials.
    pub fn open(&self, concurrency: usize) -> Result<Transport> {
        match self {
            TransportSpec::Outbox { dir } => Ok(Transport::Outbox(Outbox::new(dir)?)),
            TransportSpec::Smtp(smtp) => {
                if smtp.tls == TlsMode::None && !is_loopback(&smtp.host) && !smtp.allow_insecure {
                    return Err(Error::usage(format!(
                        "refusing to send without TLS to {}: `tls = \"none\"` is only for loopback servers (set `allow_insecure = true` to force it)",
                        smtp.host
                    )));
                }
                let credentials = match (&smtp.username_env, &smtp.password_env) {
                    (Some(user), Some(password)) => Some((read_env(user)?, read_env(password)?)),
                    (None, None) => None,
                    _ => {
                        return Err(Error::usage(
                            "give both `username_env` and `password_env`, or neither",
                        ));
                    }
                };
                let target = SmtpTarget {
                    host: smtp.host.clone(),
                    port: smtp.port,
                    tls: smtp.tls,
                    credentials,
                    timeout: smtp.timeout.to_std().unwrap_or(Duration::from_secs(30)),
                    hello_name: smtp.hello_name.clone(),
                    ca_file: smtp.ca_file.clone(),
                };
                Ok(Transport::Smtp(SmtpPool::new(target, concurrency)?))
            }
        }
    }
}

fn read_env(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| {
        Error::usage(format!(
            "the environment variable {name} (named in xsell.toml) is not set"
        ))
    })
}

pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An open transport.
pub enum Transport {
    Outbox(Outbox),
    Smtp(SmtpPool),
}

/// What happened to one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted (the server's 250, or the file written).
    Accepted,
    /// Worth retrying: 4xx, dropped connection, timeout.
    Transient(String),
    /// The server refused the recipient (5xx on RCPT): a hard bounce.
    Bounced(String),
    /// The server refused this message (5xx elsewhere): do not retry it.
    Rejected(String),
    /// The transport cannot send anything (the server refused our
    /// credentials): the run stops at once; the message is retried later.
    Fatal(String),
}

impl Transport {
    /// Delivers one message on worker `worker`'s connection.
    pub async fn deliver(
        &self,
        worker: usize,
        envelope_from: &str,
        to: &str,
        bytes: &[u8],
        file_name: &str,
        campaign: &str,
    ) -> Delivery {
        match self {
            Transport::Outbox(outbox) => outbox.write(campaign, file_name, bytes),
            Transport::Smtp(pool) => pool.deliver(worker, envelope_from, to, bytes).await,
        }
    }

    /// Sends one test message to `to` — not a customer's mail, so no ledger
    /// and no retry — and closes the connection; the server's refusal is the error.
    pub async fn send_test(
        &self,
        envelope_from: &str,
        to: &str,
        bytes: &[u8],
        file_name: &str,
        campaign: &str,
    ) -> std::result::Result<(), String> {
        let delivery = self
            .deliver(0, envelope_from, to, bytes, file_name, campaign)
            .await;
        self.close().await;
        match delivery {
            Delivery::Accepted => Ok(()),
            Delivery::Transient(reason)
            | Delivery::Bounced(reason)
            | Delivery::Rejected(reason)
            | Delivery::Fatal(reason) => Err(reason),
        }
    }

    /// Drops worker `worker`'s connection (after a panic left it in an
    /// unknown state); the next message opens a new one.
    pub async fn reset(&self, worker: usize) {
        if let Transport::Smtp(pool) = self {
            pool.reset(worker).await;
        }
    }

    /// Says goodbye to servers (QUIT) at the end of a run.
    pub async fn close(&self) {
        if let Transport::Smtp(pool) = self {
            pool.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_urls() {
        let root = Path::new("/ws");
        assert_eq!(
            TransportSpec::parse("outbox:tmp/out", root).unwrap(),
            TransportSpec::Outbox {
                dir: PathBuf::from("/ws/tmp/out")
            }
        );
        let TransportSpec::Smtp(local) =
            TransportSpec::parse("smtp://127.0.0.1:2525", root).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (local.host.as_str(), local.port, local.tls),
            ("127.0.0.1", 2525, TlsMode::None)
        );
        let TransportSpec::Smtp(remote) =
            TransportSpec::parse("smtp://mail.example.com", root).unwrap()
        else {
            panic!()
        };
        assert_eq!((remote.port, remote.tls), (25, TlsMode::Starttls));
        let TransportSpec::Smtp(tls) =
            TransportSpec::parse("smtps://mail.example.com", root).unwrap()
        else {
            panic!()
        };
        assert_eq!((tls.port, tls.tls), (465, TlsMode::Tls));
        assert!(TransportSpec::parse("http://x", root).is_err());
        assert!(TransportSpec::parse("smtp://x?tls=maybe", root).is_err());
    }

    #[test]
    fn no_tls_to_a_remote_host_must_be_forced() {
        let spec =
            TransportSpec::parse("smtp://mail.example.com?tls=none", Path::new("/ws")).unwrap();
        let error = spec.open(1).err().unwrap();
        assert_eq!(
            error.to_string(),
            "refusing to send without TLS to mail.example.com: `tls = \"none\"` is only for loopback servers (set `allow_insecure = true` to force it)"
        );
    }
}
