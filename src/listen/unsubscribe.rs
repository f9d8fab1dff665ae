//! The unsubscribe link of every message, answered.
//!
//! - `POST` with `List-Unsubscribe=One-Click` (RFC 8058, what Gmail and
//!   Yahoo send): the address leaves all marketing email; 200 once committed.
//! - `GET`: a page, in the customer's language, with buttons that post —
//!   never an unsubscribe by itself (scanners prefetch every link).
//! - `POST action=campaign|all` from that page, and `action=undo-…` for a
//!   while after (`--undo-within`).
//!
//! A forged, truncated or foreign token gets the same plain 400 whatever
//! failed, and writes nothing; the signature is compared in constant time
//! ([`crate::signing::SigningKey::verify`]).

use std::sync::Arc;

use axum::extract::{Form, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::Shared;
use super::page::{self, Done, Shown};
use crate::error::{Error, Result};
use crate::ledger::Scope;
use crate::render::unsubscribe;

/// Where the token sits in `[unsubscribe] url`.
#[derive(Debug, Clone)]
pub enum Link {
    /// `https://shop.example/unsubscribe?token={token}`: path and query key.
    Query { path: String, key: String },
    /// `https://shop.example/u/{token}`: the path before the token.
    Path { prefix: String },
}

impl Link {
    pub fn parse(template: &str) -> Result<Link> {
        let url = url::Url::parse(&template.replace("{token}", "XSELLTOKEN"))
            .map_err(|e| Error::usage(format!("`[unsubscribe] url` is not a URL: {e}")))?;
        if let Some((key, _)) = url.query_pairs().find(|(_, v)| v == "XSELLTOKEN") {
            return Ok(Link::Query {
                path: url.path().to_string(),
                key: key.into_owned(),
            });
        }
        match url.path().strip_suffix("XSELLTOKEN") {
            Some(prefix) if prefix.ends_with('/') => Ok(Link::Path {
                prefix: prefix.to_string(),
            }),
            _ => Err(Error::usage(
                "`[unsubscribe] url` must have `{token}` as a query value (`?token={token}`) or as the last path segment (`/u/{token}`) for xsell listen to answer it",
            )),
        }
    }

    /// The route axum serves.
    pub fn route(&self) -> String {
        match self {
            Link::Query { path, .. } => path.clone(),
            Link::Path { prefix } => format!("{prefix}{{token}}"),
        }
    }

    /// The token of a request, from its path or query.
    fn token(&self, path_token: Option<&str>, query: Option<&str>) -> Option<String> {
        match self {
            Link::Path { .. } => path_token.map(str::to_string),
            Link::Query { key, .. } => url::form_urlencoded::parse(query?.as_bytes())
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned()),
        }
    }
}

/// Who a valid token is for.
pub struct Recipient {
    pub email: String,
    pub locale: String,
    pub campaign: String,
    pub campaign_name: String,
    pub token: String,
}

fn invalid() -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "This unsubscribe link is not valid.\n",
    )
        .into_response()
}

fn unavailable(error: &Error) -> Response {
    crate::stderr::warning(&format!(
        "unsubscribe not recorded: {}",
        crate::commands::describe_error(error)
    ));
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        "Please try again in a moment.\n",
    )
        .into_response()
}

/// Why a request's token gives no recipient.
enum Refusal {
    /// Forged, truncated, foreign or missing: the same answer for each.
    Invalid,
    /// The ledger could not be asked.
    Unavailable(Error),
}

impl Refusal {
    fn answer(self) -> Response {
        match self {
            Refusal::Invalid => invalid(),
            Refusal::Unavailable(error) => unavailable(&error),
        }
    }
}

/// The recipient of the request's token, or why not.
fn recipient(
    shared: &Shared,
    path_token: Option<&str>,
    query: Option<&str>,
) -> std::result::Result<Recipient, Refusal> {
    let token = shared
        .link
        .token(path_token, query)
        .ok_or(Refusal::Invalid)?;
    let (customer, campaign) = unsubscribe::verify(&shared.key, &token).ok_or(Refusal::Invalid)?;
    let engine = shared.engine.get();
    let store = &engine.store;
    let (email, locale) = match store.customer_ix(&customer).map(|ix| store.customer(ix)) {
        Some(known) => (
            known.email.to_string(),
            store.locales().name(known.locale).to_string(),
        ),
        // A customer no longer in the data: the address the message went to.
        None => match shared.ledger().email_of(&customer, &campaign) {
            Ok(Some(email)) => (email, "en".to_string()),
            Ok(None) => return Err(Refusal::Invalid),
            Err(error) => return Err(Refusal::Unavailable(error)),
        },
    };
    let campaign_name = engine
        .campaign(&campaign)
        .map_or_else(|| campaign.clone(), |c| c.name.clone());
    Ok(Recipient {
        email,
        locale,
        campaign,
        campaign_name,
        token,
    })
}

/// Runs ledger work off the async threads.
async fn in_ledger<T: Send + 'static>(
    shared: &Arc<Shared>,
    work: impl FnOnce(&mut crate::ledger::Ledger) -> Result<T> + Send + 'static,
) -> Result<T> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || work(&mut shared.ledger()))
        .await
        .map_err(|e| Error::internal(format!("ledger work failed: {e}")))?
}

pub async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    match in_ledger(&shared, |ledger| ledger.schema_version()).await {
        Ok(_) => {
            let engine = shared.engine.get();
            axum::Json(serde_json::json!({
                "status": "ok",
                "data_as_of": engine.data_as_of.map(crate::calendar::rfc3339),
                "lists_as_of": crate::calendar::rfc3339(engine.now),
                "loaded_at": crate::calendar::rfc3339(engine.loaded_at),
                "placements": engine.placements.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            }))
            .into_response()
        }
        Err(error) => {
            crate::stderr::warning(&crate::commands::describe_error(&error));
            (StatusCode::SERVICE_UNAVAILABLE, "ledger unavailable\n").into_response()
        }
    }
}

pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

pub async fn page(
    State(shared): State<Arc<Shared>>,
    path: Option<Path<String>>,
    RawQuery(query): RawQuery,
) -> Response {
    let recipient = match recipient(
        &shared,
        path.as_deref().map(String::as_str),
        query.as_deref(),
    ) {
        Ok(recipient) => recipient,
        Err(refusal) => return refusal.answer(),
    };
    let (email, campaign) = (recipient.email.clone(), recipient.campaign.clone());
    match in_ledger(&shared, move |ledger| {
        ledger.is_unsubscribed(&email, &campaign)
    })
    .await
    {
        Ok((all, one)) => {
            let shown = if all {
                Shown::Left(Done::All)
            } else if one {
                Shown::Left(Done::Campaign)
            } else {
                Shown::Choice
            };
            html(page::render(&shared, &recipient, shown))
        }
        Err(error) => unavailable(&error),
    }
}

/// The form fields of a POST: RFC 8058's, or our page's.
#[derive(Debug, serde::Deserialize)]
pub struct Posted {
    #[serde(rename = "List-Unsubscribe")]
    list_unsubscribe: Option<String>,
    action: Option<String>,
}

pub async fn post(
    State(shared): State<Arc<Shared>>,
    path: Option<Path<String>>,
    RawQuery(query): RawQuery,
    form: std::result::Result<Form<Posted>, axum::extract::rejection::FormRejection>,
) -> Response {
    let recipient = match recipient(
        &shared,
        path.as_deref().map(String::as_str),
        query.as_deref(),
    ) {
        Ok(recipient) => recipient,
        Err(refusal) => return refusal.answer(),
    };
    let posted = match form {
        Ok(Form(posted)) => posted,
        // Too large (413), not a form (415), or not ours (400): its own answer.
        Err(rejection) => return rejection.into_response(),
    };
    let now = chrono::Utc::now().timestamp();
    let email = recipient.email.clone();
    let campaign = recipient.campaign.clone();
    if posted.list_unsubscribe.as_deref() == Some("One-Click") {
        // RFC 8058: the provider posts, the customer has asked to leave.
        let written = in_ledger(&shared, move |ledger| {
            ledger.unsubscribe(&email, &Scope::All, &campaign, "one-click", now)
        })
        .await;
        return match written {
            Ok(_) => (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "unsubscribed\n",
            )
                .into_response(),
            Err(error) => unavailable(&error),
        };
    }
    let undo_since = now - shared.undo_within;
    let (done, undone) = match posted.action.as_deref() {
        Some("all") => (Done::All, false),
        Some("campaign") => (Done::Campaign, false),
        Some("undo-all") => (Done::All, true),
        Some("undo-campaign") => (Done::Campaign, true),
        _ => return (StatusCode::BAD_REQUEST, "unknown action\n").into_response(),
    };
    let scope = match done {
        Done::Campaign => Scope::Campaign(recipient.campaign.clone()),
        Done::All => Scope::All,
    };
    let written = in_ledger(&shared, move |ledger| {
        if undone {
            ledger.resubscribe(&email, &scope, &["page", "one-click"], undo_since)
        } else {
            ledger.unsubscribe(&email, &scope, &campaign, "page", now)
        }
    })
    .await;
    match written {
        Ok(changed) => {
            let shown = match (undone, changed) {
                (false, _) => Shown::Left(done),
                (true, true) => Shown::Resubscribed,
                (true, false) => Shown::UndoExpired,
            };
            html(page::render(&shared, &recipient, shown))
        }
        Err(error) => unavailable(&error),
    }
}

fn html(body: String) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(body),
    )
        .into_response()
}
