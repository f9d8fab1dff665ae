//! `xsell listen`: the public service, meant to sit behind a TLS-terminating
//! reverse proxy. It answers the unsubscribe link every message carries —
//! the RFC 8058 one-click POST that mail providers send, and the page a
//! customer opens —, providers' bounce and complaint webhooks
//! (`/webhooks/ses`, `/webhooks/postmark`, `/webhooks/mailgun`), the
//! on-site placements API (`/api/placements/{id}`, see [`placements`]), the
//! landing page a message's "see more" link opens (`/p/{token}`, see
//! [`landing`]), and `/healthz` for the load balancer (with the time of the
//! data in use). It never serves previews (that is `xsell serve`, on
//! loopback). The store and models are reloaded when the data changes or on
//! SIGHUP, and swapped whole ([`engine`]).
//!
//! Each unsubscribe is committed to the ledger before the answer; the next
//! claim of any campaign sees it in its transaction. Requests are bounded
//! (body and header sizes, a rate per client), logged without tokens or
//! addresses, and finished before the service stops on SIGTERM.

mod engine;
mod guard;
pub mod landing;
mod page;
mod placements;
mod ses;
mod unsubscribe;
mod webhooks;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::signing::SigningKey;

/// How the service is started.
#[derive(Debug, Clone)]
pub struct Options {
    pub root: std::path::PathBuf,
    pub bind: IpAddr,
    pub port: u16,
    /// Requests per second one client may make (twice that at once).
    pub rate_per_client: f64,
    /// How long an undo works after an unsubscribe on the page (seconds).
    pub undo_within: i64,
}

/// What every request shares.
pub struct Shared {
    config: Config,
    key: SigningKey,
    ledger: Mutex<Ledger>,
    /// Where the token is in the unsubscribe URL.
    link: unsubscribe::Link,
    undo_within: i64,
    limiter: guard::RateLimiter,
    webhook_secrets: webhooks::Secrets,
    ses: ses::Ses,
    /// The store, models, placements and campaigns in use (swapped by reloads).
    engine: Arc<engine::Current>,
    /// The placements API key (`[site] api_key_env`); `None`: unset, only
    /// public placements answer.
    api_key: Option<String>,
}

impl Shared {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The largest request body accepted (a one-click POST is 26 bytes).
const MAX_BODY_BYTES: usize = 4 * 1024;

pub fn router(shared: Arc<Shared>) -> Router {
    let path = shared.link.route();
    let api = Router::new()
        .route(
            "/api/placements/{id}",
            get(placements::get).post(placements::post),
        )
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            placements::cors,
        ));
    Router::new()
        .merge(api)
        .route("/healthz", get(unsubscribe::healthz))
        .route(
            &crate::config::landing_route(&shared.config.site.landing_url)
                .unwrap_or_else(|| "/p/{token}".to_string()),
            get(landing::page),
        )
        .route(
            "/webhooks/{provider}",
            axum::routing::post(webhooks::receive),
        )
        .route(&path, get(unsubscribe::page).post(unsubscribe::post))
        .fallback(unsubscribe::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            guard::guard,
        ))
        .with_state(shared)
}

/// Opens the workspace and ledger, then serves until SIGTERM or Ctrl-C;
/// `ready` gets the address once it listens. `now` fixes the time lists are
/// resolved at (default: the data's newest event).
pub fn run(options: Options, now: Option<i64>, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    // Unsubscribes must keep working while a campaign file or template is
    // broken in git: only the config and the data are needed; the broken
    // rest is named and the campaigns that check are used for their names.
    let inspection = crate::workspace::inspect(&options.root);
    let (Some(config), Some(loaded)) = (inspection.config, inspection.loaded) else {
        return Err(Error::Files(inspection.problems));
    };
    if !inspection.problems.is_empty() {
        crate::stderr::warning(&format!(
            "serving despite {} problem(s) in campaigns or templates (see xsell check):\n{}",
            inspection.problems.len(),
            inspection.problems
        ));
    }
    // Tokens in sent messages were signed with the real key.
    let key = SigningKey::require_real(&config)?;
    let ledger = Ledger::for_config(&config, crate::ledger::Creation::IfNeverSent)?;
    let link = unsubscribe::Link::parse(&config.unsubscribe.url)?;
    if !inspection.placement_problems.is_empty() {
        crate::stderr::warning(&format!(
            "placements left out ({} problem(s), see xsell check):\n{}",
            inspection.placement_problems.len(),
            inspection.placement_problems
        ));
    }
    let api_key = std::env::var(&config.site.api_key_env)
        .ok()
        .filter(|k| !k.trim().is_empty());
    if api_key.is_none() {
        crate::stderr::note(&format!(
            "{} is not set: only public placements answer, anonymously",
            config.site.api_key_env
        ));
    }
    let engine = Arc::new(engine::Current::new(engine::Engine::build(
        loaded.store,
        inspection.campaigns,
        inspection.placements,
        &config.templates_dir,
        now,
    )));
    let (_watcher, reload) = engine::start_reloader(engine.clone(), &config, now)?;
    let shared = Arc::new(Shared {
        config,
        key,
        ledger: Mutex::new(ledger),
        link,
        undo_within: options.undo_within,
        limiter: guard::RateLimiter::new(options.rate_per_client),
        webhook_secrets: webhooks::Secrets::from_env(),
        ses: ses::Ses::from_env(),
        engine,
        api_key,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let address = SocketAddr::new(options.bind, options.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| Error::usage(format!("cannot listen on {address}: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::internal(format!("no local address: {e}")))?;
        ready(address);
        tokio::spawn(reload_on_hangup(reload));
        axum::serve(
            listener,
            router(shared).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop_signal())
        .await
        .map_err(|e| Error::Failed(format!("the service stopped: {e}")))
    })
}

/// SIGHUP reloads the data (as `systemctl reload` does).
async fn reload_on_hangup(reload: std::sync::mpsc::Sender<engine::Reload>) {
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        return;
    };
    while hangups.recv().await.is_some() {
        if reload.send(engine::Reload::Signal).is_err() {
            return;
        }
    }
}

/// SIGTERM (systemd, a load balancer's drain) or Ctrl-C: stop accepting,
/// let the requests in flight finish.
async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    crate::stderr::note("stopping: finishing the requests in flight");
}
