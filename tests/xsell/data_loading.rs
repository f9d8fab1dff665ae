//! Loading data: bad rows are reported as `file:line: reason` and nothing is
//! loaded; real exports are read through column mappings; HTTP sources retry
//! server errors and refuse incomplete bodies.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use xsell::config::Config;

use crate::support::*;

#[test]
fn a_bad_row_is_reported_with_file_and_line_and_nothing_is_loaded() {
    let events =
        format!("{TINY_EVENTS}yesterday,C1,view,P1,,,\n2026-11-10T11:00:00Z,C9,view,P1,,,\n");
    let workspace = Workspace::tiny(TINY_CATALOG, TINY_CUSTOMERS, &events);
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains("ok:"), "{run:?}");
    assert_eq!(
        run.stderr,
        "data/events.csv:5: invalid timestamp `yesterday`: expected RFC 3339 like 2026-11-16T09:00:00Z (or set `timestamp_format` for this source)\n\
         data/events.csv:6: unknown customer `C9` (not in the customers table)\n\
         \n2 problems found\n"
    );
}

#[test]
fn a_row_with_the_wrong_number_of_fields_is_a_bad_row() {
    let catalog = format!("{TINY_CATALOG}P3,Hand Cream,Hand Care\n");
    let workspace = Workspace::tiny(&catalog, TINY_CUSTOMERS, TINY_EVENTS);
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("data/catalog.csv:4: expected 12 fields like the header, found 3\n"),
        "{run:?}"
    );
}

#[test]
fn max_bad_rows_lets_a_few_through_and_says_so() {
    let events = format!("{TINY_EVENTS}2026-11-10T11:00:00Z,C9,view,P1,,,\n");
    let workspace = Workspace::tiny(TINY_CATALOG, TINY_CUSTOMERS, &events);
    let config = workspace
        .read("xsell.toml")
        .replace("[data]", "[data]\nmax_bad_rows = 1");
    workspace.write("xsell.toml", &config);
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("events     data/events.csv  3 rows, 1 bad rows left out (max_bad_rows)"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("left out: data/events.csv:5: unknown customer `C9`"),
        "{run:?}"
    );
}

#[test]
fn a_missing_required_column_names_the_mapping_to_write() {
    let catalog = TINY_CATALOG.replace(",stock,", ",qty,");
    let workspace = Workspace::tiny(&catalog, TINY_CUSTOMERS, TINY_EVENTS);
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "data/catalog.csv:1: no column `stock`: map one in xsell.toml (`[data.catalog.columns] stock = \"TheirColumn\"`) or give a default (`[data.catalog.defaults]`); the columns are: id, name, category, manufacturer, price, currency, rating, rating_count, qty, created_at, url, image_url"
        ),
        "{run:?}"
    );
}

/// A Shopify-like catalog and customer export and an order export with
/// invoices, mapped to our fields in xsell.toml.
#[test]
fn column_mapping_reads_a_real_looking_shop_export() {
    let workspace = Workspace::empty();
    workspace.write(
        "export/products.csv",
        "Handle,Title,Product Type,Vendor,Variant Price,Published At,Online Store URL\n\
         soap-01,Gentle Body Soap,Body Care,Maison Douce,12.00,2026-01-05 09:30,https://shop.example/soap-01\n\
         cream-02,Hand Cream,Hand Care,Maison Douce,9.50,2026-02-01 10:00,https://shop.example/cream-02\n",
    );
    workspace.write(
        "export/customers.csv",
        "Customer ID;E-mail;First Name;Accepts Email Marketing;Language\n\
         17850;ana@example.com;Ana;yes;en-US\n\
         13047;zoe@example.com;Zoë;no;fr-FR\n",
    );
    workspace.write(
        "export/invoices.csv",
        "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n\
         536365,soap-01,6,12/1/2010 8:26,12.00,17850\n\
         536365,cream-02,2,12/1/2010 8:26,9.50,17850\n\
         C536379,soap-01,-1,12/1/2010 9:41,12.00,17850\n\
         536380,cream-02,1,12/2/2010 17:05,9.50,13047\n",
    );
    workspace.write(
        "xsell.toml",
        r#"
[sender]
from = "Shop <hello@shop.example>"
[unsubscribe]
url = "https://shop.example/unsubscribe?token={token}"

[data.catalog]
path = "export/products.csv"
timezone = "Europe/London"
columns = { id = "Handle", name = "Title", category = "Product Type", manufacturer = "Vendor", price = "Variant Price", created_at = "Published At", url = "Online Store URL" }
defaults = { stock = 100, currency = "GBP" }

[data.customers]
path = "export/customers.csv"
delimiter = ";"
columns = { id = "Customer ID", email = "E-mail", first_name = "First Name", consent = "Accepts Email Marketing", locale = "Language" }
defaults = { timezone = "Europe/London", tier = "standard", created_at = "2010-01-01" }
default_currency = "GBP"

[data.events]
path = "export/invoices.csv"
timestamp_format = "%m/%d/%Y %H:%M"
timezone = "Europe/London"
columns = { ts = "InvoiceDate", customer_id = "CustomerID", product_id = "StockCode", order_id = "InvoiceNo", quantity = "Quantity", unit_price = "UnitPrice" }
defaults = { kind = "order" }
skip_rows = [{ column = "InvoiceNo", prefix = "C" }]
"#,
    );
    workspace.write("campaigns/.keep", "");
    workspace.write("templates/.keep", "");

    let config = Config::load(workspace.path()).expect("config");
    let loaded = xsell::data::load(&config.data, workspace.path()).expect("data");
    let store = &loaded.store;
    let soap = store.product(store.product_ix("soap-01").unwrap());
    assert_eq!(soap.currency.code(), "GBP");
    assert_eq!(soap.stock, 100);
    assert_eq!(soap.price.to_string(), "12.00");
    assert_eq!(soap.created_at, 1_767_605_400); // 2026-01-05 09:30 in London (GMT)
    let zoe = store.customer(store.customer_ix("13047").unwrap());
    assert_eq!((&*zoe.first_name, zoe.consent), ("Zoë", false));
    assert_eq!(store.orders().len(), 2, "the cancellation is skipped");
    let first = store.order(0);
    assert_eq!((&*first.id, store.order_lines(0).len()), ("536365", 2));
    assert_eq!(first.ts, 1_291_191_960); // 2010-12-01 08:26 GMT
    assert_eq!(store.units_sold(store.product_ix("soap-01").unwrap()), 6);

    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("catalog    export/products.csv  2 rows\n           columns: id ← Handle, name ← Title, category ← Product Type, manufacturer ← Vendor, price ← Variant Price, created_at ← Published At, url ← Online Store URL\n           defaults (no such column): currency = GBP, stock = 100\n"), "{run:?}");
    assert!(
        run.stdout
            .contains("events     export/invoices.csv  3 rows, 1 skipped by skip_rows\n"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("defaults (no such column): kind = order\n"),
        "{run:?}"
    );
    assert!(run.stdout.contains("defaults (no such column): timezone = Europe/London, tier = standard, created_at = 2010-01-01, currency = GBP\n"), "{run:?}");
}

#[test]
fn json_lines_sources_load_like_csv() {
    let workspace = Workspace::tiny(TINY_CATALOG, TINY_CUSTOMERS, TINY_EVENTS);
    workspace.write(
        "data/events.jsonl",
        "{\"ts\":\"2026-11-10T10:00:00Z\",\"customer_id\":\"C1\",\"kind\":\"view\",\"product_id\":\"P1\"}\n\
         {\"ts\":\"2026-11-10T10:05:00Z\",\"customer_id\":\"C1\",\"kind\":\"order\",\"product_id\":\"P2\",\"order_id\":\"O1\",\"quantity\":2,\"unit_price\":24.0}\n\
         {\"ts\":\"2026-11-12T08:00:00Z\",\"customer_id\":\"C1\",\"kind\":\"usage\",\"metric\":\"workouts\"}\n",
    );
    let config = workspace
        .read("xsell.toml")
        .replace("data/events.csv", "data/events.jsonl");
    workspace.write("xsell.toml", &config);
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "data/events.jsonl:3: a `usage` event needs a value\n\n1 problem found\n"
    );
}

// ----- HTTP sources, against a scripted server on 127.0.0.1

/// A scripted HTTP server: each connection gets the next canned response.
struct ScriptedServer {
    url: String,
    requests: Arc<Mutex<usize>>,
}

fn serve(responses: Vec<Vec<u8>>) -> ScriptedServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        for response in responses {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            *counter.lock().unwrap() += 1;
            let _ = stream.write_all(&response);
            let _ = stream.flush();
        }
    });
    ScriptedServer { url, requests }
}

fn http_response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn workspace_with_events_url(url: &str) -> Workspace {
    let workspace = Workspace::tiny(TINY_CATALOG, TINY_CUSTOMERS, TINY_EVENTS);
    let config = workspace.read("xsell.toml").replace(
        r#"events = { path = "data/events.csv" }"#,
        &format!(r#"events = {{ url = "{url}", attempts = 3, timeout = "5s" }}"#),
    );
    workspace.write("xsell.toml", &config);
    workspace
}

#[test]
fn http_source_retries_a_server_error_then_loads() {
    let server = serve(vec![
        http_response("500 Internal Server Error", "oops"),
        http_response("200 OK", TINY_EVENTS),
    ]);
    let url = format!("{}/events.csv", server.url);
    let workspace = workspace_with_events_url(&url);
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("events     {url}  3 rows")),
        "{run:?}"
    );
    assert_eq!(*server.requests.lock().unwrap(), 2);
}

#[test]
fn http_404_is_an_error_at_once() {
    let server = serve(vec![http_response("404 Not Found", "no such file")]);
    let url = format!("{}/events.csv", server.url);
    let run = workspace_with_events_url(&url).xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!("{url}: server answered HTTP 404 Not Found\n\n1 problem found\n")
    );
    assert_eq!(*server.requests.lock().unwrap(), 1);
}

#[test]
fn a_truncated_http_body_is_refused() {
    let mut truncated = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        TINY_EVENTS.len() + 500
    )
    .into_bytes();
    truncated.extend_from_slice(TINY_EVENTS.as_bytes());
    let server = serve(vec![truncated]);
    let url = format!("{}/events.csv", server.url);
    let run = workspace_with_events_url(&url).xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with(&format!("{url}: the response body was cut off")),
        "{run:?}"
    );
    assert!(!run.stdout.contains("rows"), "nothing is loaded: {run:?}");
}

/// A transactions-only export (like the Groceries dataset: member, day,
/// item; CRLF line endings): catalog and customers are built from it.
#[test]
fn catalog_and_customers_can_be_built_from_a_transactions_export() {
    let workspace = Workspace::empty();
    workspace.write(
        "export/groceries.csv",
        "Member_number,Date,itemDescription\r\n\
         1808,21-07-2015,tropical fruit\r\n\
         1808,21-07-2015,whole milk\r\n\
         2552,05-01-2015,whole milk\r\n\
         1808,02-08-2015,tropical fruit\r\n",
    );
    workspace.write(
        "xsell.toml",
        r#"
[sender]
from = "Shop <hello@shop.example>"
[unsubscribe]
url = "https://shop.example/unsubscribe?token={token}"
[data.catalog]
from_events = true
defaults = { category = "Groceries", currency = "EUR", url = "https://shop.example/p/{id}" }
[data.customers]
from_events = true
[data.events]
path = "export/groceries.csv"
timestamp_format = "%d-%m-%Y"
columns = { ts = "Date", customer_id = "Member_number", product_id = "itemDescription", product_name = "itemDescription" }
defaults = { kind = "order" }
"#,
    );
    workspace.write("campaigns/.keep", "");
    workspace.write("templates/.keep", "");
    let config = Config::load(workspace.path()).expect("config");
    let store = xsell::data::load(&config.data, workspace.path())
        .expect("data")
        .store;
    assert_eq!(store.products().len(), 2);
    let fruit = store.product(store.product_ix("tropical fruit").unwrap());
    assert_eq!(
        (&*fruit.name, fruit.url.as_ref(), fruit.currency.code()),
        (
            "tropical fruit",
            "https://shop.example/p/tropical fruit",
            "EUR"
        )
    );
    assert_eq!(fruit.created_at, 1_437_436_800, "first seen: 2015-07-21");
    let member = store.customer(store.customer_ix("1808").unwrap());
    assert_eq!(
        (&*member.email, member.consent),
        ("customer-1808@derived.invalid", false)
    );
    // Without order ids, a member's lines on one day are one basket.
    assert_eq!(store.orders().len(), 3);
    assert_eq!(
        store
            .orders_of(store.customer_ix("1808").unwrap())
            .map(|(ix, _)| store.order_lines(ix).len())
            .collect::<Vec<_>>(),
        vec![2, 1]
    );

    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("catalog    (from export/groceries.csv)  2 rows\ncustomers  (from export/groceries.csv)  2 rows\nevents     export/groceries.csv  4 rows\n"), "{run:?}");

    // Line numbers stay right with CRLF line endings.
    workspace.write("export/groceries.csv", "Member_number,Date,itemDescription\r\n1808,21-07-2015,tropical fruit\r\n1808,31-02-2015,whole milk\r\n");
    let run = workspace.xsell(&["check"]);
    assert_eq!(
        run.stderr,
        "export/groceries.csv:3: invalid timestamp `31-02-2015`: does not match the format `%d-%m-%Y`\n\n1 problem found\n"
    );
}

#[test]
fn data_paths_may_use_environment_variables_and_say_when_one_is_missing() {
    let workspace = Workspace::tiny(TINY_CATALOG, TINY_CUSTOMERS, TINY_EVENTS);
    let config = workspace.read("xsell.toml").replace(
        "\"data/events.csv\"",
        "\"${XSELL_TEST_UNSET_VARIABLE}/events.csv\"",
    );
    workspace.write("xsell.toml", &config);
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.starts_with("xsell.toml:9:19: environment variable `XSELL_TEST_UNSET_VARIABLE` is not set (used in this path)\n"), "{run:?}");
}

fn workspace_with_events_source(source: &str) -> Workspace {
    let workspace = Workspace::tiny(TINY_CATALOG, TINY_CUSTOMERS, TINY_EVENTS);
    let config = workspace.read("xsell.toml").replace(
        r#"events = { path = "data/events.csv" }"#,
        &format!("events = {source}"),
    );
    workspace.write("xsell.toml", &config);
    workspace
}

/// An HTTP source larger than `max_bytes` is refused, whether its size is
/// announced or not, before it can take the machine's memory.
#[test]
fn an_http_source_larger_than_max_bytes_is_refused() {
    let body = TINY_EVENTS.repeat(20);
    let chunked = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    )
    .into_bytes();
    for (response, size) in [
        (
            http_response("200 OK", &body),
            format!("{} bytes announced", body.len()),
        ),
        (chunked, "more than that arrived".to_string()),
    ] {
        let server = serve(vec![response]);
        let url = format!("{}/events.csv", server.url);
        let workspace = workspace_with_events_source(&format!(
            r#"{{ url = "{url}", attempts = 1, max_bytes = 1000 }}"#
        ));
        let run = workspace.xsell(&["check"]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.starts_with(&format!(
                "{url}: the response is larger than `max_bytes` (1000): {size}"
            )),
            "{run:?}"
        );
    }
}

/// Credentials in a data URL come from the environment and are never shown.
#[test]
fn data_url_credentials_come_from_the_environment_and_are_never_shown() {
    let server = serve(vec![http_response("404 Not Found", "no")]);
    let address = server.url.trim_start_matches("http://").to_string();
    let workspace = workspace_with_events_source(&format!(
        r#"{{ url = "http://shop:${{XSELL_TEST_DATA_PASSWORD}}@{address}/events.csv", attempts = 1 }}"#
    ));
    let mut command = workspace.command(&["check"]);
    command.env("XSELL_TEST_DATA_PASSWORD", "hunter2-secret");
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        !run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains(&format!(
            "http://***@{address}/events.csv: server answered HTTP 404"
        )),
        "{run:?}"
    );
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "environment variable `XSELL_TEST_DATA_PASSWORD` is not set (used in this URL)"
        ),
        "{run:?}"
    );
}

/// A password typed into xsell.toml is an error that does not repeat it,
/// in text and in JSON.
#[test]
fn a_secret_typed_into_the_config_is_an_error_that_does_not_repeat_it() {
    let workspace = Workspace::tiny(TINY_CATALOG, TINY_CUSTOMERS, TINY_EVENTS);
    let config = workspace.read("xsell.toml");
    workspace.write(
        "xsell.toml",
        &format!("{config}[transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\npassword = \"hunter2-secret\"\n"),
    );
    let line = workspace
        .read("xsell.toml")
        .lines()
        .position(|l| l.starts_with("password"))
        .unwrap()
        + 1;
    for args in [vec!["check"], vec!["--format", "json", "check"]] {
        let run = workspace.xsell(&args);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            !run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"),
            "{run:?}"
        );
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            all.contains("`password` holds a secret: do not write it in xsell.toml"),
            "{run:?}"
        );
        assert!(
            all.contains(&format!("xsell.toml:{line}:1"))
                || all.contains(&format!("\"line\": {line}"))
                || all.contains(&format!("\"line\":{line}")),
            "{run:?}"
        );
    }
}
