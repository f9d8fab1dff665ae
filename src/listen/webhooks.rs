//! Bounces, complaints and unsubscribes reported by an email provider's
//! webhook, for shops that send through one: `POST /webhooks/ses` (Amazon
//! SES through SNS, see [`super::ses`]), `/webhooks/postmark` and
//! `/webhooks/mailgun`. Each provider's own authentication is checked
//! first (SES: SNS's signature; Postmark: the HTTP Basic credentials written
//! into the webhook URL; Mailgun: the HMAC-SHA256 signature of timestamp and
//! token with the webhook signing key), and a request that fails it writes nothing. The
//! secrets come from environment variables; a provider whose variable is
//! not set is not served.
//!
//! Only addresses xsell has mailed are acted on; anything else is answered
//! 200 (a provider retries non-2xx answers forever) and ignored.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::Shared;
use super::ses::Sns;

/// `user:password` for Postmark's Basic authentication.
pub const POSTMARK_ENV: &str = "XSELL_POSTMARK_WEBHOOK_AUTH";
/// Mailgun's webhook signing key.
pub const MAILGUN_ENV: &str = "XSELL_MAILGUN_SIGNING_KEY";

/// What a provider reported about one address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Report {
    /// Never mail it again: `bounced`, `complained` or `unsubscribed`.
    Suppress {
        email: String,
        reason: &'static str,
        detail: String,
    },
    /// A temporary failure: counted (as `xsell inbound` counts them).
    Soft { email: String, detail: String },
    /// Nothing to do.
    Ignore(String),
}

/// The secrets, read once at start.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    postmark: Option<String>,
    mailgun: Option<String>,
}

impl Secrets {
    pub fn from_env() -> Secrets {
        let read = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Secrets {
            postmark: read(POSTMARK_ENV),
            mailgun: read(MAILGUN_ENV),
        }
    }
}

pub async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let secrets = &shared.webhook_secrets;
    let reports = match provider.as_str() {
        "postmark" => match &secrets.postmark {
            None => return not_served(),
            Some(expected) if !basic_auth_matches(&headers, expected) => return refused(),
            Some(_) => postmark(&body),
        },
        "mailgun" => match &secrets.mailgun {
            None => return not_served(),
            Some(key) => match mailgun(&body, key) {
                Some(reports) => reports,
                None => return refused(),
            },
        },
        "ses" if shared.ses.is_configured() => {
            // Verifying may fetch SNS's certificate: off the async threads.
            let worker = shared.clone();
            let handled = tokio::task::spawn_blocking(move || worker.ses.handle(&body)).await;
            match handled {
                Ok(Ok(Sns::Confirmed)) => return "subscription confirmed\n".into_response(),
                Ok(Ok(Sns::Ignored(why))) => Ok(vec![Report::Ignore(why)]),
                Ok(Ok(Sns::Notification(list))) => Ok(list
                    .into_iter()
                    .map(|(kind, email, detail)| match kind {
                        "soft-bounce" => Report::Soft { email, detail },
                        "complained" => Report::Suppress {
                            email,
                            reason: "complained",
                            detail,
                        },
                        _ => Report::Suppress {
                            email,
                            reason: "bounced",
                            detail,
                        },
                    })
                    .collect()),
                Ok(Err(())) | Err(_) => return refused(),
            }
        }
        _ => return not_served(),
    };
    let Ok(reports) = reports else {
        return (
            StatusCode::BAD_REQUEST,
            "not a payload this provider sends\n",
        )
            .into_response();
    };
    let source = format!("webhook {provider}");
    let now = chrono::Utc::now().timestamp();
    let shared_for_work = shared.clone();
    let written = tokio::task::spawn_blocking(move || {
        let mut ledger = shared_for_work.ledger();
        ledger.in_transaction(|ledger| {
            let mut done = Vec::new();
            for report in &reports {
                done.push(apply(ledger, report, &source, now)?);
            }
            Ok(done)
        })
    })
    .await;
    match written {
        Ok(Ok(done)) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n", done.join("\n")),
        )
            .into_response(),
        Ok(Err(error)) => {
            crate::stderr::warning(&format!(
                "webhook not recorded: {}",
                crate::commands::describe_error(&error)
            ));
            (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response(),
    }
}

fn not_served() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

fn refused() -> Response {
    (StatusCode::UNAUTHORIZED, "not authenticated\n").into_response()
}

/// Soft bounces within two weeks that suppress an address (as `xsell inbound`'s default).
const SOFT_BOUNCES: i64 = 3;
const SOFT_BOUNCE_WINDOW: i64 = 14 * 86_400;

fn apply(
    ledger: &mut crate::ledger::Ledger,
    report: &Report,
    source: &str,
    now: i64,
) -> crate::error::Result<String> {
    Ok(match report {
        Report::Suppress {
            email,
            reason,
            detail,
        } => {
            if !ledger.has_mailed(email)? {
                return Ok("ignored: an address xsell has not mailed".into());
            }
            let kind = match *reason {
                "complained" => "complaint",
                "unsubscribed" => "unsubscribe",
                _ => "bounce",
            };
            ledger.record_suppressing(kind, email, reason, source, None, detail, now)?;
            format!("{reason}: suppressed")
        }
        Report::Soft { email, detail } => {
            if !ledger.has_mailed(email)? {
                return Ok("ignored: an address xsell has not mailed".into());
            }
            let (count, suppressed) = ledger.record_soft_bounce(
                email,
                detail,
                source,
                now,
                SOFT_BOUNCES,
                now - SOFT_BOUNCE_WINDOW,
            )?;
            let verdict = if suppressed { "suppressed" } else { "counted" };
            format!("temporary failure ({count} in the window): {verdict}")
        }
        Report::Ignore(why) => format!("ignored: {why}"),
    })
}

/// `Authorization: Basic base64(user:password)` equals `expected`, compared in constant time.
fn basic_auth_matches(headers: &HeaderMap, expected: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
        .unwrap_or_default();
    crate::signing::constant_time_eq(&given, expected.as_bytes())
}

fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_lowercase()
}

/// Postmark's Bounce, SpamComplaint and SubscriptionChange webhooks.
fn postmark(body: &[u8]) -> Result<Vec<Report>, ()> {
    let payload: Value = serde_json::from_slice(body).map_err(|_| ())?;
    let record = payload["RecordType"].as_str().ok_or(())?;
    let report = match record {
        "Bounce" => {
            let email = text(&payload, "Email");
            let kind = payload["Type"].as_str().unwrap_or_default();
            let detail = format!(
                "{kind}: {}",
                payload["Description"].as_str().unwrap_or_default()
            );
            match kind {
                "HardBounce" | "BadEmailAddress" | "Blocked" | "ManuallyDeactivated" => {
                    Report::Suppress {
                        email,
                        reason: "bounced",
                        detail,
                    }
                }
                "SpamComplaint" => Report::Suppress {
                    email,
                    reason: "complained",
                    detail,
                },
                "Unsubscribe" => Report::Suppress {
                    email,
                    reason: "unsubscribed",
                    detail,
                },
                "SoftBounce" | "Transient" | "DnsError" | "AutoResponder" => {
                    Report::Soft { email, detail }
                }
                other => Report::Ignore(format!("bounce type {other}")),
            }
        }
        "SpamComplaint" => Report::Suppress {
            email: text(&payload, "Email"),
            reason: "complained",
            detail: "SpamComplaint".into(),
        },
        "SubscriptionChange" if payload["SuppressSending"].as_bool() == Some(true) => {
            let reason = match payload["SuppressionReason"].as_str() {
                Some("HardBounce") => "bounced",
                Some("SpamComplaint") => "complained",
                _ => "unsubscribed",
            };
            Report::Suppress {
                email: text(&payload, "Recipient"),
                reason,
                detail: "SubscriptionChange".into(),
            }
        }
        other => Report::Ignore(format!("record type {other}")),
    };
    Ok(vec![report])
}

/// Mailgun's webhooks: `signature` {timestamp, token, signature} and
/// `event-data`. `None` when the signature does not hold.
fn mailgun(body: &[u8], key: &str) -> Option<Result<Vec<Report>, ()>> {
    let Ok(payload) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let signature = &payload["signature"];
    let (timestamp, token, given) = (
        signature["timestamp"].as_str()?,
        signature["token"].as_str()?,
        hex::decode(signature["signature"].as_str()?).ok()?,
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    mac.verify_slice(&given).ok()?;
    let event = &payload["event-data"];
    let email = text(event, "recipient");
    let detail = event["delivery-status"]["message"]
        .as_str()
        .or(event["reason"].as_str())
        .unwrap_or_default()
        .to_string();
    let report = match event["event"].as_str() {
        Some("failed") if event["severity"].as_str() == Some("permanent") => Report::Suppress {
            email,
            reason: "bounced",
            detail,
        },
        Some("failed") => Report::Soft { email, detail },
        Some("complained") => Report::Suppress {
            email,
            reason: "complained",
            detail,
        },
        Some("unsubscribed") => Report::Suppress {
            email,
            reason: "unsubscribed",
            detail,
        },
        Some(other) => Report::Ignore(format!("event {other}")),
        None => return Some(Err(())),
    };
    Some(Ok(vec![report]))
}
