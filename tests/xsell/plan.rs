//! `xsell plan` on the example workspace at the fixtures' `now`: one
//! snapshot per example campaign (the whole output; the two campaigns that
//! reach all 3,000 customers show their first 40 recipients and skips, the
//! summary still counts everyone), the JSON shape, and `xsell offer verify`
//! on codes the plan hands out.
//!
//! Lists come from the recommender, learned from the fixtures before `now`.

use std::process::Command;

use crate::support::{Run, repo};

const NOW: &str = "2026-11-16T09:00:00Z";

/// Runs xsell on the repository's example workspace (plan reads, never
/// writes), with the development signing key so codes are reproducible.
fn xsell(args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_xsell"))
        .arg("--workspace")
        .arg(repo())
        .args(args)
        .env_remove("XSELL_WORKSPACE")
        .env_remove("XSELL_SECRET")
        .output()
        .expect("run xsell")
        .into()
}

fn plan(campaign: &str, extra: &[&str]) -> Run {
    let mut args = vec!["plan", campaign, "--now", NOW];
    args.extend_from_slice(extra);
    let run = xsell(&args);
    assert_eq!(run.code, 0, "{run:?}");
    run
}

#[test]
fn plan_post_purchase_completion() {
    insta::assert_snapshot!(format!("{:?}", plan("post-purchase-completion", &[])));
}

#[test]
fn plan_browse_historical_fiction() {
    insta::assert_snapshot!(format!("{:?}", plan("browse-historical-fiction", &[])));
}

#[test]
fn plan_cart_abandoned() {
    insta::assert_snapshot!(format!("{:?}", plan("cart-abandoned", &[])));
}

#[test]
fn plan_reactivation() {
    insta::assert_snapshot!(format!("{:?}", plan("reactivation", &[])));
}

#[test]
fn plan_support_resolved_upgrade() {
    insta::assert_snapshot!(format!("{:?}", plan("support-resolved-upgrade", &[])));
}

#[test]
fn plan_tier_reached() {
    insta::assert_snapshot!(format!("{:?}", plan("tier-reached", &[])));
}

#[test]
fn plan_usage_milestone() {
    insta::assert_snapshot!(format!("{:?}", plan("usage-milestone", &[])));
}

#[test]
fn plan_new_arrivals_newsletter() {
    insta::assert_snapshot!(format!(
        "{:?}",
        plan("new-arrivals-newsletter", &["--limit", "40"])
    ));
}

#[test]
fn plan_spring_seasonal_in_march() {
    let run = xsell(&[
        "plan",
        "spring-seasonal",
        "--now",
        "2027-03-05T09:00:00Z",
        "--limit",
        "40",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!(format!("{run:?}"));
}

#[test]
fn plan_spring_seasonal_out_of_season_has_no_moments() {
    let run = plan("spring-seasonal", &[]);
    assert!(
        run.stdout.contains("\noccurrences                    0\n"),
        "{run:?}"
    );
    assert!(run.stdout.contains("\nplanned (0)\n"), "{run:?}");
}

#[test]
fn plan_as_json() {
    let run = plan("usage-milestone", &["--format", "json"]);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn plan_is_deterministic() {
    let first = plan("post-purchase-completion", &["--format", "json"]);
    let second = plan("post-purchase-completion", &["--format", "json"]);
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn plan_of_an_unknown_campaign() {
    let run = xsell(&["plan", "nope", "--now", NOW]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: no campaign `nope`; the campaigns are: browse-historical-fiction, cart-abandoned, new-arrivals-newsletter, post-purchase-completion, reactivation, spring-seasonal, support-resolved-upgrade, tier-reached, usage-milestone-20-workouts\n"
    );
}

/// The first planned recipient's code, customer and moment, from the JSON plan.
fn first_code(campaign: &str) -> (String, String, String) {
    let run = plan(campaign, &["--format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let first = &plan["planned"][0];
    (
        first["offer"]["code"].as_str().unwrap().to_string(),
        first["customer"]["id"].as_str().unwrap().to_string(),
        first["moment"]["key"].as_str().unwrap().to_string(),
    )
}

#[test]
fn offer_verify_finds_whose_code_it_is() {
    let (code, customer, moment) = first_code("post-purchase-completion");
    let run = xsell(&["offer", "verify", &code]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with(&format!(
            "{code}: campaign post-purchase-completion, customer {customer} <"
        )),
        "{run:?}"
    );
    assert!(run.stdout.ends_with(
        "the moment part is not checked: pass --occurrence KEY (the moment's key, as `xsell plan` shows it) to check it\n"
    ));
    assert_eq!(
        run.stderr,
        "note: XSELL_SECRET is not set; checking against the development key\n"
    );

    let typed = code.to_lowercase().replace('-', " ");
    let run = xsell(&["offer", "verify", &typed, "--occurrence", &moment]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .ends_with(&format!("made for the moment {moment}\n")),
        "{run:?}"
    );

    let run = xsell(&["offer", "verify", &code, "--occurrence", "order:O9999999"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .ends_with("not valid: not made for the moment order:O9999999\n"),
        "{run:?}"
    );
}

#[test]
fn offer_verify_refuses_other_codes() {
    let (code, _, _) = first_code("tier-reached");
    // Another secret: the same code is nobody's.
    let run: Run = Command::new(env!("CARGO_BIN_EXE_xsell"))
        .arg("--workspace")
        .arg(repo())
        .args(["offer", "verify", &code])
        .env("XSELL_SECRET", "a-real-secret")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "{code}: not valid — no campaign with unique codes in this workspace made it for any customer\n"
        )
    );
    assert_eq!(run.stderr, "");

    let run = xsell(&["offer", "verify", "SPRING20"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: `SPRING20` is not an xsell offer code (they look like PPC-7K2M-QX4R-9WHB)\n"
    );
}
