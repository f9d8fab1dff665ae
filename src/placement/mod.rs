//! On-site placements (`placements/*.yaml`): the smart lists of the emails,
//! served to the shop's pages by `xsell listen` — the product page
//! ("complete your routine", seeded by the product shown), the cart ("goes
//! well with", seeded by its products), the home page ("for you", from the
//! customer's history). A placement is written and checked like a
//! campaign's `lists:` (same sources, guards, fallbacks and messages), so a
//! customer meets the same products and reasons by email and on the site.
//!
//! A visitor xsell does not know (no API key, or an unknown customer) gets
//! the placement's anonymous version: the same lists resolved with no
//! history, where only the sources that need none (bestsellers, new
//! arrivals, cross-sell of the page's products, manual picks) fill anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::campaign::raw::{RawList, TriggerKind};
use crate::campaign::{CheckContext, ListSpec, check};
use crate::data::{CustomerIx, ProductIx, Store};
use crate::diagnostic::{Diagnostic, Diagnostics, display_path};
use crate::recommend::{Recommender, ResolvedList};
use crate::trigger::{Detail, Occurrence};

/// A block of recommendations on the shop's site.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "xsell placement")]
pub struct RawPlacement {
    /// The key in the API path: `GET /api/placements/{id}`.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// Human name (a heading the site may show).
    pub name: Option<String>,
    /// The page it sits on, which seeds `seed: trigger` and `scope:
    /// trigger_category`: `product` (the product shown), `cart` (the cart's
    /// products) or `home` (nothing but the customer's history).
    #[schemars(with = "PageKind")]
    pub page: Spanned<PageKind>,
    /// Whether anonymous visitors may ask without the API key (then only
    /// the sources that need no history fill the lists).
    #[serde(default)]
    pub public: bool,
    /// Smart lists, as in campaigns: resolved in order, de-duplicated.
    #[serde(default)]
    pub lists: IndexMap<String, RawList>,
    /// UTM parameters added to every product URL, e.g. `{ source: site, medium: product-page }`.
    #[serde(default)]
    pub utm: BTreeMap<String, String>,
}

/// The page a placement sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    Product,
    Cart,
    Home,
}

impl PageKind {
    /// The kind of moment whose products seed the lists, for the checker.
    fn as_trigger(self) -> Option<TriggerKind> {
        match self {
            PageKind::Product => Some(TriggerKind::Browse),
            PageKind::Cart => Some(TriggerKind::CartAbandoned),
            PageKind::Home => None,
        }
    }
}

/// A checked placement.
#[derive(Debug, Clone, Serialize)]
pub struct Placement {
    pub id: String,
    pub name: String,
    pub page: PageKind,
    pub public: bool,
    pub lists: Vec<ListSpec>,
    pub utm: BTreeMap<String, String>,
    #[serde(skip)]
    pub file: PathBuf,
}

impl Placement {
    /// The placement's lists for `customer` (`None`: an anonymous visitor)
    /// on a page showing `products`, at `now`.
    pub fn resolve(
        &self,
        store: &Store,
        model: &Recommender,
        customer: Option<CustomerIx>,
        products: &[ProductIx],
        now: i64,
    ) -> Vec<ResolvedList> {
        let page = Occurrence {
            customer: customer.unwrap_or_default(),
            key: format!("placement:{}", self.id),
            at: now,
            products: products.to_vec(),
            category: None,
            order: None,
            detail: Detail::None,
        };
        let moment = (self.page != PageKind::Home).then_some(&page);
        model.resolve_lists(store, &self.lists, customer, moment, now)
    }
}

/// Reads and checks every placement of `dir` (no folder: no placements).
pub fn load_all(
    dir: &Path,
    root: &Path,
    context: &CheckContext<'_>,
) -> (Vec<Placement>, Diagnostics) {
    let mut placements: Vec<Placement> = Vec::new();
    let mut problems = Diagnostics::default();
    if !dir.exists() {
        return (placements, problems);
    }
    let files = match crate::campaign::yaml_files(dir, "placements") {
        Ok(files) => files,
        Err(problem) => return (placements, problem.into()),
    };
    for path in files {
        match load_file(&path, root, context) {
            Ok(placement) => {
                if let Some(other) = placements.iter().find(|p| p.id == placement.id) {
                    problems.push(Diagnostic::file(
                        display_path(root, &placement.file),
                        format!(
                            "placement id `{}` is also used by {}",
                            placement.id,
                            display_path(root, &other.file).display()
                        ),
                    ));
                } else {
                    placements.push(placement);
                }
            }
            Err(found) => problems.extend(found),
        }
    }
    (placements, problems)
}

/// Reads, parses and checks one placement file.
pub fn load_file(
    path: &Path,
    root: &Path,
    context: &CheckContext<'_>,
) -> Result<Placement, Diagnostics> {
    let display = display_path(root, path);
    let text = std::fs::read_to_string(path)
        .map_err(|error| Diagnostic::file(&display, format!("cannot read: {error}")))?;
    let text: Arc<str> = Arc::from(text);
    let raw: RawPlacement = crate::campaign::parse_yaml(&display, &text, "placement")?;
    let mut problems = Diagnostics::default();
    let at = |spanned_line: usize, spanned_column: usize, message: String| {
        Diagnostic::at(&display, &text, spanned_line, spanned_column, message)
    };
    let id = raw.id.value.clone();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        problems.push(at(
            raw.id.referenced.line() as usize,
            raw.id.referenced.column() as usize,
            format!("invalid placement id `{id}`: use lowercase letters, digits, `-` and `_` (it is part of the API path)"),
        ));
    }
    if raw.lists.is_empty() {
        problems.push(Diagnostic::file(
            &display,
            "a placement needs at least one list under `lists:`",
        ));
    }
    let page = raw.page.value;
    let lists = match check::check_lists(&raw.lists, page.as_trigger(), &display, &text, context) {
        Ok(lists) => lists,
        Err(found) => {
            problems.extend(found);
            Vec::new()
        }
    };
    if raw.public {
        for (spec, (name, list)) in lists.iter().zip(&raw.lists) {
            let anonymous = std::iter::once(&spec.primary)
                .chain(&spec.fallback)
                .any(|pick| !pick.source.needs_history());
            if !anonymous {
                problems.push(at(
                    list.source.referenced.line() as usize,
                    list.source.referenced.column() as usize,
                    format!(
                        "list `{name}`: the placement is public, but every source of the list reads the customer's history, so anonymous visitors would get nothing: add a fallback such as `{{ source: bestsellers }}`"
                    ),
                ));
            }
        }
    }
    problems.0.sort_by_key(|p| (p.line, p.column));
    problems.into_result(Placement {
        id,
        name: raw.name.unwrap_or_else(|| raw.id.value.clone()),
        page,
        public: raw.public,
        lists,
        utm: raw.utm,
        file: path.to_path_buf(),
    })
}
