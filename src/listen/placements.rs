//! The placements API: `GET /api/placements/{id}?customer=…&product=…`
//! (or `POST` with `{"customer": …, "products": [the cart]}`) answers the
//! placement's lists as JSON — products with prices formatted in the
//! customer's currency and locale, rating, URL with the placement's UTM
//! parameters, image and the reason in words.
//!
//! Access: the shop's servers send the API key (`Authorization: Bearer …`
//! or `X-Api-Key`, from the environment variable `[site] api_key_env`) and
//! may name a customer. A browser without the key may ask a `public: true`
//! placement only, and always gets its anonymous version (a customer id in
//! the query is not a credential). A customer xsell does not know gets the
//! anonymous version too, not an error.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::Shared;
use super::engine::Engine;
use crate::data::{Currency, ProductIx};
use crate::render::context::{ProductContext, site_card};

/// The query of a GET (a POST may carry the same in its body).
#[derive(Debug, Default, Deserialize)]
pub struct Ask {
    customer: Option<String>,
    /// The product shown (product page).
    product: Option<String>,
    /// Several products, comma-separated (a cart in a GET).
    products: Option<String>,
    /// For anonymous visitors: the currency and locale to show prices in.
    currency: Option<String>,
    locale: Option<String>,
}

/// The body of a POST.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cart {
    customer: Option<String>,
    #[serde(default)]
    products: Vec<String>,
    currency: Option<String>,
    locale: Option<String>,
}

#[derive(Serialize)]
struct Answer<'a> {
    placement: &'a str,
    name: &'a str,
    /// Whether the lists were made for a known customer (else: the
    /// anonymous version, from sources that need no history).
    personalised: bool,
    currency: &'a str,
    locale: &'a str,
    /// The time the lists were resolved at (the data's time; see /healthz).
    as_of: String,
    lists: Vec<AnswerList<'a>>,
    /// Product ids asked about that the catalog does not have (left out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unknown_products: Vec<String>,
}

#[derive(Serialize)]
struct AnswerList<'a> {
    name: &'a str,
    products: Vec<AnswerProduct<'a>>,
}

#[derive(Serialize)]
struct AnswerProduct<'a> {
    #[serde(flatten)]
    card: ProductContext<'a>,
    /// The list source that picked it (`cross_sell`, `bestsellers`…).
    source: &'static str,
}

pub async fn get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(ask): Query<Ask>,
) -> Response {
    let mut products: Vec<String> = Vec::new();
    products.extend(ask.product);
    if let Some(list) = ask.products {
        products.extend(
            list.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty()),
        );
    }
    let cart = Cart {
        customer: ask.customer,
        products,
        currency: ask.currency,
        locale: ask.locale,
    };
    answer(&shared, &id, &headers, cart)
}

pub async fn post(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let cart: Cart = if body.is_empty() {
        Cart::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(cart) => cart,
            Err(error) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "the body is not a cart: {error} (expected {{\"customer\": \"…\", \"products\": [\"…\"]}})"
                    ),
                );
            }
        }
    };
    answer(&shared, &id, &headers, cart)
}

/// Who is asking, from the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The shop's server, with the right key.
    Shop,
    /// No key: a browser.
    Anonymous,
    /// A key that is not ours (or no key is configured).
    BadKey,
}

pub fn caller(shared: &Shared, headers: &HeaderMap) -> Caller {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
    match (presented, &shared.api_key) {
        (None, _) => Caller::Anonymous,
        (Some(presented), Some(key))
            if crate::signing::constant_time_eq(presented.trim().as_bytes(), key.as_bytes()) =>
        {
            Caller::Shop
        }
        (Some(_), _) => Caller::BadKey,
    }
}

fn answer(shared: &Shared, id: &str, headers: &HeaderMap, cart: Cart) -> Response {
    let engine: Arc<Engine> = shared.engine.get();
    let Some(placement) = engine.placement(id) else {
        return refuse(StatusCode::NOT_FOUND, &format!("no placement `{id}`"));
    };
    let caller = caller(shared, headers);
    match caller {
        Caller::BadKey => {
            return refuse(StatusCode::UNAUTHORIZED, "the API key is not valid");
        }
        Caller::Anonymous if !placement.public => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                &format!("placement `{id}` needs the API key (it is not public)"),
            );
        }
        _ => {}
    }
    let store = &engine.store;
    let customer = match (caller, cart.customer.as_deref()) {
        (Caller::Shop, Some(customer)) => store.customer_ix(customer),
        _ => None,
    };
    let mut unknown_products = Vec::new();
    let mut seeds: Vec<ProductIx> = Vec::new();
    for product in cart.products.iter().take(MAX_PRODUCTS) {
        match store.product_ix(product) {
            Some(ix) if !seeds.contains(&ix) => seeds.push(ix),
            Some(_) => {}
            None => unknown_products.push(product.clone()),
        }
    }
    let default_currency = Currency::parse(&shared.config.shop.default_currency);
    let (currency, locale): (Option<Currency>, &str) = match customer {
        Some(ix) => {
            let c = store.customer(ix);
            (Some(c.currency), store.locales().name(c.locale))
        }
        None => {
            let currency = match cart.currency.as_deref() {
                None => default_currency,
                Some(code) => match Currency::parse(code)
                    .filter(|_| iso_currency::Currency::from_code(code).is_some())
                {
                    Some(currency) => Some(currency),
                    None => {
                        return refuse(
                            StatusCode::BAD_REQUEST,
                            &format!("unknown currency `{code}` (an ISO 4217 code such as EUR)"),
                        );
                    }
                },
            };
            let locale = match cart.locale.as_deref() {
                None => "en",
                Some(locale) if valid_locale(locale) => locale,
                Some(locale) => {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        &format!("`{locale}` is not a locale (a BCP 47 tag such as fr-FR)"),
                    );
                }
            };
            (currency, locale)
        }
    };
    let Some(currency) = currency else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the shop's default currency is not known",
        );
    };
    let Some(memo) = engine.placement_memo(id) else {
        return refuse(StatusCode::NOT_FOUND, &format!("no placement `{id}`"));
    };
    let resolved = placement.resolve(store, &engine.model, customer, &seeds, engine.now);
    let lists = resolved
        .iter()
        .map(|list| AnswerList {
            name: &list.name,
            products: list
                .items
                .iter()
                .filter_map(|item| {
                    Some(AnswerProduct {
                        card: site_card(store, item.product, currency, locale, &item.reason, memo)?,
                        source: item.source.name(),
                    })
                })
                .collect(),
        })
        .collect();
    let answer = Answer {
        placement: &placement.id,
        name: &placement.name,
        personalised: customer.is_some(),
        currency: currency.code(),
        locale,
        as_of: crate::calendar::rfc3339(engine.now),
        lists,
        unknown_products,
    };
    Json(answer).into_response()
}

/// The most products a request may name (a cart is small).
const MAX_PRODUCTS: usize = 50;

fn valid_locale(locale: &str) -> bool {
    (2..=35).contains(&locale.len())
        && locale
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// CORS for the API: an `Origin` listed in `[site] cors_origins` (or `*`)
/// may read the answers from a browser; a preflight is answered here.
pub async fn cors(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let allowed = origin.as_deref().filter(|origin| {
        shared
            .config
            .site
            .cors_origins
            .iter()
            .any(|o| o == "*" || o == origin)
    });
    let preflight = request.method() == Method::OPTIONS;
    let mut response = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed.and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if preflight {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, x-api-key, content-type"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    response
}
