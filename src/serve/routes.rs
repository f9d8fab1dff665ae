//! The server's URLs:
//!
//! | | |
//! |---|---|
//! | `GET /` | the campaigns |
//! | `GET /c/{campaign}?customer=&now=&q=` | a campaign: customer picker and the message (`customer` takes an id, `random`, `first-eligible`, `next:ID`, `tag:NAME`) |
//! | `GET /c/{campaign}/view?customer=&now=` | the message part of that page (re-fetched on reload) |
//! | `GET /c/{campaign}/message.{html,txt,eml}?customer=&now=` | the message itself |
//! | `GET /c/{campaign}/landing.html?customer=&now=` | the message's landing page, as `xsell listen` shows it (`templates/landing.html`, read afresh) |
//! | `POST /c/{campaign}/send-test` | send the message to a test address (when `[preview]` allows it) |
//! | `GET /report/{campaign}` | what the campaign's messages did (`xsell report --html`) |
//! | `GET /events` | a WebSocket: `reload N` after every change |
//! | `GET /assets/app.{css,js}` | the page's own style and script |

// Handlers answer with a whole response when something is wrong; that is how axum works.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::pages::{self, MessagePage};
use super::{Selected, Shared};
use crate::calendar::rfc3339;
use crate::preview::{Pick, Preview, PreviewError};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/c/{campaign}", get(campaign_page))
        .route("/c/{campaign}/view", get(view_fragment))
        .route("/c/{campaign}/{file}", get(message_part))
        .route("/c/{campaign}/send-test", post(send_test))
        .route("/report/{campaign}", get(report_page))
        .route("/events", get(events))
        .route("/assets/app.css", get(style))
        .route("/assets/app.js", get(script))
        .layer(axum::middleware::from_fn(answer_panics))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            only_our_own_names,
        ))
        .with_state(shared)
}

/// The query of campaign pages.
#[derive(Debug, Deserialize, Default)]
pub struct Selection {
    /// A customer id or a pick (`random`, `first-eligible`, `next:ID`, `tag:NAME`).
    #[serde(default)]
    pub customer: Option<String>,
    /// RFC 3339; empty or absent: the server's `--now` or the clock.
    #[serde(default)]
    pub now: Option<String>,
    /// Customer search.
    #[serde(default)]
    pub q: Option<String>,
    /// An A/B variant to show instead of the customer's own.
    #[serde(default)]
    pub variant: Option<String>,
}

/// A rendered message is data-driven HTML: no script runs in it, no form
/// posts from it, no plugin loads (images, styles and fonts may come from anywhere, as in a mail client).
const MESSAGE_POLICY: &str = "default-src 'none'; img-src * data:; style-src * 'unsafe-inline'; font-src * data:; script-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'";

/// Refuses requests whose `Host` is not one of the server's own names
/// (loopback or the `--bind` address), and any `Origin` but our own pages.
/// A page on `attacker.example` whose name a DNS-rebinding attack has
/// pointed at 127.0.0.1 reaches the server with its own name as `Host`: it
/// can neither read customer lists nor post test sends or open live reload.
async fn only_our_own_names(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !is_our_host(host, shared.bind) {
        return problem(
            StatusCode::FORBIDDEN,
            "the preview server answers only to 127.0.0.1, localhost, [::1] or its --bind address",
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.to_str().ok() != Some(&format!("http://{host}"))
    {
        return problem(
            StatusCode::FORBIDDEN,
            "requests from other sites' pages are refused",
        );
    }
    next.run(request).await
}

/// `host[:port]` names this server.
fn is_our_host(host: &str, bind: std::net::IpAddr) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port))
            if !name.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    };
    let bind = match bind {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    };
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]" || name == bind
}

/// A page's answer when something is wrong with the request itself.
fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Html(pages::notice_page(&message.into()))).into_response()
}

async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let snapshot = shared.snapshot();
    Html(pages::index(&snapshot)).into_response()
}

/// `/report/{campaign}`: the campaign's report, read from the ledger now.
async fn report_page(State(shared): State<Arc<Shared>>, Path(campaign): Path<String>) -> Response {
    let snapshot = shared.snapshot();
    let Some(previewer) = snapshot.previewer.clone() else {
        return Html(pages::index(&snapshot)).into_response();
    };
    let Some(id) = previewer.campaign(&campaign).map(|c| c.id.clone()) else {
        return problem(StatusCode::NOT_FOUND, format!("no campaign `{campaign}`"));
    };
    let built = blocking(move || -> crate::error::Result<String> {
        let ledger = crate::ledger::Ledger::open_existing_for(&previewer.config)?;
        let period = crate::report::Period {
            since: i64::MIN,
            until: i64::MAX,
            data_until: previewer.store.last_event_ts(),
        };
        let report = crate::report::from_ledger(
            ledger.as_ref(),
            &previewer.store,
            &previewer.campaigns,
            Some(&id),
            period,
        )?;
        Ok(crate::report::html::render(&report))
    })
    .await;
    match built {
        Ok(page) => Html(page).into_response(),
        Err(error) => problem(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

/// Resolves the campaign and `now`, or answers why not.
fn selected(shared: &Shared, campaign: &str, selection: &Selection) -> Result<Selected, Response> {
    let snapshot = shared.snapshot();
    let Some(previewer) = snapshot.previewer.clone() else {
        return Err(Html(pages::index(&snapshot)).into_response());
    };
    let explicit_now = selection
        .now
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let Some(campaign_id) = previewer.campaign(campaign).map(|c| c.id.clone()) else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no campaign `{campaign}`"),
        ));
    };
    // The clock to the minute: a page and its frames see the same time,
    // and plans and models computed for it are reused for a minute.
    let clock = || {
        shared
            .now
            .unwrap_or_else(|| chrono::Utc::now().timestamp() / 60 * 60)
    };
    let next = || {
        let campaign = previewer.campaign(&campaign_id).expect("found above");
        crate::preview::next_moment(&previewer.store, campaign, clock()).unwrap_or_else(clock)
    };
    let (now, explicit_now) = match explicit_now.as_deref() {
        None if shared.next => (next(), None),
        None => (clock(), None),
        // The next moment becomes a time in the address, so the frames agree.
        Some(text) if text.eq_ignore_ascii_case("next") => {
            let at = next();
            (at, Some(rfc3339(at)))
        }
        Some(text) => match crate::cli::parse_now(text) {
            Ok(now) => (now.timestamp(), explicit_now.clone()),
            Err(message) => return Err(problem(StatusCode::BAD_REQUEST, message)),
        },
    };
    let variant = selection
        .variant
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    if let Some(name) = &variant
        && !previewer
            .campaign(&campaign_id)
            .is_some_and(|c| c.variants.iter().any(|v| &v.id == name))
    {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("campaign `{campaign_id}` has no variant `{name}`"),
        ));
    }
    Ok(Selected {
        snapshot,
        previewer,
        campaign_id,
        now,
        explicit_now,
        variant,
    })
}

/// Runs preview work (planning, rendering) off the async threads; its panic
/// goes on to [`answer_panics`].
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("preview work was cancelled: {error}"),
    }
}

/// A panic while answering (a bug, or data nobody foresaw) is a 500 page
/// that says what happened, not a dropped connection.
async fn answer_panics(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(payload) => {
            let message = crate::fault::panic_message(&*payload);
            eprintln!("{message}");
            problem(StatusCode::INTERNAL_SERVER_ERROR, message)
        }
    }
}

async fn campaign_page(
    State(shared): State<Arc<Shared>>,
    Path(campaign_id): Path<String>,
    Query(selection): Query<Selection>,
) -> Response {
    let selected = match selected(&shared, &campaign_id, &selection) {
        Ok(selected) => selected,
        Err(response) => return response,
    };
    let pick_text = selection
        .customer
        .clone()
        .unwrap_or_else(|| "first-eligible".into());
    let pick = match pick_text.strip_prefix("next:") {
        Some(after) => Pick::NextAfter(after.to_string()),
        None => pick_text.parse().expect("any text is a pick"),
    };
    let query = selection.q.clone().unwrap_or_default();
    let (previewer, id, now) = (
        selected.previewer.clone(),
        selected.campaign_id.clone(),
        selected.now,
    );
    let result: crate::error::Result<_> = blocking(move || {
        let campaign = previewer.campaign(&id).expect("resolved");
        let picked = previewer.pick(campaign, &pick, now)?;
        let found = if query.trim().is_empty() {
            Vec::new()
        } else {
            previewer.search(campaign, &query, now, 25)?
        };
        crate::error::Result::Ok((picked, found))
    })
    .await;
    let (picked, found) = match result {
        Ok(found) => found,
        Err(error) => return problem(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    };
    let customer_id = match &picked {
        Ok(ix) => Some(selected.previewer.store.customer(*ix).id.to_string()),
        Err(_) => None,
    };
    // A pick becomes the customer's id in the address, so a reload shows the same customer.
    if let Some(id) = &customer_id
        && selection.customer.as_deref() != Some(id.as_str())
    {
        let mut location = format!(
            "/c/{}?customer={}",
            pages::encode(&selected.campaign_id),
            pages::encode(id)
        );
        if let Some(now) = &selected.explicit_now {
            location.push_str(&format!("&now={}", pages::encode(now)));
        }
        if let Some(q) = &selection.q {
            location.push_str(&format!("&q={}", pages::encode(q)));
        }
        if let Some(variant) = &selected.variant {
            location.push_str(&format!("&variant={}", pages::encode(variant)));
        }
        return Redirect::to(&location).into_response();
    }
    let view = match &customer_id {
        Some(id) => match preview_for(&selected, id.clone()).await {
            Ok(preview) => pages::view(&MessagePage {
                selected: &selected,
                customer: id,
                preview: &preview,
            }),
            Err(response) => return response,
        },
        None => String::new(),
    };
    Html(pages::campaign(&pages::CampaignPage {
        selected: &selected,
        customer: customer_id.as_deref(),
        pick_problem: picked.err().map(|e| e.to_string()),
        query: selection.q.as_deref().unwrap_or(""),
        found: &found,
        view,
    }))
    .into_response()
}

/// The message `selected` gives `customer_id`, computed off the async threads.
async fn preview_for(
    selected: &Selected,
    customer_id: String,
) -> Result<Result<Preview, PreviewError>, Response> {
    let (previewer, id, now, variant) = (
        selected.previewer.clone(),
        selected.campaign_id.clone(),
        selected.now,
        selected.variant.clone(),
    );
    let outcome = blocking(move || {
        let campaign = previewer.campaign(&id).expect("resolved");
        let Some(customer) = previewer.store.customer_ix(&customer_id) else {
            return Ok(Err(PreviewError::NoCustomer(customer_id)));
        };
        previewer.preview_variant(campaign, customer, now, variant.as_deref())
    })
    .await;
    match outcome {
        Ok(preview) => {
            if let Err(PreviewError::Render(error)) = &preview {
                eprintln!("{error}");
            }
            Ok(preview)
        }
        Err(error) => Err(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            error.to_string(),
        )),
    }
}

/// The campaign, the time and the customer (`?customer=ID`) a request asks for.
fn selected_customer(
    shared: &Shared,
    campaign_id: &str,
    selection: &Selection,
) -> Result<(Selected, String), Response> {
    let selected = selected(shared, campaign_id, selection)?;
    match selection.customer.clone() {
        Some(customer) => Ok((selected, customer)),
        None => Err(problem(
            StatusCode::BAD_REQUEST,
            "which customer? (?customer=ID)",
        )),
    }
}

/// The message part of the campaign page, fetched again after every reload.
async fn view_fragment(
    State(shared): State<Arc<Shared>>,
    Path(campaign_id): Path<String>,
    Query(selection): Query<Selection>,
) -> Response {
    let (selected, customer) = match selected_customer(&shared, &campaign_id, &selection) {
        Ok(found) => found,
        Err(response) => return response,
    };
    match preview_for(&selected, customer.clone()).await {
        Ok(preview) => Html(pages::view(&MessagePage {
            selected: &selected,
            customer: &customer,
            preview: &preview,
        }))
        .into_response(),
        Err(response) => response,
    }
}

/// `message.html`, `message.txt` or `message.eml` (the raw message, shown
/// as text: it is 7-bit or UTF-8 MIME), or the reason there is none.
async fn message_part(
    State(shared): State<Arc<Shared>>,
    Path((campaign_id, file)): Path<(String, String)>,
    Query(selection): Query<Selection>,
) -> Response {
    if file == "landing.html" {
        return landing_part(&shared, &campaign_id, &selection).await;
    }
    let part: fn(&Preview) -> (&'static str, Vec<u8>) = match file.as_str() {
        "message.html" => |p| ("text/html; charset=utf-8", p.rendered.html().into()),
        "message.txt" => |p| ("text/plain; charset=utf-8", p.rendered.text().into()),
        "message.eml" => |p| ("text/plain; charset=utf-8", p.rendered.eml.clone()),
        _ => return problem(StatusCode::NOT_FOUND, format!("no page `{file}`")),
    };
    let (selected, customer) = match selected_customer(&shared, &campaign_id, &selection) {
        Ok(found) => found,
        Err(response) => return response,
    };
    match preview_for(&selected, customer).await {
        Ok(Ok(preview)) => {
            let (content_type, body) = part(&preview);
            (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::CONTENT_SECURITY_POLICY, MESSAGE_POLICY),
                ],
                body,
            )
                .into_response()
        }
        Ok(Err(error)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(pages::notice_page(&error.to_string())),
        )
            .into_response(),
        Err(response) => response,
    }
}

/// The landing page the previewed message links to (`{{ more_url }}`): its
/// products first, then more from its lists — the template read afresh, so
/// a designer sees each save.
async fn landing_part(shared: &Shared, campaign_id: &str, selection: &Selection) -> Response {
    let (selected, customer) = match selected_customer(shared, campaign_id, selection) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let preview = match preview_for(&selected, customer).await {
        Ok(Ok(preview)) => preview,
        Ok(Err(error)) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(pages::notice_page(&error.to_string())),
            )
                .into_response();
        }
        Err(response) => return response,
    };
    let previewer = selected.previewer.clone();
    let id = selected.campaign_id.clone();
    let page = blocking(move || -> Result<String, String> {
        use crate::listen::landing;
        let store = &previewer.store;
        let campaign = previewer.campaign(&id).ok_or("no such campaign")?;
        let campaign = campaign.variant_named(preview.message.variant.as_deref());
        let template = landing::compile(&previewer.config.templates_dir)?;
        let model = previewer.recommender(preview.now);
        let memo = crate::render::context::Memo::new(&campaign.utm);
        let models = landing::Models {
            store,
            model: &model,
            now: preview.now,
            memo: &memo,
        };
        let contents = crate::send::campaign::contents(store, &preview.message);
        let blocks = landing::blocks(
            &models,
            campaign,
            preview.customer,
            &preview.message.occurrence.key,
            Some(&contents),
        );
        landing::render_page(
            &template,
            &previewer.config.shop,
            store,
            campaign,
            preview.customer,
            blocks,
        )
    })
    .await;
    match page {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, MESSAGE_POLICY),
            ],
            html,
        )
            .into_response(),
        Err(problem) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(pages::notice_page(&problem)),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct TestSend {
    customer: String,
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    to: String,
}

/// Sends the previewed message to one test address, through the configured
/// transport (or `--transport`). Not recorded in the ledger: it is not the
/// customer's mail. Refused unless `[preview] allow_test_send = true` and the
/// address is one of `test_recipients` (or in one of its `@domains`), and
/// refused to other sites' pages (a form elsewhere cannot post here).
async fn send_test(
    State(shared): State<Arc<Shared>>,
    Path(campaign_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TestSend>,
) -> Response {
    if !same_origin(&headers) {
        return problem(
            StatusCode::FORBIDDEN,
            "test sends come from the preview page only",
        );
    }
    let selection = Selection {
        customer: None,
        now: form.now.clone(),
        q: None,
        variant: form.variant.clone(),
    };
    let selected = match selected(&shared, &campaign_id, &selection) {
        Ok(selected) => selected,
        Err(response) => return response,
    };
    let (previewer, now) = (&selected.previewer, selected.now);
    // Refusals first: nothing is rendered for a send that will not happen.
    let settings = &previewer.config.preview;
    if !settings.allow_test_send {
        return problem(
            StatusCode::FORBIDDEN,
            "test sends are off: set `allow_test_send = true` under [preview] in xsell.toml",
        );
    }
    let to = form.to.trim().to_string();
    if !test_recipient_allowed(&settings.test_recipients, &to) {
        return problem(
            StatusCode::FORBIDDEN,
            format!(
                "{to} is not a test recipient; [preview] test_recipients in xsell.toml allows: {}",
                if settings.test_recipients.is_empty() {
                    "nobody".to_string()
                } else {
                    settings.test_recipients.join(", ")
                }
            ),
        );
    }
    let preview = match preview_for(&selected, form.customer.clone()).await {
        Ok(Ok(preview)) => preview,
        Ok(Err(error)) => return problem(StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
        Err(response) => return response,
    };
    let spec = match shared.transport(&previewer.config) {
        Ok(spec) => spec,
        Err(error) => return problem(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    };
    let transport = match spec.open(1) {
        Ok(transport) => transport,
        Err(error) => return problem(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    };
    let file_name = format!("test-{campaign_id}-{}-{}.eml", form.customer, now);
    let sent = transport
        .send_test(
            previewer.config.sender.from.email.as_ref(),
            &to,
            &preview.rendered.eml,
            &file_name,
            &campaign_id,
        )
        .await;
    match sent {
        Ok(()) => {
            eprintln!(
                "sent a test of {campaign_id} for {} ({}) to {to} via {}",
                form.customer,
                rfc3339(now),
                spec.describe()
            );
            Html(pages::notice_fragment(&format!(
                "Sent to {to} via {}.",
                spec.describe()
            )))
            .into_response()
        }
        Err(reason) => problem(
            StatusCode::BAD_GATEWAY,
            format!("not sent to {to}: {reason}"),
        ),
    }
}

/// Whether a test may go to `address`: listed, or in a listed `@domain`.
fn test_recipient_allowed(allowed: &[String], address: &str) -> bool {
    let address = address.to_lowercase();
    !address.is_empty()
        && address.contains('@')
        && allowed.iter().any(|entry| {
            let entry = entry.to_lowercase();
            if entry.starts_with('@') {
                address.ends_with(&entry)
            } else {
                address == entry
            }
        })
}

/// A browser says where a form comes from; only our own pages may post.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => headers
            .get("sec-fetch-site")
            .and_then(|s| s.to_str().ok())
            .is_none_or(|site| site == "same-origin" || site == "none"),
        Some(origin) => origin == format!("http://{host}"),
    }
}

/// A WebSocket that says `reload <generation>` after every change of the
/// workspace. (Not server-sent events: browsers allow six HTTP/1.1
/// connections per host, and every open tab would hold one.)
async fn events(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    let mut reloads = shared.reloads.subscribe();
    upgrade.on_upgrade(move |mut socket| async move {
        loop {
            tokio::select! {
                changed = reloads.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let generation = *reloads.borrow_and_update();
                    let message = Message::Text(format!("reload {generation}").into());
                    if socket.send(message).await.is_err() {
                        return;
                    }
                }
                // The page went away (or sent something, which we ignore).
                incoming = socket.recv() => {
                    if !matches!(incoming, Some(Ok(_))) {
                        return;
                    }
                }
            }
        }
    })
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("ui/app.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("ui/app.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_servers_own_names_are_hosts() {
        let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
        for host in [
            "127.0.0.1:8025",
            "localhost:8025",
            "LOCALHOST",
            "[::1]:8025",
            "127.0.0.1",
        ] {
            assert!(is_our_host(host, loopback), "{host}");
        }
        for host in [
            "rebind.attacker.example:8025",
            "127.0.0.2:8025",
            "localhost.attacker.example",
            "",
            "[::1]x",
        ] {
            assert!(!is_our_host(host, loopback), "{host}");
        }
        let lan = std::net::IpAddr::from([192, 168, 1, 20]);
        assert!(is_our_host("192.168.1.20:8025", lan));
        assert!(!is_our_host("192.168.1.21:8025", lan));
    }

    #[test]
    fn test_recipients_are_addresses_or_domains() {
        let allowed = vec![
            "@shop.example".to_string(),
            "ana@studio.example".to_string(),
        ];
        assert!(test_recipient_allowed(&allowed, "designer@shop.example"));
        assert!(test_recipient_allowed(&allowed, "Ana@Studio.example"));
        assert!(!test_recipient_allowed(&allowed, "bob@studio.example"));
        assert!(!test_recipient_allowed(&allowed, "evil@shop.example.com"));
        assert!(!test_recipient_allowed(&[], "designer@shop.example"));
    }

    #[test]
    fn only_our_own_pages_may_post() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8025".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "http://127.0.0.1:8025".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&headers));
        headers.remove(header::ORIGIN);
        headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&headers));
    }
}
