//! The landing page a message's "see more" link opens (`GET /p/{token}`,
//! `{{ more_url }}` in templates): the products the email showed, marked as
//! such, then more from the same lists of the campaign — the same sources
//! and reasons as the email, so the customer meets one voice. No login and
//! no cookie: the signed token names the message; no JavaScript needed.
//!
//! The page is rendered from the workspace's `templates/landing.html` (Tera,
//! plain HTML; the built-in one when the workspace has none).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::Shared;
use super::engine::Engine;
use crate::campaign::Campaign;
use crate::data::{CustomerIx, ProductIx};
use crate::ledger::Contents;
use crate::render::context::{ProductContext, site_card};
use crate::render::landing::{self, MessageRef};
use crate::trigger::{Detail, Occurrence};

/// The template's file in the templates folder.
pub const TEMPLATE: &str = "landing.html";

/// The example workspace's page, used when a workspace has none.
const BUILT_IN: &str = include_str!("../../templates/landing.html");

/// How many more products each list shows beyond the email's.
const MORE: usize = 6;

/// The page's template, compiled once per engine.
pub fn compile(templates_dir: &std::path::Path) -> Result<tera::Tera, String> {
    let path = templates_dir.join(TEMPLATE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => BUILT_IN.to_string(),
        Err(error) => return Err(format!("{}: cannot read: {error}", path.display())),
    };
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![".html"]);
    tera.add_raw_template(TEMPLATE, &text)
        .map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(tera)
}

#[derive(Serialize)]
struct Page<'a> {
    shop: ShopView<'a>,
    customer: CustomerView<'a>,
    campaign: CampaignView<'a>,
    blocks: Vec<Block>,
}

#[derive(Serialize)]
struct ShopView<'a> {
    name: &'a str,
    website: &'a str,
    brand_color: &'a str,
    brand_text_color: &'a str,
}

#[derive(Serialize)]
struct CustomerView<'a> {
    first_name: &'a str,
    language: String,
}

#[derive(Serialize)]
struct CampaignView<'a> {
    id: &'a str,
    name: &'a str,
}

/// A block of the page: the email's products, or more from one list.
#[derive(Serialize)]
pub struct Block {
    /// `in-email`, or `more-<list>`.
    pub id: String,
    pub in_email: bool,
    /// The list it continues (none for the email's block).
    pub list: Option<String>,
    /// Product cards (as in the emails) with `in_email`.
    pub products: Vec<serde_json::Value>,
}

#[derive(Serialize)]
struct PageProduct<'a> {
    #[serde(flatten)]
    card: ProductContext<'a>,
    in_email: bool,
}

pub async fn page(State(shared): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    let Some(message) = landing::verify(&shared.key, &token) else {
        return plain(
            StatusCode::NOT_FOUND,
            "This link is not valid. Please use the link in your email.",
        );
    };
    let engine = shared.engine.get();
    let Some(customer) = engine.store.customer_ix(&message.customer) else {
        return plain(StatusCode::NOT_FOUND, "This page is no longer available.");
    };
    if engine.campaign(&message.campaign).is_none() {
        return plain(StatusCode::NOT_FOUND, "This page is no longer available.");
    }
    let ledger_shared = shared.clone();
    let asked = message.clone();
    let contents = tokio::task::spawn_blocking(move || {
        ledger_shared
            .ledger()
            .contents_of(&asked.campaign, &asked.customer, &asked.occurrence)
    })
    .await;
    let contents = match contents {
        Ok(Ok(contents)) => contents,
        Ok(Err(error)) => {
            crate::stderr::warning(&crate::commands::describe_error(&error));
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again in a moment.",
            );
        }
        Err(_) => {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again in a moment.",
            );
        }
    };
    match render(&shared, &engine, &message, customer, contents.as_ref()) {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "private, no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
            html,
        )
            .into_response(),
        Err(error) => {
            crate::stderr::warning(&format!("landing page: {error}"));
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "This page cannot be shown right now.",
            )
        }
    }
}

/// The page of one message as HTML, on the engine in use.
fn render(
    shared: &Shared,
    engine: &Engine,
    message: &MessageRef,
    customer: CustomerIx,
    contents: Option<&Contents>,
) -> Result<String, String> {
    let template = engine.landing.as_ref().map_err(Clone::clone)?;
    let campaign = engine
        .campaign(&message.campaign)
        .ok_or("the campaign is gone")?
        .variant_for(&message.customer);
    let memo = engine
        .campaign_memo(&campaign.id)
        .ok_or("the campaign is gone")?;
    let models = Models {
        store: &engine.store,
        model: &engine.model,
        now: engine.now,
        memo,
    };
    let blocks = blocks(&models, campaign, customer, &message.occurrence, contents);
    render_page(
        template,
        &shared.config.shop,
        &engine.store,
        campaign,
        customer,
        blocks,
    )
}

/// A landing page as HTML: `blocks` for `customer`, through `template`.
pub fn render_page(
    template: &tera::Tera,
    shop: &crate::config::Shop,
    store: &crate::data::Store,
    campaign: &Campaign,
    customer: CustomerIx,
    blocks: Vec<Block>,
) -> Result<String, String> {
    let person = store.customer(customer);
    let page = Page {
        shop: ShopView {
            name: &shop.name,
            website: &shop.website,
            brand_color: &shop.brand_color,
            brand_text_color: &shop.brand_text_color,
        },
        customer: CustomerView {
            first_name: &person.first_name,
            language: crate::render::format::language(store.locales().name(person.locale)),
        },
        campaign: CampaignView {
            id: &campaign.id,
            name: &campaign.name,
        },
        blocks,
    };
    let context = tera::Context::from_serialize(&page).map_err(|e| e.to_string())?;
    template
        .render(TEMPLATE, &context)
        .map_err(|e| format!("{TEMPLATE}: {e}"))
}

/// What the page's lists are resolved with.
pub struct Models<'a> {
    pub store: &'a crate::data::Store,
    pub model: &'a crate::recommend::Recommender,
    /// The time lists are resolved at.
    pub now: i64,
    /// Cards and tracked URLs (the campaign's UTM parameters).
    pub memo: &'a crate::render::context::Memo,
}

/// The email's products (`contents`, from the ledger), then more from each
/// of the campaign's lists (`campaign`: the customer's variant).
pub fn blocks(
    models: &Models<'_>,
    campaign: &Campaign,
    customer: CustomerIx,
    occurrence: &str,
    contents: Option<&Contents>,
) -> Vec<Block> {
    let store = models.store;
    let memo = models.memo;
    let person = store.customer(customer);
    let locale = store.locales().name(person.locale);
    let card = |product: ProductIx, reason: &str, in_email: bool| {
        site_card(store, product, person.currency, locale, reason, memo)
            .and_then(|card| serde_json::to_value(PageProduct { card, in_email }).ok())
    };
    let shown: Vec<(String, ProductIx)> = contents
        .map(|c| {
            c.shown
                .iter()
                .filter_map(|s| Some((s.list.clone(), store.product_ix(&s.product)?)))
                .collect()
        })
        .unwrap_or_default();
    let moment = Occurrence {
        customer,
        key: occurrence.to_string(),
        at: contents.map_or(models.now, |c| c.moment_at),
        products: contents
            .map(|c| {
                c.moment_products
                    .iter()
                    .filter_map(|p| store.product_ix(p))
                    .collect()
            })
            .unwrap_or_default(),
        category: None,
        order: None,
        detail: Detail::None,
    };
    // More from each list: the same specification with room for more.
    let wider: Vec<crate::campaign::ListSpec> = campaign
        .lists
        .iter()
        .map(|spec| {
            let mut spec = spec.clone();
            spec.limit = spec.limit + shown.len() + MORE;
            spec
        })
        .collect();
    let resolved =
        models
            .model
            .resolve_lists(store, &wider, Some(customer), Some(&moment), models.now);
    // The email's reasons, where the list still gives one; else the list's name.
    let reason_of = |product: ProductIx| -> Option<&str> {
        resolved
            .iter()
            .flat_map(|l| &l.items)
            .find(|i| i.product == product)
            .map(|i| i.reason.as_str())
    };
    let mut blocks = vec![Block {
        id: "in-email".to_string(),
        in_email: true,
        list: None,
        products: shown
            .iter()
            .filter_map(|(_, product)| card(*product, reason_of(*product).unwrap_or(""), true))
            .collect(),
    }];
    for list in &resolved {
        let products: Vec<serde_json::Value> = list
            .items
            .iter()
            .filter(|item| !shown.iter().any(|(_, p)| *p == item.product))
            .take(MORE)
            .filter_map(|item| card(item.product, &item.reason, false))
            .collect();
        blocks.push(Block {
            id: format!("more-{}", list.name),
            in_email: false,
            list: Some(list.name.clone()),
            products,
        });
    }
    blocks
}

fn plain(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}
