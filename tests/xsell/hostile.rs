//! Generated hostile rows (huge and negative numbers, odd Unicode, control
//! characters, extreme dates, long strings) put into the example shop and
//! taken through load → plan → render → MIME: every outcome is a located
//! error or a well-formed message, never a panic.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use xsell::error::Error;
use xsell::history::MemoryHistory;
use xsell::plan::{PlanInputs, plan_campaign};
use xsell::recommend::Recommender;
use xsell::render::Renderer;
use xsell::send::campaign::message_input;
use xsell::signing::SigningKey;

use crate::support::Workspace;

/// 2026-11-16T09:00:00Z, the end of the fixtures.
const NOW: i64 = 1_794_819_600;

/// Campaigns whose moments the hostile rows reach (orders, carts, views).
const CAMPAIGNS: &[&str] = &[
    "post-purchase-completion",
    "cart-abandoned",
    "spring-seasonal",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        prop::collection::vec(
            prop_oneof![
                Just('\r'),
                Just('\n'),
                Just('\0'),
                Just('\u{202e}'),
                Just('"'),
                Just('<'),
                Just('{'),
                Just('%'),
                Just('é'),
                Just('a')
            ],
            0..60
        )
        .prop_map(String::from_iter),
        (1usize..20_000).prop_map(|n| "x".repeat(n)),
        Just(String::new()),
        Just("{{ customer.email }}{% raw %}".to_string()),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("1000000000000000000000000000".to_string()),
        Just("79228162514264337593543950335".to_string()),
        Just("1e400".to_string()),
        Just("-0.000000000000000000000000001".to_string()),
        Just("NaN".to_string()),
        (0u32..100_000).prop_map(|n| format!("{}.{:02}", n, n % 100)),
    ]
}

fn date() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("9999-12-31T23:59:59Z".to_string()),
        Just("0001-01-01T00:00:00Z".to_string()),
        Just("2026-11-16T08:59:59+14:00".to_string()),
        Just("2026-02-30T00:00:00Z".to_string()),
        (-62_000_000_000i64..250_000_000_000).prop_map(|s| {
            chrono::DateTime::from_timestamp(s, 0).map_or_else(|| s.to_string(), |d| d.to_rfc3339())
        }),
        (NOW - 86_400 * 3..NOW)
            .prop_map(|s| chrono::DateTime::from_timestamp(s, 0).unwrap().to_rfc3339()),
    ]
}

#[derive(Debug, Clone)]
struct Hostile {
    /// (product row, column, value) replacements in the catalog.
    catalog: Vec<(usize, usize, String)>,
    customers: Vec<(usize, usize, String)>,
    /// Orders and carts of the first customers at hostile times, prices, quantities.
    events: Vec<(usize, String, String, String)>,
}

fn hostile() -> impl Strategy<Value = Hostile> {
    let any_value = prop_oneof![text(), number(), date()];
    // Mostly hostile text in free-text columns (product and manufacturer
    // names, first names, tags), where it is valid data and must reach the
    // message safely; now and then any value in any column, which must be a
    // located error if it is not valid.
    let catalog_row = prop_oneof![Just(1usize), 1usize..292];
    let catalog = prop_oneof![
        4 => (catalog_row.clone(), prop_oneof![Just(1usize), Just(3usize)], text()),
        1 => (catalog_row, 0usize..16, any_value.clone()),
    ];
    let customers = prop_oneof![
        4 => (1usize..120, prop_oneof![Just(2usize), Just(8usize)], text()),
        1 => (1usize..120, 0usize..10, any_value),
    ];
    let recent = (NOW - 86_400 * 2..NOW - 7_200)
        .prop_map(|s| chrono::DateTime::from_timestamp(s, 0).unwrap().to_rfc3339());
    let quantity = prop_oneof![6 => (1u32..5).prop_map(|n| n.to_string()), 1 => number()];
    let price = prop_oneof![6 => (1u32..100_000).prop_map(|n| format!("{}.{:02}", n / 100, n % 100)), 1 => number()];
    (
        prop::collection::vec(catalog, 0..3),
        prop::collection::vec(customers, 0..3),
        prop::collection::vec(
            (
                1usize..120,
                prop_oneof![6 => recent, 1 => date()],
                quantity,
                price,
            ),
            1..4,
        ),
    )
        .prop_map(|(catalog, customers, events)| Hostile {
            catalog,
            customers,
            events,
        })
}

/// Rewrites `file` with `changes` (row, column, value) applied, through a real CSV writer.
fn rewrite(
    workspace: &Workspace,
    file: &str,
    changes: &[(usize, usize, String)],
    extra: &[Vec<String>],
) {
    let text = workspace.read(file);
    let mut rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    for (row, column, value) in changes {
        let count = rows.len();
        // Row 0 is the header: changes land on data rows.
        let row = &mut rows[1 + (*row - 1) % (count - 1)];
        let column = *column % row.len();
        row[column] = value.clone();
    }
    rows.extend(extra.iter().cloned());
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in &rows {
        writer.write_record(row).unwrap();
    }
    workspace.write(
        file,
        &String::from_utf8(writer.into_inner().unwrap()).unwrap(),
    );
}

/// A message is well formed: CRLF lines of at most 998 characters, the
/// headers a mail client needs, a blank line before the body.
fn assert_well_formed(eml: &[u8], what: &str) {
    let text = String::from_utf8_lossy(eml);
    let (head, _) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{what}: no header end"));
    for line in text.split("\r\n") {
        assert!(line.len() <= 998, "{what}: a line of {}", line.len());
        assert!(
            !line.contains('\r') && !line.contains('\n'),
            "{what}: a bare CR or LF"
        );
    }
    for header in [
        "From: ",
        "To: ",
        "Subject: ",
        "Message-ID: ",
        "Date: ",
        "List-Unsubscribe: ",
    ] {
        assert!(head.contains(header), "{what}: no {header}");
    }
}

/// One case: an error that names a file, or messages that are well formed.
/// Messages rendered over all cases: the property is only worth something
/// if many cases get past loading.
static RENDERED: AtomicUsize = AtomicUsize::new(0);

fn run_case(hostile: &Hostile) -> Result<(), TestCaseError> {
    let workspace = Workspace::example();
    rewrite(&workspace, "fixtures/catalog.csv", &hostile.catalog, &[]);
    rewrite(
        &workspace,
        "fixtures/customers.csv",
        &hostile.customers,
        &[],
    );
    let customers = workspace.read("fixtures/customers.csv");
    let ids: Vec<String> = customers
        .lines()
        .skip(1)
        .take(120)
        .map(|l| l.split(',').next().unwrap_or("").to_string())
        .collect();
    let events: Vec<Vec<String>> = hostile
        .events
        .iter()
        .enumerate()
        .map(|(i, (customer, ts, quantity, price))| {
            let kind = if i % 2 == 0 { "order" } else { "cart" };
            vec![
                ts.clone(),
                ids[customer % ids.len()].clone(),
                kind.into(),
                "P0001".into(),
                format!("OH{i}"),
                quantity.clone(),
                price.clone(),
                String::new(),
                String::new(),
                String::new(),
            ]
        })
        .collect();
    rewrite(&workspace, "fixtures/events.csv", &[], &events);

    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let opened = match xsell::workspace::Workspace::open(workspace.path()) {
            Ok(opened) => opened,
            Err(Error::Files(problems)) => {
                for problem in problems.iter() {
                    assert!(
                        !problem.file.as_os_str().is_empty() && !problem.message.is_empty(),
                        "{problem:?}"
                    );
                }
                return 0;
            }
            Err(other) => panic!("not a located error: {other}"),
        };
        let renderer = match Renderer::load(&opened.config, &opened.campaigns) {
            Ok(renderer) => renderer,
            Err(problems) => {
                assert!(!problems.is_empty());
                return 0;
            }
        };
        let key = SigningKey::new("hostile-tests");
        let inputs = PlanInputs {
            store: &opened.store,
            caps: &opened.config.caps,
            signing_key: &key,
        };
        let recommender = Recommender::build_before(&opened.store, NOW);
        let hostile_customers: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut rendered = 0;
        for id in CAMPAIGNS {
            let campaign = opened.campaign(id).unwrap();
            let plan = plan_campaign(
                &inputs,
                campaign,
                NOW,
                None,
                &MemoryHistory::default(),
                &recommender,
            );
            // The hostile customers' messages, and the first few of everyone's
            // (hostile products reach them through the lists).
            for message in plan
                .planned
                .iter()
                .enumerate()
                .filter(|(i, m)| {
                    *i < 15
                        || hostile_customers
                            .contains(&&*opened.store.customer(m.occurrence.customer).id)
                })
                .map(|(_, m)| m)
            {
                let input =
                    message_input(&opened.config, &opened.store, campaign, message, NOW, &key);
                match renderer.render(&input) {
                    Ok(message) => {
                        assert_well_formed(&message.eml, id);
                        rendered += 1;
                    }
                    Err(error) => assert!(!error.to_string().is_empty()),
                }
            }
        }
        rendered
    }));
    match outcome {
        Ok(rendered) => {
            RENDERED.fetch_add(rendered, Ordering::Relaxed);
            Ok(())
        }
        Err(payload) => Err(TestCaseError::fail(xsell::fault::panic_message(&*payload))),
    }
}

#[test]
fn hostile_rows_end_as_located_errors_or_well_formed_messages() {
    let config = Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    };
    // Seeded: the same cases on every run and in CI.
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    runner
        .run(&hostile(), |hostile| run_case(&hostile))
        .unwrap_or_else(|failure| panic!("{failure}"));
    let rendered = RENDERED.load(Ordering::Relaxed);
    println!("hostile rows: {rendered} messages rendered and checked over 24 cases");
    assert!(
        rendered >= 100,
        "too few cases reach rendering: {rendered} messages"
    );
}
