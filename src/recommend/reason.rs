//! Why a product was picked, kept as numbers while lists are being filled
//! and written as one line only for the products kept: "bought with Gentle
//! Cleansing Body Soap by 34 customers, lift 5.2".

use crate::data::{NameIx, ProductIx, Store};

use super::repurchase::Basis;
use super::scope::{Note, Place, days_ago};

const DAY: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Why {
    Bestseller {
        place: Place,
        /// Distinct buyers in the window.
        buyers: u32,
        window: i64,
    },
    NewArrival {
        place: Place,
        launched: i64,
    },
    Reminder {
        last: i64,
        interval: i64,
        basis: Basis,
    },
    CrossSell {
        seed: ProductIx,
        customers: u32,
        lift: f32,
    },
    Similar {
        because: ProductIx,
        together: u32,
    },
    NextPurchase {
        because: ProductIx,
        together: u32,
    },
    /// An owned product, suggested again (order lines of it so far).
    BuyAgain {
        times: u32,
    },
    Upgrade {
        from: ProductIx,
        step: Step,
    },
    Ecosystem {
        owned: ProductIx,
        family: NameIx,
        buyers: u32,
    },
    Manual,
}

/// How an upgrade is a step up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Step {
    Level { family: NameIx, from: u8, to: u8 },
    Price { ratio: f64 },
}

impl Why {
    pub(crate) fn text(&self, store: &Store, now: i64) -> String {
        let name = |p: ProductIx| store.product(p).name.to_string();
        match *self {
            Why::Bestseller {
                place,
                buyers,
                window,
            } => {
                let (what, note) = placed(store, "bestseller", place, now);
                format!(
                    "{what} ({} in the last {}){note}",
                    plural(buyers, "buyer"),
                    duration(window)
                )
            }
            Why::NewArrival { place, launched } => {
                let (what, note) = placed(store, "new", place, now);
                format!("{what}, launched {}{note}", days_ago(now, launched))
            }
            Why::Reminder {
                last,
                interval,
                basis,
            } => {
                let every = plural(round_days(interval), "day");
                match basis {
                    Basis::Product => format!(
                        "you bought it {}; usually re-bought every {every}",
                        days_ago(now, last)
                    ),
                    Basis::Category(category) => format!(
                        "you bought it {}; {} is usually re-bought every {every}",
                        days_ago(now, last),
                        store.categories().name(category)
                    ),
                }
            }
            Why::CrossSell {
                seed,
                customers,
                lift,
            } => format!(
                "bought with {} by {}, lift {lift:.1}",
                name(seed),
                plural(customers, "customer")
            ),
            Why::Similar { because, together } => format!(
                "{} who bought {} also bought it",
                plural(together, "customer"),
                name(because)
            ),
            Why::BuyAgain { times } => match times {
                1 => "you bought it before".to_string(),
                n => format!("you have bought it {n} times"),
            },
            Why::NextPurchase { because, together } => format!(
                "goes with {} you bought ({} bought both)",
                name(because),
                plural(together, "customer")
            ),
            Why::Upgrade { from, step } => match step {
                Step::Level {
                    family,
                    from: l,
                    to,
                } => format!(
                    "next in {}: level {to} after your {} (level {l})",
                    store.families().name(family),
                    name(from)
                ),
                Step::Price { ratio } => {
                    format!("a step up from your {} ({ratio:.1}× its price)", name(from))
                }
            },
            Why::Ecosystem {
                owned,
                family,
                buyers,
            } => format!(
                "goes with your {} ({}); bought by {}",
                name(owned),
                store.families().name(family),
                plural(buyers, "customer")
            ),
            Why::Manual => "chosen for this campaign".to_string(),
        }
    }
}

/// ("bestseller in Running Shoes", ", last viewed 2 days ago"), ("new from Maison Douce", "").
fn placed(store: &Store, what: &str, place: Place, now: i64) -> (String, String) {
    let (text, note) = match place {
        Place::Catalog => (what.to_string(), None),
        Place::Category(category, note) => (
            format!("{what} in {}", store.categories().name(category)),
            Some(note),
        ),
        Place::Manufacturer(manufacturer, note) => (
            format!("{what} from {}", store.manufacturers().name(manufacturer)),
            Some(note),
        ),
    };
    let note = match note {
        Some(Note::MostBought { purchases, of }) => {
            format!(", the category you buy most ({purchases} of your {of} purchases)")
        }
        Some(Note::Viewed { at }) => format!(", viewed {}", days_ago(now, at)),
        Some(Note::LastViewed { at }) => format!(", last viewed {}", days_ago(now, at)),
        Some(Note::Chosen) | Some(Note::Moment) | None => String::new(),
    };
    (text, note)
}

fn plural(count: u32, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn round_days(seconds: i64) -> u32 {
    ((seconds + DAY / 2) / DAY).max(1) as u32
}

/// "90 days", "1 day", "36 hours".
fn duration(seconds: i64) -> String {
    if seconds % DAY == 0 {
        plural((seconds / DAY) as u32, "day")
    } else {
        plural((seconds / 3600).max(1) as u32, "hour")
    }
}
