//! Every bad-campaign case gives its exact message with file, line and
//! column, the source line and a caret; `check` reports all of them at once.

use crate::support::*;

/// A tiny shop with one valid template and one campaign file written from `yaml`.
fn check_campaign(yaml: &str) -> Run {
    let workspace = Workspace::tiny(TINY_CATALOG, TINY_CUSTOMERS, TINY_EVENTS);
    workspace.write(
        "templates/thanks.mjml",
        "<mjml><mj-body><mj-text>Hi {{ customer.first_name }} <a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></mj-text></mj-body></mjml>\n",
    );
    workspace.write("campaigns/thanks.yaml", yaml);
    workspace.xsell(&["check"])
}

const VALID: &str = "\
id: thanks
template: thanks.mjml
subject: Thank you
trigger:
  kind: post_purchase
  within: 48h
schedule: \"*/30 * * * *\"
lists:
  more:
    source: bestsellers
    scope: { categories: [Body Care] }
";

fn assert_problems(run: &Run, expected: &str) {
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr, expected, "{run:?}");
}

#[test]
fn the_valid_campaign_passes() {
    let run = check_campaign(VALID);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .ends_with("ok: 1 campaigns, 1 templates, 2 products, 2 customers, 3 events\n"),
        "{run:?}"
    );
}

#[test]
fn unknown_field() {
    let run =
        check_campaign(&VALID.replace("subject: Thank you", "subject: Thank you\nsubjet: Thanks"));
    assert_problems(
        &run,
        "campaigns/thanks.yaml:4:1: unknown field `subjet`, expected one of id, name, description, enabled, template, subject, preheader, audience, trigger, schedule, timezone, catch_up, max_lateness, lists, offer, caps, holdout, utm, components, variants, attribution_window\n  |\n4 | subjet: Thanks\n  | ^\n\n1 problem found\n",
    );
}

#[test]
fn wrong_type() {
    let run = check_campaign(&VALID.replace("scope: { categories: [Body Care] }", "limit: three"));
    assert_problems(
        &run,
        "campaigns/thanks.yaml:11:12: expected a whole number (0 or more)\n   |\n11 |     limit: three\n   |            ^\n\n1 problem found\n",
    );
}

#[test]
fn bad_duration() {
    let run = check_campaign(&VALID.replace("within: 48h", "within: 2 days"));
    assert_problems(
        &run,
        "campaigns/thanks.yaml:6:11: invalid duration `2 days`: expected a number and a unit, like `30m`, `48h`, `7d` or `2w`\n  |\n6 |   within: 2 days\n  |           ^\n\n1 problem found\n",
    );
}

#[test]
fn bad_cron() {
    let run = check_campaign(&VALID.replace("\"*/30 * * * *\"", "\"every 30 minutes\""));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("campaigns/thanks.yaml:7:11: invalid cron line `every 30 minutes`: "),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("(expected 5 fields: minute hour day-of-month month day-of-week, like `*/30 * * * *`)\n  |\n7 | schedule: \"every 30 minutes\"\n  |           ^\n"),
        "{run:?}"
    );
}

#[test]
fn unknown_category_suggests_the_closest() {
    let run = check_campaign(&VALID.replace("[Body Care]", "[Body Kare]"));
    assert_problems(
        &run,
        "campaigns/thanks.yaml:11:12: unknown category `Body Kare`; did you mean `Body Care`?\n   |\n11 |     scope: { categories: [Body Kare] }\n   |            ^\n\n1 problem found\n",
    );
}

#[test]
fn missing_template() {
    let run = check_campaign(&VALID.replace("template: thanks.mjml", "template: thank_you.mjml"));
    assert_problems(
        &run,
        "campaigns/thanks.yaml:2:11: template `thank_you.mjml` not found in templates/ (templates: thanks.mjml)\n  |\n2 | template: thank_you.mjml\n  |           ^\n\n1 problem found\n",
    );
}

#[test]
fn yaml_bomb_is_refused() {
    let mut bomb = String::from(
        "id: thanks\nlaughs: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let aliases = vec![format!("*{}", pair[0]); 9].join(",");
        bomb.push_str(&format!("{}: &{} [{aliases}]\n", pair[1], pair[1]));
    }
    let run = check_campaign(&bomb);
    assert_problems(
        &run,
        "campaigns/thanks.yaml:6:23: refused: more than 32 YAML aliases (`*name`): anchors and aliases are limited so a file cannot expand into a \"billion laughs\" bomb\n  |\n6 | e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n  |                       ^\n\n1 problem found\n",
    );
}

#[test]
fn an_absurdly_large_file_is_refused() {
    let run = check_campaign(&format!(
        "{VALID}description: \"{}\"\n",
        "x".repeat(300_000)
    ));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("campaigns/thanks.yaml: campaign file is 300"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("bytes; the limit is 262144\n"),
        "{run:?}"
    );
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let yaml = VALID
        .replace("within: 48h", "within: 48 hours\n  threshold: 3")
        .replace("[Body Care]", "[Bodycare]")
        .replace("id: thanks", "id: thanks\nholdout: ten percent");
    let run = check_campaign(&yaml);
    assert_eq!(run.code, 1, "{run:?}");
    let locations: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("campaigns/"))
        .collect();
    assert_eq!(
        locations,
        vec![
            "campaigns/thanks.yaml:2:10: invalid percentage `ten percent`: expected a number from 0 to 100 followed by `%`, like `10%`",
            "campaigns/thanks.yaml:6:9: `threshold` does not apply to a `post_purchase` trigger (it takes: within, delay, categories)",
            "campaigns/thanks.yaml:7:11: invalid duration `48 hours`: expected a number and a unit, like `30m`, `48h`, `7d` or `2w`",
            "campaigns/thanks.yaml:13:12: unknown category `Bodycare`; did you mean `Body Care`?",
        ]
    );
    assert!(run.stderr.ends_with("\n4 problems found\n"), "{run:?}");
}

#[test]
fn a_seed_from_the_trigger_needs_a_trigger_with_products() {
    let yaml = VALID
        .replace(
            "kind: post_purchase\n  within: 48h",
            "kind: inactive\n  after: 90d",
        )
        .replace(
            "source: bestsellers\n    scope: { categories: [Body Care] }",
            "source: cross_sell\n    seed: trigger",
        );
    let run = check_campaign(&yaml);
    assert_problems(
        &run,
        "campaigns/thanks.yaml:11:11: list `more`: `seed: trigger` needs a trigger with products (post_purchase, browse, cart_abandoned, support_resolved, new_arrival, gift_purchase); this campaign's trigger is `inactive`\n   |\n11 |     seed: trigger\n   |           ^\n\n1 problem found\n",
    );
}

#[test]
fn the_example_campaigns_pass_check() {
    let run = Workspace::example().xsell(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("ok: 9 campaigns"), "{run:?}");
}

#[test]
fn check_json_lists_problems_for_ci() {
    let workspace = Workspace::tiny(TINY_CATALOG, TINY_CUSTOMERS, TINY_EVENTS);
    workspace.write("templates/thanks.mjml", "<mjml></mjml>\n");
    workspace.write(
        "campaigns/thanks.yaml",
        &VALID.replace("within: 48h", "within: soon"),
    );
    let run = workspace.xsell(&["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"][0]["file"], "campaigns/thanks.yaml");
    assert_eq!(report["problems"][0]["line"], 6);
    assert_eq!(report["problems"][0]["column"], 11);
    assert_eq!(report["products"], 2);
}
