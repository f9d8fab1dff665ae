//! Amazon SES notifications, delivered by SNS to `POST /webhooks/ses`.
//!
//! SNS signs every message: the canonical fields, signed with the key of
//! the certificate at `SigningCertURL`, which must be an `https://sns.<region>.amazonaws.com/….pem`.
//! We accept signature version 2 (RSA with SHA-256; set the topic's
//! `SignatureVersion` to 2) from the topics listed in `XSELL_SES_TOPIC_ARNS`.
//! A subscription confirmation is confirmed by fetching its
//! `SubscribeURL` (same host rule); a notification's `Bounce` (permanent or
//! transient) and `Complaint` go to the ledger.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;

/// Comma-separated topic ARNs whose notifications are accepted.
pub const TOPICS_ENV: &str = "XSELL_SES_TOPIC_ARNS";

/// What an SNS message asked for, once its signature held.
#[derive(Debug)]
pub enum Sns {
    /// Confirmed by fetching the subscription URL.
    Confirmed,
    /// The SES notification inside: (kind, recipients, detail).
    Notification(Vec<(&'static str, String, String)>),
    Ignored(String),
}

/// The SES webhook's settings and certificate cache.
#[derive(Default)]
pub struct Ses {
    topics: Vec<String>,
    certificates: Mutex<HashMap<String, Vec<u8>>>,
}

impl Ses {
    pub fn from_env() -> Ses {
        Ses {
            topics: std::env::var(TOPICS_ENV)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            certificates: Mutex::default(),
        }
    }

    pub fn is_configured(&self) -> bool {
        !self.topics.is_empty()
    }

    /// Verifies and handles one SNS message (blocking: it may fetch the
    /// certificate and confirm a subscription). `Err(())`: refused.
    pub fn handle(&self, body: &[u8]) -> Result<Sns, ()> {
        let message: Value = serde_json::from_slice(body).map_err(|_| ())?;
        let field = |name: &str| message[name].as_str();
        let kind = field("Type").ok_or(())?;
        if !self
            .topics
            .iter()
            .any(|t| Some(t.as_str()) == field("TopicArn"))
        {
            return Err(());
        }
        if field("SignatureVersion") != Some("2") {
            return Err(());
        }
        let names: &[&str] = match kind {
            "Notification" => &[
                "Message",
                "MessageId",
                "Subject",
                "Timestamp",
                "TopicArn",
                "Type",
            ],
            "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &[
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            ],
            _ => return Err(()),
        };
        let mut canonical = String::new();
        for name in names {
            if let Some(value) = field(name) {
                canonical.push_str(&format!("{name}\n{value}\n"));
            }
        }
        let signature = base64::engine::general_purpose::STANDARD
            .decode(field("Signature").ok_or(())?)
            .map_err(|_| ())?;
        let certificate = self.certificate(field("SigningCertURL").ok_or(())?)?;
        let certificate = CertificateDer::from(certificate);
        let end_entity = webpki::EndEntityCert::try_from(&certificate).map_err(|_| ())?;
        end_entity
            .verify_signature(
                webpki::ring::RSA_PKCS1_2048_8192_SHA256,
                canonical.as_bytes(),
                &signature,
            )
            .map_err(|_| ())?;
        match kind {
            "SubscriptionConfirmation" => {
                let url = field("SubscribeURL").ok_or(())?;
                fetch(url).map_err(|_| ())?;
                Ok(Sns::Confirmed)
            }
            "Notification" => Ok(notification(field("Message").unwrap_or_default())),
            _ => Ok(Sns::Ignored(kind.to_string())),
        }
    }

    /// The DER certificate at `url`, fetched once.
    fn certificate(&self, url: &str) -> Result<Vec<u8>, ()> {
        if let Some(known) = self.certificates.lock().map_err(|_| ())?.get(url) {
            return Ok(known.clone());
        }
        let pem = fetch(url)?;
        let der = CertificateDer::from_pem_slice(&pem)
            .map_err(|_| ())?
            .to_vec();
        self.certificates
            .lock()
            .map_err(|_| ())?
            .insert(url.to_string(), der.clone());
        Ok(der)
    }
}

/// Whether `url` is one of SNS's own: `https://sns.<region>.amazonaws.com/…`.
/// (Debug builds also trust `XSELL_SES_TEST_HOST`, over http, for the tests.)
fn is_sns_url(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let test_host = cfg!(debug_assertions)
        .then(|| std::env::var("XSELL_SES_TEST_HOST").ok())
        .flatten();
    if let Some(test_host) = test_host
        && format!("{host}:{}", url.port().unwrap_or(80)) == test_host
    {
        return true;
    }
    let region = host.strip_prefix("sns.").and_then(|h| {
        h.strip_suffix(".amazonaws.com")
            .or_else(|| h.strip_suffix(".amazonaws.com.cn"))
    });
    url.scheme() == "https"
        && region.is_some_and(|r| {
            !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn fetch(url: &str) -> Result<Vec<u8>, ()> {
    if !is_sns_url(url) {
        return Err(());
    }
    crate::data::source::install_crypto_provider();
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| ())?;
    let response = client.get(url).send().map_err(|_| ())?;
    if !response.status().is_success() {
        return Err(());
    }
    response.bytes().map(|b| b.to_vec()).map_err(|_| ())
}

/// SES's notification (or event) JSON: bounces and complaints.
fn notification(text: &str) -> Sns {
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return Sns::Ignored("a message that is not SES JSON".into());
    };
    let kind = message["notificationType"]
        .as_str()
        .or(message["eventType"].as_str())
        .unwrap_or_default();
    let addresses = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["emailAddress"].as_str())
            .map(|a| a.trim().to_lowercase())
            .collect()
    };
    match kind {
        "Bounce" => {
            let bounce = &message["bounce"];
            let permanent = bounce["bounceType"].as_str() == Some("Permanent");
            let detail = format!(
                "{}/{}",
                bounce["bounceType"].as_str().unwrap_or_default(),
                bounce["bounceSubType"].as_str().unwrap_or_default()
            );
            Sns::Notification(
                addresses(&bounce["bouncedRecipients"])
                    .into_iter()
                    .map(|a| {
                        (
                            if permanent { "bounced" } else { "soft-bounce" },
                            a,
                            detail.clone(),
                        )
                    })
                    .collect(),
            )
        }
        "Complaint" => {
            let complaint = &message["complaint"];
            let detail = complaint["complaintFeedbackType"]
                .as_str()
                .unwrap_or("abuse")
                .to_string();
            Sns::Notification(
                addresses(&complaint["complainedRecipients"])
                    .into_iter()
                    .map(|a| ("complained", a, detail.clone()))
                    .collect(),
            )
        }
        other => Sns::Ignored(format!("notification {other}")),
    }
}
