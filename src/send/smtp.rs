//! The SMTP transport: a pool of long-lived connections, one per worker,
//! built on lettre's `AsyncSmtpConnection`.
//!
//! We open the TCP connections ourselves so we can set `TCP_NODELAY`:
//! lettre 0.11.23 does not, and each message then waits ~40 ms for a delayed
//! ACK (about 22 messages/s per connection on loopback; the fix, lettre PR
//! #1159, is merged but unreleased). `connect_with_transport` accepts our
//! stream, so the released crate is used as is and we own the pool.
//!
//! The SMTP transaction is driven step by step (MAIL, RCPT, DATA, message;
//! the first three in one write when the server offers PIPELINING) so a
//! refusal can be told apart: a 5xx at RCPT is a hard bounce (the
//! address is suppressed), a 5xx elsewhere rejects only this message, and a
//! 4xx, a timeout or a dropped connection is worth retrying.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::transport::Delivery;
use crate::config::TlsMode;
use crate::error::{Error, Result};

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// (user, password), read from the environment by the caller.
    pub credentials: Option<(String, String)>,
    pub timeout: Duration,
    pub hello_name: Option<String>,
    /// Extra trusted CA certificates (PEM), for a relay with a private CA.
    pub ca_file: Option<std::path::PathBuf>,
}

/// One connection slot per worker; a slot reconnects when its connection breaks.
pub struct SmtpPool {
    target: SmtpTarget,
    extra_roots: Vec<Vec<u8>>,
    slots: Vec<Mutex<Option<Session>>>,
}

/// An open SMTP session and what the server allows on it.
struct Session {
    connection: AsyncSmtpConnection,
    /// The server announced PIPELINING (RFC 2920): the envelope goes in one write.
    pipelining: bool,
}

impl SmtpPool {
    pub fn new(target: SmtpTarget, connections: usize) -> Result<SmtpPool> {
        let extra_roots = match &target.ca_file {
            Some(path) => {
                vec![std::fs::read(path).map_err(|e| {
                    Error::usage(format!("cannot read the CA file {}: {e}", path.display()))
                })?]
            }
            None => Vec::new(),
        };
        crate::data::source::install_crypto_provider();
        let slots = (0..connections.max(1)).map(|_| Mutex::new(None)).collect();
        Ok(SmtpPool {
            target,
            extra_roots,
            slots,
        })
    }

    pub fn connections(&self) -> usize {
        self.slots.len()
    }

    /// Runs one SMTP transaction on `worker`'s connection (opening it if needed).
    pub async fn deliver(&self, worker: usize, from: &str, to: &str, bytes: &[u8]) -> Delivery {
        let (from, to) = match (from.parse::<Address>(), to.parse::<Address>()) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(e), _) => {
                return Delivery::Rejected(format!("invalid sender address `{from}`: {e}"));
            }
            (_, Err(e)) => {
                return Delivery::Bounced(format!("invalid recipient address `{to}`: {e}"));
            }
        };
        let mut slot = self.slots[worker % self.slots.len()].lock().await;
        if slot
            .as_ref()
            .is_none_or(|session| session.connection.has_broken())
        {
            match tokio::time::timeout(self.target.timeout, self.connect()).await {
                Ok(Ok(session)) => *slot = Some(session),
                Ok(Err(problem)) => return problem,
                Err(_) => {
                    return Delivery::Transient(format!(
                        "connecting to {}:{} timed out",
                        self.target.host, self.target.port
                    ));
                }
            }
        }
        let Some(Session {
            connection,
            pipelining,
        }) = slot.as_mut()
        else {
            return Delivery::Transient("no connection".into());
        };
        let outcome = tokio::time::timeout(
            self.target.timeout.saturating_mul(4),
            transaction(connection, *pipelining, from, to, bytes),
        )
        .await;
        let delivery = match outcome {
            Ok(delivery) => delivery,
            Err(_) => Delivery::Transient("the SMTP transaction timed out".into()),
        };
        match &delivery {
            Delivery::Accepted => {}
            Delivery::Bounced(_) | Delivery::Rejected(_) if !connection.has_broken() => {
                // The server refused this message but the session is fine: reset it for the next one.
                if connection.command(Rset).await.is_err() {
                    *slot = None;
                }
            }
            _ => {
                if let Some(mut broken) = slot.take() {
                    broken.connection.abort().await;
                }
            }
        }
        delivery
    }

    async fn connect(&self) -> std::result::Result<Session, Delivery> {
        let target = &self.target;
        let where_ = format!("{}:{}", target.host, target.port);
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| Delivery::Transient(format!("cannot connect to {where_}: {e}")))?;
        tcp.set_nodelay(true)
            .map_err(|e| Delivery::Transient(format!("cannot set TCP_NODELAY: {e}")))?;
        let hello = match &target.hello_name {
            Some(name) => ClientId::Domain(name.clone()),
            None => ClientId::Domain("localhost".into()),
        };
        let stream: Box<dyn AsyncTokioStream> = match target.tls {
            TlsMode::Tls => Box::new(self.implicit_tls(tcp).await.map_err(Delivery::Transient)?),
            TlsMode::None | TlsMode::Starttls => Box::new(tcp),
        };
        let mut connection = AsyncSmtpConnection::connect_with_transport(stream, &hello)
            .await
            .map_err(|e| Delivery::Transient(format!("{where_} refused the session: {e}")))?;
        if target.tls == TlsMode::Starttls {
            let parameters = self
                .tls_parameters()
                .map_err(|e| Delivery::Transient(format!("TLS settings: {e}")))?;
            connection
                .starttls(parameters, &hello)
                .await
                .map_err(|e| Delivery::Transient(format!("STARTTLS with {where_} failed: {e}")))?;
        }
        if let Some((user, password)) = &target.credentials {
            connection
                .auth(
                    &[Mechanism::Plain, Mechanism::Login],
                    &Credentials::new(user.clone(), password.clone()),
                )
                .await
                .map_err(|e| {
                    let text = format!("{where_} refused the credentials: {e}");
                    // 535 and the like: every message would fail the same way.
                    if e.is_permanent() {
                        Delivery::Fatal(format!(
                            "{text} — check the user and password in the environment variables named by `[transport] username_env` / `password_env`"
                        ))
                    } else {
                        Delivery::Transient(text)
                    }
                })?;
        }
        // lettre keeps no record of PIPELINING: ask again and look for it.
        let pipelining = match connection.command(Ehlo::new(hello.clone())).await {
            Ok(response) => response
                .message()
                .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING")),
            Err(_) => false,
        };
        Ok(Session {
            connection,
            pipelining,
        })
    }

    fn tls_parameters(&self) -> std::result::Result<TlsParameters, lettre::transport::smtp::Error> {
        let mut builder = TlsParameters::builder(self.target.host.clone());
        for pem in &self.extra_roots {
            builder = builder.add_root_certificate(Certificate::from_pem(pem)?);
        }
        builder.build_rustls()
    }

    async fn implicit_tls(&self, tcp: TcpStream) -> std::result::Result<TlsStream, String> {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for pem in &self.extra_roots {
            for certificate in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
                let certificate = certificate.map_err(|e| format!("bad CA certificate: {e}"))?;
                roots
                    .add(certificate)
                    .map_err(|e| format!("bad CA certificate: {e}"))?;
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls_pki_types::ServerName::try_from(self.target.host.clone())
            .map_err(|e| format!("bad TLS server name: {e}"))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| {
                format!(
                    "TLS with {}:{} failed: {e}",
                    self.target.host, self.target.port
                )
            })?;
        Ok(TlsStream(stream))
    }

    /// Ends every open session politely.
    /// Aborts worker `worker`'s connection, if it has one.
    pub async fn reset(&self, worker: usize) {
        if let Some(mut session) = self.slots[worker % self.slots.len()].lock().await.take() {
            session.connection.abort().await;
        }
    }

    pub async fn close(&self) {
        for slot in &self.slots {
            if let Some(mut session) = slot.lock().await.take() {
                let _ = session.connection.quit().await;
            }
        }
    }
}

/// MAIL, RCPT, DATA, message — each refusal classified by where it happened.
async fn transaction(
    connection: &mut AsyncSmtpConnection,
    pipelining: bool,
    from: Address,
    to: Address,
    bytes: &[u8],
) -> Delivery {
    let mut options = Vec::new();
    if !bytes.is_ascii()
        && connection
            .server_info()
            .supports_feature(Extension::EightBitMime)
    {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    if !to.to_string().is_ascii() {
        if !connection
            .server_info()
            .supports_feature(Extension::SmtpUtfEight)
        {
            return Delivery::Bounced(format!(
                "the server does not accept the non-ASCII address {to}"
            ));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    let classify = |stage: &str, error: lettre::transport::smtp::Error, at_rcpt: bool| {
        let text = format!("{stage}: {error}");
        if error.is_permanent() {
            if at_rcpt {
                Delivery::Bounced(text)
            } else {
                Delivery::Rejected(text)
            }
        } else {
            Delivery::Transient(text)
        }
    };
    let envelope = if pipelining {
        // One write for the three commands, then their three replies in order (RFC 2920).
        let commands = format!(
            "{}{}{}",
            Mail::new(Some(from), options),
            Rcpt::new(to, Vec::new()),
            Data
        );
        let mail = connection.command(Verbatim(&commands)).await;
        let rcpt = connection.read_response().await;
        let data = connection.read_response().await;
        match (mail, rcpt, data) {
            (Ok(_), Ok(_), Ok(_)) => Ok(()),
            (Err(error), _, data) => Err((classify("MAIL FROM", error, false), data.is_ok())),
            (_, Err(error), data) => Err((classify("RCPT TO", error, true), data.is_ok())),
            (_, _, Err(error)) => Err((classify("DATA", error, false), false)),
        }
    } else {
        async {
            connection
                .command(Mail::new(Some(from), options))
                .await
                .map_err(|e| (classify("MAIL FROM", e, false), false))?;
            connection
                .command(Rcpt::new(to, Vec::new()))
                .await
                .map_err(|e| (classify("RCPT TO", e, true), false))?;
            connection
                .command(Data)
                .await
                .map_err(|e| (classify("DATA", e, false), false))?;
            Ok(())
        }
        .await
    };
    if let Err((refusal, data_accepted)) = envelope {
        if data_accepted {
            // A server that accepted DATA after refusing the envelope waits for a message:
            // this session cannot be trusted any more.
            connection.abort().await;
        }
        return refusal;
    }
    let sent = match std::str::from_utf8(bytes) {
        Ok(text) => connection.command(Verbatim(&dot_stuffed(text))).await,
        // Not UTF-8 (never from our renderer): lettre's own, slower path.
        Err(_) => connection.message(bytes).await,
    };
    match sent {
        Ok(_) => Delivery::Accepted,
        Err(error) => classify("message", error, false),
    }
}

/// The message as the DATA phase carries it: lines starting with `.` get a
/// second one (RFC 5321 §4.5.2), then the `<CRLF>.<CRLF>` terminator — what
/// lettre's `message()` writes, without its byte-at-a-time copy (about 45 µs
/// for a 35 KB message, a quarter of the CPU a send costs us).
fn dot_stuffed(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    if rest.starts_with('.') {
        out.push('.');
    }
    while let Some(found) = memchr::memmem::find(rest.as_bytes(), b"\n.") {
        out.push_str(&rest[..found + 1]);
        out.push('.');
        rest = &rest[found + 1..];
    }
    out.push_str(rest);
    out.push_str("\r\n.\r\n");
    out
}

/// Text handed to lettre's `command`, which writes it verbatim and reads one reply:
/// the DATA payload, or pipelined envelope commands.
struct Verbatim<'a>(&'a str);

impl std::fmt::Display for Verbatim<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_doubles_leading_dots_and_terminates() {
        assert_eq!(
            dot_stuffed("Subject: x\r\n\r\n.hidden\r\nok\r\n..two\r\n"),
            "Subject: x\r\n\r\n..hidden\r\nok\r\n...two\r\n\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(".first"), "..first\r\n.\r\n");
        assert_eq!(dot_stuffed("a.b\r\nc."), "a.b\r\nc.\r\n.\r\n");
    }
}

/// A TLS stream lettre can drive (its trait is implemented for plain TCP only).
#[derive(Debug)]
struct TlsStream(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}
