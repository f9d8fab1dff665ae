//! Which part of the catalog a bestsellers or new-arrivals list draws from,
//! for one recipient: a campaign's `scope` made concrete from the
//! customer's history (views and purchases before `now`) and the moment.

use crate::campaign::Scope;
use crate::data::{NameIx, Product, ProductIx, Store};
use crate::trigger::Occurrence;

use super::history::History;

const DAY: i64 = 24 * 60 * 60;

/// Why a category or manufacturer is in the scope, for the reason line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Note {
    /// Named by the campaign.
    Chosen,
    /// The category the customer bought most in: `purchases` of their `of` order lines.
    MostBought { purchases: u32, of: u32 },
    /// Viewed within the scope's window; last at `at`.
    Viewed { at: i64 },
    /// The last category viewed, at `at`.
    LastViewed { at: i64 },
    /// The moment's category.
    Moment,
}

/// A scope resolved for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    Catalog,
    Categories(Vec<(NameIx, Note)>),
    Manufacturers(Vec<(NameIx, Note)>),
}

/// Where a product sits in a resolved scope, for the reason line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Catalog,
    Category(NameIx, Note),
    Manufacturer(NameIx, Note),
}

impl Resolved {
    /// Where the product is in the scope, if it is in it.
    pub(crate) fn place_of(&self, product: &Product) -> Option<Place> {
        match self {
            Resolved::Catalog => Some(Place::Catalog),
            Resolved::Categories(categories) => categories
                .iter()
                .find(|(c, _)| *c == product.category)
                .map(|(c, note)| Place::Category(*c, *note)),
            Resolved::Manufacturers(manufacturers) => manufacturers
                .iter()
                .find(|(m, _)| *m == product.manufacturer)
                .map(|(m, note)| Place::Manufacturer(*m, *note)),
        }
    }

    /// Nothing can be in it (e.g. the last viewed category of someone who never viewed anything).
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Resolved::Catalog => false,
            Resolved::Categories(c) | Resolved::Manufacturers(c) => c.is_empty(),
        }
    }
}

pub(crate) fn resolve(
    store: &Store,
    scope: &Scope,
    history: &History,
    occurrence: Option<&Occurrence>,
    now: i64,
) -> Resolved {
    match scope {
        Scope::Catalog => Resolved::Catalog,
        Scope::Categories { categories } => Resolved::Categories(
            categories
                .iter()
                .filter_map(|name| store.categories().get(name))
                .map(|c| (c, Note::Chosen))
                .collect(),
        ),
        Scope::Manufacturers { manufacturers } => Resolved::Manufacturers(
            manufacturers
                .iter()
                .filter_map(|name| store.manufacturers().get(name))
                .map(|m| (m, Note::Chosen))
                .collect(),
        ),
        Scope::MostRepresentedCategory => {
            Resolved::Categories(most_bought_category(store, history).into_iter().collect())
        }
        Scope::VisitedCategory { window } => {
            let since = now - window.num_seconds();
            Resolved::Categories(viewed_groups(history, since, |p| store.product(p).category))
        }
        Scope::LastViewedCategory => Resolved::Categories(
            history
                .views
                .last()
                .map(|(p, at)| (store.product(*p).category, Note::LastViewed { at: *at }))
                .into_iter()
                .collect(),
        ),
        Scope::TriggerCategory => Resolved::Categories(
            occurrence
                .and_then(|o| {
                    o.category
                        .or_else(|| o.products.first().map(|p| store.product(*p).category))
                })
                .map(|c| (c, Note::Moment))
                .into_iter()
                .collect(),
        ),
        Scope::VisitedManufacturer { window } => {
            let since = now - window.num_seconds();
            Resolved::Manufacturers(viewed_groups(history, since, |p| {
                store.product(p).manufacturer
            }))
        }
    }
}

/// The category with the most order lines; ties go to the most recent purchase, then to position.
fn most_bought_category(store: &Store, history: &History) -> Option<(NameIx, Note)> {
    let mut counts: Vec<(NameIx, u32, i64)> = Vec::new();
    for (product, at) in &history.purchases {
        let category = store.product(*product).category;
        match counts.iter_mut().find(|(c, _, _)| *c == category) {
            Some((_, count, last)) => {
                *count += 1;
                *last = (*last).max(*at);
            }
            None => counts.push((category, 1, *at)),
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)).then(b.0.cmp(&a.0)))
        .map(|(category, purchases, _)| {
            let of = history.purchases.len() as u32;
            (category, Note::MostBought { purchases, of })
        })
}

/// The groups (categories or manufacturers) of the products viewed since
/// `since`, with the last view of each, most recently viewed first.
fn viewed_groups(
    history: &History,
    since: i64,
    group_of: impl Fn(ProductIx) -> NameIx,
) -> Vec<(NameIx, Note)> {
    let mut groups: Vec<(NameIx, Note)> = Vec::new();
    for (product, at) in history.views.iter().rev() {
        if *at < since {
            break;
        }
        let group = group_of(*product);
        if !groups.iter().any(|(g, _)| *g == group) {
            groups.push((group, Note::Viewed { at: *at }));
        }
    }
    groups
}

/// "today", "yesterday", "3 days ago".
pub(crate) fn days_ago(now: i64, at: i64) -> String {
    match (now - at).max(0) / DAY {
        0 => "today".to_string(),
        1 => "yesterday".to_string(),
        days => format!("{days} days ago"),
    }
}
