//! `xsell backtest` on a shop small enough to work the figures out by hand.

use crate::support::Workspace;

const CATALOG: &str = "\
id,name,category,manufacturer,price,currency,stock,created_at,url
A,Soap,Body Care,Maison,10.00,USD,5,2025-01-01T00:00:00Z,https://shop.example/A
B,Cream,Face Care,Maison,20.00,USD,5,2025-01-01T00:00:00Z,https://shop.example/B
C,Mug,Kitchen,Maison,8.00,USD,5,2025-01-01T00:00:00Z,https://shop.example/C
D,Tea,Pantry,Maison,4.00,USD,5,2025-01-01T00:00:00Z,https://shop.example/D
";

const CUSTOMERS: &str = "\
id,email,first_name,locale,timezone,tier,consent,created_at
c1,c1@example.com,Ana,en-US,UTC,gold,true,2025-06-01T00:00:00Z
c2,c2@example.com,Ben,en-US,UTC,gold,true,2025-06-01T00:00:00Z
c3,c3@example.com,Cy,en-US,UTC,gold,true,2025-06-01T00:00:00Z
c4,c4@example.com,Di,en-US,UTC,gold,true,2025-06-01T00:00:00Z
";

/// Before 2026-04-11: c1 and c2 buy A with B, c3 buys A, c4 buys C.
/// After: c3 buys B (new to them), c4 buys C again and D (new).
const EVENTS: &str = "\
ts,customer_id,kind,product_id,order_id,quantity,unit_price
2026-02-20T10:00:00Z,c1,order,A,O1,1,10.00
2026-02-20T10:00:00Z,c1,order,B,O1,1,20.00
2026-02-20T11:00:00Z,c2,order,A,O2,1,10.00
2026-02-20T11:00:00Z,c2,order,B,O2,1,20.00
2026-03-02T10:00:00Z,c3,order,A,O3,1,10.00
2026-03-02T11:00:00Z,c4,order,C,O4,1,8.00
2026-04-21T10:00:00Z,c3,order,B,O5,1,20.00
2026-05-01T10:00:00Z,c4,order,C,O6,1,8.00
2026-05-01T10:00:00Z,c4,order,D,O6,1,4.00
";

fn shop() -> Workspace {
    Workspace::tiny(CATALOG, CUSTOMERS, EVENTS)
}

#[test]
fn backtest_prints_each_sources_figures_next_to_bestsellers_under_both_protocols() {
    let run = shop().xsell(&[
        "backtest",
        "--split",
        "2026-04-11",
        "--k",
        "2",
        "--source",
        "similar_customers",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    // Bestsellers before the split: A (3 buyers), B (2), C (1).
    // all: c3 gets [A, B] and buys B (rank 2); c4 gets [A, B] and buys C, D.
    // new: c3 gets [B, C] (A is owned): B at rank 1; c4 gets [A, B].
    // similar_customers: A's buyers also bought B, so c3 gets [B]; nobody else bought C, so c4 gets nothing.
    assert_eq!(
        run.stdout,
        "\
Backtest at 2026-04-11 00:00 UTC, K = 2
Learned from 4 orders before the split (2 after); 2 customers ordered before and after it; 4 products.

all: any product bought after the split counts (2 customers)
  source                    HR@2     P@2     R@2   NDCG@2  vs best  coverage  short lists
  bestsellers              0.500   0.250   0.500    0.315    1.00×     50.0%            0
  similar_customers        0.500   0.250   0.500    0.500    1.58×     25.0%            2

new: only products never bought before count; owned products are not suggested (2 customers)
  source                    HR@2     P@2     R@2   NDCG@2  vs best  coverage  short lists
  bestsellers              0.500   0.250   0.500    0.500    1.00×     75.0%            0
  similar_customers        0.500   0.250   0.500    0.500    1.00×     25.0%            2

HR: share of customers who bought at least one of the 2; P: share of the 2 bought; R: share of what they bought that was suggested;
NDCG: hits weighted by rank; vs best: NDCG over bestsellers'; short lists: customers given fewer than 2.
"
    );
}

#[test]
fn backtest_json_has_every_figure() {
    let run = shop().xsell(&[
        "--format",
        "json",
        "backtest",
        "--split",
        "2026-04-11T00:00:00Z",
        "--k",
        "2",
        "--source",
        "bestsellers",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["split"], 1_775_865_600);
    assert_eq!(report["customers_before_and_after"], 2);
    let scores = report["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 2, "bestsellers under all and new");
    assert_eq!(scores[1]["protocol"], "new");
    assert_eq!(scores[1]["source"], "bestsellers");
    assert_eq!(scores[1]["ndcg"], 0.5);
    assert_eq!(scores[1]["coverage"], 0.75);
}

#[test]
fn backtest_refuses_a_split_outside_the_data_or_with_nobody_to_evaluate_and_unknown_sources() {
    let run = shop().xsell(&["backtest", "--split", "2030-01-01"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: --split 2030-01-01 00:00 UTC leaves 6 orders before it and 0 after: choose a date inside the data (orders run from 2026-02-20 to 2026-05-01)\n"
        )
    );
    let run = shop().xsell(&["backtest", "--split", "2026-02-25"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: --split 2026-02-25 00:00 UTC: no customer ordered both before and after it (2 orders before, 4 after), so there is nothing to compare\n"
        )
    );
    let run = shop().xsell(&["backtest", "--split", "2026-04-11", "--source", "magic"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: unknown source `magic`; the sources a backtest can compare are: bestsellers, new_arrivals, order_reminders, cross_sell, cross_sell+bestsellers, similar_customers, next_purchase, auto, upgrade, ecosystem\n"
        )
    );
}

#[test]
fn a_validation_window_judges_only_what_was_bought_before_its_end() {
    // Until 2026-04-25 only c3's purchase of B (2026-04-21) is in the
    // window: c4's orders of May are not looked at, so c4 is not evaluated.
    let run = shop().xsell(&[
        "--format",
        "json",
        "backtest",
        "--split",
        "2026-04-11",
        "--until",
        "2026-04-25",
        "--k",
        "2",
        "--source",
        "next_purchase",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["orders_after"], 1, "{report}");
    assert_eq!(report["customers_before_and_after"], 1, "{report}");
    assert!(report["until"].is_i64(), "{report}");
    for scores in report["scores"].as_array().unwrap() {
        assert_eq!(scores["customers"], 1, "{scores}");
    }
    let backwards = shop().xsell(&["backtest", "--split", "2026-04-11", "--until", "2026-04-01"]);
    assert_eq!(
        (backwards.code, backwards.stderr.as_str()),
        (1, "error: --until must come after --split\n")
    );
}
