//! Loading the three tables into a [`Store`]: everything or nothing.
//!
//! Each table is read through its column mapping ([`super::rows`]); a bad row
//! is reported as `file:line: reason`. Events are then sorted and indexed.
//! If anything fails the caller gets every problem and no store.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use super::ids::{IdIndex, Interner};
use super::model::*;
use super::rows::{self, ReadReport, Row, TableSpec};
use super::source;
use super::store::{Names, Store};
use crate::config::{self, DataConfig, SourceConfig};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::shard::Shard;

/// What loading one table found; `xsell check` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: &'static str,
    pub source: PathBuf,
    #[serde(flatten)]
    pub read: ReadReport,
}

pub struct Loaded {
    pub store: Store,
    pub reports: Vec<TableReport>,
}

const CATALOG: TableSpec = TableSpec {
    name: "catalog",
    fields: config::CATALOG_FIELDS,
    required: &[
        "id",
        "name",
        "category",
        "manufacturer",
        "price",
        "currency",
        "stock",
        "created_at",
        "url",
    ],
};
const CUSTOMERS: TableSpec = TableSpec {
    name: "customers",
    fields: config::CUSTOMER_FIELDS,
    required: &[
        "id",
        "email",
        "locale",
        "timezone",
        "tier",
        "consent",
        "created_at",
        "currency",
    ],
};
const EVENTS: TableSpec = TableSpec {
    name: "events",
    fields: config::EVENT_FIELDS,
    required: &["ts", "customer_id", "kind"],
};

// Field positions, in the order of `config::*_FIELDS`.
mod catalog_field {
    pub const ID: usize = 0;
    pub const NAME: usize = 1;
    pub const CATEGORY: usize = 2;
    pub const MANUFACTURER: usize = 3;
    pub const PRICE: usize = 4;
    pub const CURRENCY: usize = 5;
    pub const RATING: usize = 6;
    pub const RATING_COUNT: usize = 7;
    pub const STOCK: usize = 8;
    pub const CREATED_AT: usize = 9;
    pub const URL: usize = 10;
    pub const IMAGE_URL: usize = 11;
    pub const FAMILY: usize = 12;
    pub const LEVEL: usize = 13;
    pub const COMPARE_AT_PRICE: usize = 14;
    pub const PRICES: usize = 15;
}
mod customer_field {
    pub const ID: usize = 0;
    pub const EMAIL: usize = 1;
    pub const FIRST_NAME: usize = 2;
    pub const LOCALE: usize = 3;
    pub const TIMEZONE: usize = 4;
    pub const TIER: usize = 5;
    pub const CONSENT: usize = 6;
    pub const CREATED_AT: usize = 7;
    pub const TAGS: usize = 8;
    pub const CURRENCY: usize = 9;
}
mod event_field {
    pub const TS: usize = 0;
    pub const CUSTOMER_ID: usize = 1;
    pub const KIND: usize = 2;
    pub const PRODUCT_ID: usize = 3;
    pub const ORDER_ID: usize = 4;
    pub const QUANTITY: usize = 5;
    pub const UNIT_PRICE: usize = 6;
    pub const VALUE: usize = 7;
    pub const METRIC: usize = 8;
    pub const GIFT: usize = 9;
    pub const PRODUCT_NAME: usize = 10;
    pub const CATEGORY: usize = 11;
    pub const MANUFACTURER: usize = 12;
    pub const CODE: usize = 13;
}

/// Loads catalog, customers and events as configured.
pub fn load(data: &DataConfig, root: &Path) -> Result<Loaded, Diagnostics> {
    load_shard(data, root, None)
}

/// Loads the data for one shard (`--shard K/N`; everyone's with `None`):
/// every row is read and checked as for the whole shop, but only the shard's
/// customers keep all their events; the others keep their orders (the
/// models learn from everyone's) and a compact copy of their views.
pub fn load_shard(
    data: &DataConfig,
    root: &Path,
    shard: Option<Shard>,
) -> Result<Loaded, Diagnostics> {
    let (catalog, customers) = rayon::join(
        || match data.catalog.from_events {
            true => Ok((Store::default(), None)),
            false => read_catalog(
                open_input(&data.catalog, root)?,
                &data.catalog,
                data.max_bad_rows,
            ),
        },
        || match data.customers.from_events {
            true => Ok((Customers::default(), None)),
            false => read_customers(
                open_input(&data.customers, root)?,
                &data.customers,
                data.max_bad_rows,
            ),
        },
    );
    let mut problems = Diagnostics::default();
    let (mut store, catalog_report) = match catalog {
        Ok(loaded) => loaded,
        Err(found) => {
            problems.extend(found);
            (Store::default(), None)
        }
    };
    let customers_report = match customers {
        Ok((customers, report)) => {
            install_customers(&mut store, customers);
            report
        }
        Err(found) => {
            problems.extend(found);
            None
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let derive = Derive {
        catalog: data.catalog.from_events.then_some(&data.catalog),
        customers: data.customers.from_events.then_some(&data.customers),
    };
    let events_report = read_events(
        open_input(&data.events, root)?,
        &data.events,
        data.max_bad_rows,
        derive,
        shard,
        &mut store,
    )?;
    let derived_report = |table: &'static str, rows: usize| TableReport {
        table,
        source: PathBuf::from(format!("(from {})", events_report.source.display())),
        read: ReadReport {
            rows,
            ..ReadReport::default()
        },
    };
    let catalog_report = catalog_report.or_else(|| {
        derive
            .catalog
            .map(|_| derived_report("catalog", store.products.len()))
    });
    let customers_report = customers_report.or_else(|| {
        derive
            .customers
            .map(|_| derived_report("customers", store.customers.len()))
    });
    Ok(Loaded {
        store,
        reports: [catalog_report, customers_report, Some(events_report)]
            .into_iter()
            .flatten()
            .collect(),
    })
}

/// Tables built from the events file, for exports that only have transactions.
#[derive(Clone, Copy, Default)]
struct Derive<'a> {
    catalog: Option<&'a SourceConfig>,
    customers: Option<&'a SourceConfig>,
}

/// A table's source, opened: its name in messages and its bytes.
struct Input<'a> {
    display: PathBuf,
    reader: Box<dyn Read + 'a>,
}

fn open_input(source: &SourceConfig, root: &Path) -> Result<Input<'static>, Diagnostics> {
    let display = source.location.display(root);
    let reader = source::open(source).map_err(|message| Diagnostic::file(&display, message))?;
    let bar = progress_bar(reader.size(), &display);
    Ok(Input {
        display,
        reader: Box::new(bar.wrap_read(reader)),
    })
}

/// A progress bar of bytes read, drawn on stderr only when it is a terminal
/// (and only for inputs big enough to take a while).
fn progress_bar(bytes: u64, display: &Path) -> indicatif::ProgressBar {
    if bytes < 32 << 20 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(bytes);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(
        display
            .file_name()
            .map_or_else(String::new, |n| format!("loading {}", n.to_string_lossy())),
    );
    bar
}

fn read_table(
    input: Input<'_>,
    source: &SourceConfig,
    table: &TableSpec,
    max_bad_rows: usize,
    on_row: impl FnMut(usize, &Row<'_>) -> Result<(), String>,
) -> Result<TableReport, Diagnostics> {
    let read = rows::read_rows(
        input.reader,
        &input.display,
        source,
        table,
        max_bad_rows,
        on_row,
    )?;
    Ok(TableReport {
        table: table.name,
        source: input.display,
        read,
    })
}

/// Builds a store from CSV texts with our own column names (for tests and examples).
pub fn store_from_csv(catalog: &str, customers: &str, events: &str) -> Result<Store, Diagnostics> {
    store_from_csv_for_shard(catalog, customers, events, None)
}

/// [`store_from_csv`] keeping one shard's events (see [`load_shard`]).
pub fn store_from_csv_for_shard(
    catalog: &str,
    customers: &str,
    events: &str,
    shard: Option<Shard>,
) -> Result<Store, Diagnostics> {
    let source = SourceConfig {
        defaults: [("currency".to_string(), "USD".to_string())].into(),
        delimiter: b',',
        ..SourceConfig::default()
    };
    let (mut store, _) = read_catalog(text_input("catalog.csv", catalog), &source, 0)?;
    let (loaded, _) = read_customers(text_input("customers.csv", customers), &source, 0)?;
    install_customers(&mut store, loaded);
    read_events(
        text_input("events.csv", events),
        &source,
        0,
        Derive::default(),
        shard,
        &mut store,
    )?;
    Ok(store)
}

fn text_input<'a>(name: &str, text: &'a str) -> Input<'a> {
    Input {
        display: PathBuf::from(name),
        reader: Box::new(text.as_bytes()),
    }
}

fn install_customers(store: &mut Store, customers: Customers) {
    store.customers = customers.customers;
    store.customer_by_id = customers.by_id;
    store.tiers = customers.tiers;
    store.locales = customers.locales;
    store.tags = customers.tags;
}

// ----- catalog

fn read_catalog(
    input: Input<'_>,
    source: &SourceConfig,
    max_bad_rows: usize,
) -> Result<(Store, Option<TableReport>), Diagnostics> {
    use catalog_field::*;
    let mut store = Store::default();
    let report = read_table(input, source, &CATALOG, max_bad_rows, |_, row| {
        let id = required(row, ID, "id")?;
        if store.product_ix(id).is_some() {
            return Err(format!("duplicate product id `{id}`"));
        }
        let price = money(required(row, PRICE, "price")?, "price")?;
        let currency = currency(required(row, CURRENCY, "currency")?)?;
        let rating = match row.get(RATING) {
            None => None,
            Some(text) => {
                let value: f32 = text.parse().map_err(|_| {
                    format!("invalid rating `{text}`: expected a number from 0 to 5")
                })?;
                if !(0.0..=5.0).contains(&value) {
                    return Err(format!(
                        "invalid rating `{text}`: expected a number from 0 to 5"
                    ));
                }
                Some(value)
            }
        };
        let product = Product {
            id: id.into(),
            name: required(row, NAME, "name")?.into(),
            category: store
                .categories
                .intern(required(row, CATEGORY, "category")?),
            manufacturer: store
                .manufacturers
                .intern(required(row, MANUFACTURER, "manufacturer")?),
            price,
            currency,
            other_prices: row.get(PRICES).map(prices).transpose()?.unwrap_or_default(),
            rating,
            rating_count: row
                .get(RATING_COUNT)
                .map(|t| integer(t, "rating_count"))
                .transpose()?
                .unwrap_or(0),
            stock: integer(required(row, STOCK, "stock")?, "stock")?,
            created_at: timestamp(required(row, CREATED_AT, "created_at")?, source)?,
            url: web_url(required(row, URL, "url")?, "url")?.into(),
            image_url: web_url(row.get(IMAGE_URL).unwrap_or_default(), "image_url")?.into(),
            family: row.get(FAMILY).map(|f| store.families.intern(f)),
            level: row.get(LEVEL).map(|t| integer(t, "level")).transpose()?,
            compare_at_price: row
                .get(COMPARE_AT_PRICE)
                .map(|t| money(t, "compare_at_price"))
                .transpose()?,
        };
        store.add_product(product);
        Ok(())
    })?;
    store.products_by_category = group_products(&store.products, store.categories.len(), |p| {
        Some(p.category)
    });
    store.products_by_manufacturer =
        group_products(&store.products, store.manufacturers.len(), |p| {
            Some(p.manufacturer)
        });
    store.products_by_family = group_products(&store.products, store.families.len(), |p| p.family);
    Ok((store, Some(report)))
}

fn group_products(
    products: &[Product],
    groups: usize,
    key: impl Fn(&Product) -> Option<NameIx>,
) -> Vec<Vec<ProductIx>> {
    let mut grouped = vec![Vec::new(); groups];
    for (ix, product) in products.iter().enumerate() {
        if let Some(group) = key(product) {
            grouped[group as usize].push(ix as ProductIx);
        }
    }
    grouped
}

/// `EUR=24.00|GBP=20.00`
fn prices(text: &str) -> Result<Box<[(Currency, Decimal)]>, String> {
    text.split('|')
        .map(|pair| {
            let (code, amount) = pair.split_once('=').ok_or_else(|| {
                format!("invalid prices `{text}`: expected `EUR=24.00|GBP=20.00`")
            })?;
            Ok((currency(code.trim())?, money(amount.trim(), "prices")?))
        })
        .collect()
}

// ----- customers

#[derive(Default)]
struct Customers {
    customers: Vec<Customer>,
    by_id: IdIndex,
    tiers: Names,
    locales: Names,
    tags: Names,
}

fn read_customers(
    input: Input<'_>,
    source: &SourceConfig,
    max_bad_rows: usize,
) -> Result<(Customers, Option<TableReport>), Diagnostics> {
    use customer_field::*;
    let mut loaded = Customers {
        customers: Vec::new(),
        by_id: IdIndex::default(),
        tiers: Names::default(),
        locales: Names::default(),
        tags: Names::default(),
    };
    let report = read_table(input, source, &CUSTOMERS, max_bad_rows, |_, row| {
        let id = required(row, ID, "id")?;
        if loaded
            .by_id
            .find(id, |ix| &loaded.customers[ix as usize].id)
            .is_some()
        {
            return Err(format!("duplicate customer id `{id}`"));
        }
        let email = required(row, EMAIL, "email")?;
        if !looks_like_email(email) {
            return Err(format!("invalid email `{email}`"));
        }
        let timezone_name = required(row, TIMEZONE, "timezone")?;
        let timezone: Tz = timezone_name.parse().map_err(|_| {
            format!(
                "unknown time zone `{timezone_name}` (expected an IANA name like `Europe/Paris`)"
            )
        })?;
        let tags = match row.get(TAGS) {
            None => Box::default(),
            Some(text) => text
                .split(['|', ';'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| loaded.tags.intern(t))
                .collect(),
        };
        let customer = Customer {
            id: id.into(),
            email: email.into(),
            // May be empty: templates greet without a name then.
            first_name: row.get(FIRST_NAME).unwrap_or_default().into(),
            locale: loaded.locales.intern(required(row, LOCALE, "locale")?),
            timezone,
            tier: loaded.tiers.intern(required(row, TIER, "tier")?),
            consent: boolean(required(row, CONSENT, "consent")?, "consent")?,
            created_at: timestamp(required(row, CREATED_AT, "created_at")?, source)?,
            tags,
            currency: currency(required(row, CURRENCY, "currency")?)?,
        };
        let position = loaded.customers.len() as CustomerIx;
        loaded.customers.push(customer);
        let customers = &loaded.customers;
        loaded
            .by_id
            .insert(position, &customers[position as usize].id, |ix| {
                &customers[ix as usize].id
            });
        Ok(())
    })?;
    Ok((loaded, Some(report)))
}

/// An address a mail server can deliver to: a local part without spaces,
/// brackets or commas, and a domain name of letters, digits and inner
/// hyphens (`a@-example.com`, `a@ex_ample.com` and `a@[127.0.0.1]` are not:
/// a shop's customers do not live at address literals).
pub fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    text.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && !local.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '<' | '>' | ',' | ';' | '[' | ']' | '(' | ')' | '\\' | '"'
                )
        })
        && labels.len() >= 2
        && labels.iter().all(|l| label_ok(l))
        && !labels[labels.len() - 1].chars().all(|c| c.is_ascii_digit())
}

// ----- events

fn read_events(
    input: Input<'_>,
    source: &SourceConfig,
    max_bad_rows: usize,
    derive: Derive<'_>,
    shard: Option<Shard>,
    store: &mut Store,
) -> Result<TableReport, Diagnostics> {
    use event_field::*;
    let mut events: Vec<Event> = Vec::new();
    let mut newest: Option<i64> = None;
    // With a shard: whether each customer is in it (hashed once per customer),
    // and the views of those who are not, as (customer, time, product).
    let mut in_shard: Vec<Option<bool>> = Vec::new();
    let mut outside_views: Vec<(CustomerIx, i64, ProductIx)> = Vec::new();
    // Orders are interned by id while reading; the final positions come after sorting.
    let mut order_ids = Interner::default();
    let mut order_customer: Vec<CustomerIx> = Vec::new();
    let mut metrics = Names::default();
    // Offer codes typed at checkout, by order (few orders carry one).
    let mut codes: std::collections::HashMap<u32, Box<str>> = std::collections::HashMap::new();
    let report = read_table(input, source, &EVENTS, max_bad_rows, |_, row| {
        let ts = timestamp(required(row, TS, "ts")?, source)?;
        let customer_id = required(row, CUSTOMER_ID, "customer_id")?;
        // With `from_events`, unknown customers and products are created once the row is known to be good.
        let customer = match store.customer_ix(customer_id) {
            Some(ix) => ix,
            None if derive.customers.is_some() => NONE,
            None => {
                return Err(format!(
                    "unknown customer `{customer_id}` (not in the customers table)"
                ));
            }
        };
        let kind_text = required(row, KIND, "kind")?;
        let kind = EventKind::parse(kind_text).ok_or_else(|| {
            format!("unknown event kind `{kind_text}`: expected one of view, cart, order, return, support_resolved, usage, tier_changed")
        })?;
        let quantity: i32 = row
            .get(QUANTITY)
            .map(|t| integer(t, "quantity"))
            .transpose()?
            .unwrap_or(1);
        // A return may be written as an order line with a negative quantity
        // (as shop exports do for credit notes); it counts the units sent back.
        let (kind, quantity) = match kind {
            EventKind::Order if quantity < 0 => (EventKind::Return, quantity.saturating_neg()),
            EventKind::Return => (EventKind::Return, quantity.saturating_abs()),
            _ => (kind, quantity),
        };
        let customer = match (customer, derive.customers) {
            (NONE, Some(defaults)) => {
                derive_customer(store, customer_id, ts, source.timezone, defaults)?
            }
            _ => customer,
        };
        let product = match row.get(PRODUCT_ID) {
            Some(id) => match store.product_ix(id) {
                Some(ix) => ix,
                None if derive.catalog.is_some() => NONE,
                None => return Err(format!("unknown product `{id}` (not in the catalog)")),
            },
            None if matches!(
                kind,
                EventKind::View | EventKind::Cart | EventKind::Order | EventKind::Return
            ) =>
            {
                return Err(format!("a `{kind_text}` event needs a product_id"));
            }
            None => NONE,
        };
        let order = if kind == EventKind::Order {
            if quantity == 0 {
                return Err("order line with quantity 0".to_string());
            }
            let key: std::borrow::Cow<'_, str> = match row.get(ORDER_ID) {
                Some(id) => id.into(),
                // Without order ids, a customer's lines at the same instant form one basket.
                None => format!("{customer_id}@{ts}").into(),
            };
            let (raw, new) = order_ids.intern(&key);
            if new {
                order_customer.push(customer);
            } else if order_customer[raw as usize] != customer {
                return Err(format!("order `{key}` already belongs to another customer"));
            }
            if let Some(code) = row.get(CODE).map(str::trim).filter(|c| !c.is_empty()) {
                codes.insert(raw, code.into());
            }
            raw
        } else {
            NONE
        };
        let metric = match (kind, row.get(METRIC)) {
            (EventKind::Usage, None) => return Err("a `usage` event needs a metric".into()),
            (EventKind::TierChanged, None) => {
                return Err("a `tier_changed` event needs the new tier in `metric`".into());
            }
            (_, Some(name)) => metrics.intern(name),
            (_, None) => NONE,
        };
        let value = match (kind, row.get(VALUE)) {
            (EventKind::Usage, Some(text)) => Some(within_limit(
                Decimal::from_str(text)
                    .map_err(|_| format!("invalid value `{text}`: expected a number"))?,
                text,
                "value",
            )?),
            (EventKind::Usage, None) => return Err("a `usage` event needs a value".into()),
            _ => None,
        };
        let unit_price = row
            .get(UNIT_PRICE)
            .map(|t| money(t, "unit_price"))
            .transpose()?
            .unwrap_or_default();
        let gift = row
            .get(GIFT)
            .map(|t| boolean(t, "gift"))
            .transpose()?
            .unwrap_or(false);
        let product = match (product, derive.catalog, row.get(PRODUCT_ID)) {
            (NONE, Some(defaults), Some(id)) => {
                derive_product(store, id, row, ts, unit_price, defaults)?
            }
            _ => product,
        };
        if product != NONE && derive.catalog.is_some() {
            let known = &mut store.products[product as usize];
            known.created_at = known.created_at.min(ts);
        }
        newest = newest.max(Some(ts));
        if let Some(shard) = shard
            && kind != EventKind::Order
        {
            let c = customer as usize;
            if in_shard.len() <= c {
                in_shard.resize(c + 1, None);
            }
            let inside = *in_shard[c].get_or_insert_with(|| shard.contains(customer_id));
            if !inside {
                if kind == EventKind::View {
                    outside_views.push((customer, ts, product));
                }
                return Ok(());
            }
        }
        events.push(Event {
            ts,
            amount: value.unwrap_or(unit_price),
            customer,
            product,
            order,
            quantity,
            metric,
            kind,
            gift,
        });
        Ok(())
    })?;
    store.newest_event_ts = newest;
    if let Some(shard) = shard {
        store.shard = Some(shard);
        in_shard.resize(store.customers.len(), None);
        store.in_shard = in_shard
            .into_par_iter()
            .zip(store.customers.par_iter())
            .map(|(known, customer)| known.unwrap_or_else(|| shard.contains(&customer.id)))
            .collect();
        // Stable: views at the same instant keep their file order, as events do.
        outside_views.par_sort_by_key(|(customer, ts, _)| (*customer, *ts));
        store.customer_outside_views =
            offsets(store.customers.len(), outside_views.iter().map(|v| v.0));
        store.outside_views = outside_views;
    }
    drop(order_customer);
    store.metrics = metrics;
    if derive.catalog.is_some() {
        store.products_by_category = group_products(&store.products, store.categories.len(), |p| {
            Some(p.category)
        });
        store.products_by_manufacturer =
            group_products(&store.products, store.manufacturers.len(), |p| {
                Some(p.manufacturer)
            });
        store.products_by_family =
            group_products(&store.products, store.families.len(), |p| p.family);
    }
    index_events(store, events, order_ids, codes);
    Ok(report)
}

/// A customer known only from the events: not mailable (the address is under
/// `.invalid`) and without consent unless the defaults say otherwise.
fn derive_customer(
    store: &mut Store,
    id: &str,
    ts: i64,
    events_timezone: Tz,
    source: &SourceConfig,
) -> Result<CustomerIx, String> {
    let default = |field: &str| source.defaults.get(field).map(String::as_str);
    let timezone = match default("timezone") {
        Some(name) => name
            .parse()
            .map_err(|_| format!("unknown time zone `{name}` in the customers defaults"))?,
        None => events_timezone,
    };
    let customer = Customer {
        id: id.into(),
        email: format!(
            "customer-{}@derived.invalid",
            id.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        )
        .into(),
        first_name: default("first_name").unwrap_or_default().into(),
        locale: store.locales.intern(default("locale").unwrap_or("en-US")),
        timezone,
        tier: store.tiers.intern(default("tier").unwrap_or("standard")),
        consent: default("consent")
            .map(|t| boolean(t, "consent"))
            .transpose()?
            .unwrap_or(false),
        created_at: ts,
        tags: Box::default(),
        currency: currency(default("currency").unwrap_or("USD"))?,
    };
    Ok(store.add_customer(customer))
}

/// A product known only from the events: its name, category and manufacturer
/// from the event columns (or the catalog defaults), its price from the first sale.
fn derive_product(
    store: &mut Store,
    id: &str,
    row: &Row<'_>,
    ts: i64,
    unit_price: Decimal,
    source: &SourceConfig,
) -> Result<ProductIx, String> {
    use event_field::{CATEGORY, MANUFACTURER, PRODUCT_NAME};
    let default = |field: &str| source.defaults.get(field).map(String::as_str);
    let category = row
        .get(CATEGORY)
        .or(default("category"))
        .unwrap_or("Uncategorised");
    let manufacturer = row
        .get(MANUFACTURER)
        .or(default("manufacturer"))
        .unwrap_or("Unknown");
    let product = Product {
        id: id.into(),
        name: row
            .get(PRODUCT_NAME)
            .or(default("name"))
            .unwrap_or(id)
            .into(),
        category: store.categories.intern(category),
        manufacturer: store.manufacturers.intern(manufacturer),
        price: unit_price,
        currency: currency(default("currency").unwrap_or("USD"))?,
        other_prices: Box::default(),
        rating: None,
        rating_count: 0,
        // Everything sold is taken to be available unless the defaults say otherwise.
        stock: default("stock")
            .map(|t| integer(t, "stock"))
            .transpose()?
            .unwrap_or(1),
        created_at: ts,
        url: web_url(
            &default("url").unwrap_or_default().replace("{id}", id),
            "url",
        )?
        .into(),
        image_url: web_url(
            &default("image_url").unwrap_or_default().replace("{id}", id),
            "image_url",
        )?
        .into(),
        family: None,
        level: None,
        compare_at_price: None,
    };
    Ok(store.add_product(product))
}

/// Sorts events and builds every event and order index of the store,
/// without comparison sorts over the big arrays where a counting pass does
/// (the events of 1M customers are grouped in linear time, in place).
fn index_events(
    store: &mut Store,
    mut events: Vec<Event>,
    order_ids: Interner,
    mut codes: std::collections::HashMap<u32, Box<str>>,
) {
    // Group by customer (stable), then sort each customer's few events by time.
    store.customer_events = offsets(store.customers.len(), events.iter().map(|e| e.customer));
    let mut next = store.customer_events.clone();
    let mut target: Vec<u32> = events
        .iter()
        .map(|e| {
            let slot = &mut next[e.customer as usize];
            *slot += 1;
            *slot - 1
        })
        .collect();
    drop(next);
    permute_in_place(&mut events, &mut target);
    drop(target);
    let mut slices = Vec::with_capacity(store.customers.len());
    let mut rest = events.as_mut_slice();
    for window in store.customer_events.windows(2) {
        let (head, tail) = rest.split_at_mut((window[1] - window[0]) as usize);
        slices.push(head);
        rest = tail;
    }
    slices
        .par_iter_mut()
        .for_each(|slice| slice.sort_by_key(|e| e.ts));
    drop(slices);

    // Number orders by first appearance in (customer, time) order: that is their final order.
    let mut final_number = vec![NONE; order_ids.len()];
    let mut raw_of_final: Vec<u32> = Vec::with_capacity(order_ids.len());
    for event in events.iter_mut().filter(|e| e.order != NONE) {
        let number = &mut final_number[event.order as usize];
        if *number == NONE {
            *number = raw_of_final.len() as u32;
            raw_of_final.push(event.order);
        }
        event.order = *number;
    }
    drop(final_number);
    let line_starts = offsets(
        raw_of_final.len(),
        events.iter().filter(|e| e.order != NONE).map(|e| e.order),
    );
    let mut next = line_starts.clone();
    let mut order_lines = vec![0u32; *line_starts.last().unwrap_or(&0) as usize];
    for (position, event) in events.iter().enumerate().filter(|(_, e)| e.order != NONE) {
        let slot = &mut next[event.order as usize];
        order_lines[*slot as usize] = position as u32;
        *slot += 1;
    }
    drop(next);
    let orders: Vec<Order> = raw_of_final
        .iter()
        .enumerate()
        .map(|(number, raw)| {
            let lines = line_starts[number]..line_starts[number + 1];
            let first = &events[order_lines[lines.start as usize] as usize];
            Order {
                id: order_ids.get(*raw).into(),
                customer: first.customer,
                ts: first.ts,
                gift: order_lines[lines.start as usize..lines.end as usize]
                    .iter()
                    .any(|l| events[*l as usize].gift),
                lines,
            }
        })
        .collect();
    if !codes.is_empty() {
        store.order_codes = raw_of_final
            .iter()
            .enumerate()
            .filter_map(|(number, raw)| Some((number as OrderIx, codes.remove(raw)?)))
            .collect();
    }
    drop(raw_of_final);
    drop(order_ids);

    store.customer_orders = offsets(store.customers.len(), orders.iter().map(|o| o.customer));
    store.orders_by_time = sorted_by_time(orders.len(), |o| orders[o].ts);
    store.events_by_time = sorted_by_time(events.len(), |e| events[e].ts);

    let mut units_sold = vec![0u64; store.products.len()];
    let mut orders_with_product = vec![0u32; store.products.len()];
    let mut seen: Vec<ProductIx> = Vec::new();
    for order in &orders {
        seen.clear();
        for line in &order_lines[order.lines.start as usize..order.lines.end as usize] {
            let event = &events[*line as usize];
            units_sold[event.product as usize] += event.quantity.max(0) as u64;
            if !seen.contains(&event.product) {
                seen.push(event.product);
                orders_with_product[event.product as usize] += 1;
            }
        }
    }

    store.events = events;
    store.orders = orders;
    store.order_lines = order_lines;
    store.units_sold = units_sold;
    store.orders_with_product = orders_with_product;
}

/// Moves `items[i]` to position `target[i]`, for every `i`, in place.
fn permute_in_place<T>(items: &mut [T], target: &mut [u32]) {
    for i in 0..items.len() {
        while target[i] as usize != i {
            let j = target[i] as usize;
            items.swap(i, j);
            target.swap(i, j);
        }
    }
}

/// Positions `0..count` ordered by time, ties by position. Packs (time,
/// position) in a `u64` when times fit in 32 bits (1970–2106), which sorts
/// an order of magnitude faster than comparing through the rows.
fn sorted_by_time(count: usize, ts: impl Fn(usize) -> i64 + Sync) -> Vec<u32> {
    if (0..count).all(|i| (0..=u32::MAX as i64).contains(&ts(i))) {
        let mut keys: Vec<u64> = (0..count)
            .into_par_iter()
            .map(|i| ((ts(i) as u64) << 32) | i as u64)
            .collect();
        keys.par_sort_unstable();
        keys.into_par_iter().map(|k| k as u32).collect()
    } else {
        let mut positions: Vec<u32> = (0..count as u32).collect();
        positions.par_sort_by_key(|p| (ts(*p as usize), *p));
        positions
    }
}

/// Start positions per key for items sorted by key: `offsets[k]..offsets[k + 1]`.
fn offsets(keys: usize, sorted: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut counts = vec![0u32; keys + 1];
    for key in sorted {
        counts[key as usize + 1] += 1;
    }
    for k in 1..counts.len() {
        counts[k] += counts[k - 1];
    }
    counts
}

// ----- field parsers: each returns the reason a value is bad

fn required<'a>(row: &Row<'a>, field: usize, name: &str) -> Result<&'a str, String> {
    row.get(field).ok_or_else(|| format!("missing `{name}`"))
}

fn money(text: &str, field: &str) -> Result<Decimal, String> {
    let value = Decimal::from_str(text)
        .map_err(|_| format!("invalid {field} `{text}`: expected a decimal number like 24.00"))?;
    if value.is_sign_negative() {
        return Err(format!("invalid {field} `{text}`: must not be negative"));
    }
    within_limit(value, text, field)
}

/// Refuses amounts past [`crate::money::MAX_AMOUNT`], so no sum or discount
/// of loaded amounts can overflow later.
fn within_limit(value: Decimal, text: &str, field: &str) -> Result<Decimal, String> {
    if value.abs() > crate::money::MAX_AMOUNT {
        return Err(format!(
            "invalid {field} `{text}`: larger than {} (the largest amount xsell accepts)",
            crate::money::MAX_AMOUNT
        ));
    }
    Ok(value)
}

/// A link from the data that will be written into messages: only `http(s)`
/// (a `javascript:` or `data:` URL would run or hide content in a mail
/// client or the preview); empty is allowed (no link).
fn web_url<'a>(text: &'a str, field: &str) -> Result<&'a str, String> {
    if text.is_empty() {
        return Ok(text);
    }
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(text),
        _ => {
            let shown: String = text.chars().take(60).flat_map(char::escape_debug).collect();
            Err(format!(
                "invalid {field} `{shown}`: only http:// and https:// links may go into a message"
            ))
        }
    }
}

fn currency(text: &str) -> Result<Currency, String> {
    Currency::parse(text)
        .filter(|c| crate::config::is_currency_code(c.code()))
        .ok_or_else(|| format!("invalid currency `{text}`: expected an ISO 4217 code like USD"))
}

fn integer<T: FromStr>(text: &str, field: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("invalid {field} `{text}`: expected a whole number"))
}

fn boolean(text: &str, field: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "t" => Ok(true),
        "false" | "no" | "n" | "0" | "f" => Ok(false),
        _ => Err(format!("invalid {field} `{text}`: expected true or false")),
    }
}

/// RFC 3339 (`2026-11-16T09:00:00Z`), or `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DD`
/// in the source's time zone, or the source's `timestamp_format`.
fn timestamp(text: &str, source: &SourceConfig) -> Result<i64, String> {
    parse_timestamp(text, source.timestamp_format.as_deref(), source.timezone)
}

pub fn parse_timestamp(text: &str, format: Option<&str>, timezone: Tz) -> Result<i64, String> {
    let local = |naive: NaiveDateTime| {
        timezone
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.timestamp())
            .ok_or_else(|| format!("time `{text}` does not exist in {timezone} (skipped by a daylight-saving change)"))
    };
    if let Some(format) = format {
        if let Ok(time) = DateTime::parse_from_str(text, format) {
            return Ok(time.timestamp());
        }
        return match NaiveDateTime::parse_from_str(text, format) {
            Ok(naive) => local(naive),
            Err(_) => match NaiveDate::parse_from_str(text, format) {
                Ok(date) => local(date.and_time(chrono::NaiveTime::MIN)),
                Err(_) => Err(format!(
                    "invalid timestamp `{text}`: does not match the format `{format}`"
                )),
            },
        };
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp());
    }
    for pattern in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, pattern) {
            return local(naive);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return local(date.and_time(chrono::NaiveTime::MIN));
    }
    Err(format!(
        "invalid timestamp `{text}`: expected RFC 3339 like 2026-11-16T09:00:00Z (or set `timestamp_format` for this source)"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_deliverable_looking_addresses_load() {
        for good in [
            "ana@example.com",
            "a.b+tag@mail.shop.example",
            "zoë@bücher.example",
            "x@a-b.co",
        ] {
            assert!(looks_like_email(good), "{good}");
        }
        for bad in [
            "a@-example.com",
            "a@example-.com",
            "a@ex_ample.com",
            "a@[127.0.0.1]",
            "a@127.0.0.1",
            "a@localhost",
            "a@example..com",
            "@example.com",
            "a b@example.com",
            "a@b@example.com",
            "a<b>@example.com",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn field_positions_match_the_field_lists() {
        assert_eq!(config::CATALOG_FIELDS[catalog_field::PRICES], "prices");
        assert_eq!(
            config::CATALOG_FIELDS[catalog_field::COMPARE_AT_PRICE],
            "compare_at_price"
        );
        assert_eq!(
            config::CUSTOMER_FIELDS[customer_field::CURRENCY],
            "currency"
        );
        assert_eq!(config::CUSTOMER_FIELDS[customer_field::TAGS], "tags");
        assert_eq!(config::EVENT_FIELDS[event_field::GIFT], "gift");
        assert_eq!(config::EVENT_FIELDS[event_field::METRIC], "metric");
    }

    #[test]
    fn timestamps() {
        let utc = Tz::UTC;
        assert_eq!(
            parse_timestamp("2026-11-16T09:00:00Z", None, utc),
            Ok(1_794_819_600)
        );
        assert_eq!(
            parse_timestamp("2026-11-16T10:00:00+01:00", None, utc),
            Ok(1_794_819_600)
        );
        assert_eq!(
            parse_timestamp("2026-11-16 10:00:00", None, chrono_tz::Europe::Paris),
            Ok(1_794_819_600)
        );
        assert_eq!(
            parse_timestamp("11/16/2026 9:00", Some("%m/%d/%Y %H:%M"), utc),
            Ok(1_794_819_600)
        );
        assert_eq!(
            parse_timestamp("16-11-2026", Some("%d-%m-%Y"), utc),
            Ok(1_794_787_200)
        );
        assert!(
            parse_timestamp("yesterday", None, utc)
                .unwrap_err()
                .starts_with("invalid timestamp `yesterday`")
        );
        // 02:30 on 2026-03-29 does not exist in Paris.
        assert!(parse_timestamp("2026-03-29 02:30:00", None, chrono_tz::Europe::Paris).is_err());
    }

    #[test]
    fn prices_in_other_currencies() {
        let parsed = prices("EUR=24.00|GBP=20.50").unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            parsed[1],
            (Currency::parse("GBP").unwrap(), Decimal::new(2050, 2))
        );
        assert!(prices("EUR:24").is_err());
    }
}
