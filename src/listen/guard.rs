//! What every request of the public service goes through: a header size
//! limit, a rate limit per client, and an access log line that carries
//! neither the token (it unsubscribes someone) nor an address in clear.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::Shared;

/// The most header bytes (names and values) a request may carry.
const MAX_HEADER_BYTES: usize = 8 * 1024;

/// A token bucket per client address: `rate` per second, twice that at once.
pub struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: f64) -> RateLimiter {
        RateLimiter {
            rate: rate.max(0.1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `client` may make a request now.
    fn allow(&self, client: IpAddr) -> bool {
        let burst = self.rate * 2.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Forget clients whose buckets are full again (idle for a while).
            let rate = self.rate;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(client).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The client: the peer, or — when the peer is a proxy on this machine —
/// the address the proxy appended to `X-Forwarded-For`.
fn client(peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if peer.ip().is_loopback()
        && let Some(forwarded) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return forwarded;
    }
    peer.ip()
}

pub async fn guard(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // The path only: the query holds the token.
    let path = request.uri().path().to_string();
    let client = client(peer, request.headers());
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let response = if header_bytes > MAX_HEADER_BYTES {
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request headers too large\n",
        )
            .into_response()
    } else if announced.is_some_and(|length| length > super::MAX_BODY_BYTES) {
        // Refused before reading it; a body without a length is cut at the
        // same size by the body limit.
        (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response()
    } else if path != "/healthz"
        && !path.starts_with("/webhooks/")
        // The shop's own servers (placements with the API key) are not one visitor.
        && super::placements::caller(&shared, request.headers()) != super::placements::Caller::Shop
        && !shared.limiter.allow(client)
    {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "too many requests\n",
        )
            .into_response()
    } else {
        next.run(request).await
    };
    access_log(&method, &path, response.status(), started, client);
    response
}

/// One line per request; the client as a short hash (enough to follow one
/// client through the log, not to name them).
fn access_log(
    method: &axum::http::Method,
    path: &str,
    status: StatusCode,
    started: Instant,
    client: IpAddr,
) {
    let digest = Sha256::digest(client.to_string().as_bytes());
    let client = hex::encode(&digest[..4]);
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let line = format!(
        "{method} {path} {} {millis:.1}ms client {client}",
        status.as_u16()
    );
    if crate::stderr::is_json() {
        crate::stderr::access(&line);
    } else {
        eprintln!("{line}");
    }
}
