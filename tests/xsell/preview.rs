//! `xsell preview`: one snapshot per example campaign on a fixed customer
//! and `--now` (what it prints and the plain-text part it writes), the
//! preview being byte for byte the message `xsell send` writes, the ways of
//! picking a customer, and a customer the campaign would not mail.

use std::path::Path;

use crate::support::{Run, Workspace};

const NOW: &str = "2026-11-16T09:00:00Z";

/// Previews `campaign` for `customer` into a fresh folder; returns what it
/// printed (the folder shown as `<out>`) and the plain-text part.
fn preview(workspace: &Workspace, campaign: &str, customer: &str, now: &str) -> (Run, String) {
    let out = tempfile::tempdir().unwrap();
    let run = workspace.xsell(&[
        "preview",
        campaign,
        "--customer",
        customer,
        "--now",
        now,
        "--out",
        &out.path().display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    // Files are named after the campaign's id (which may differ from its file name) and the customer.
    let file = |extension: &str| {
        let path = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == extension))
            .unwrap_or_else(|| panic!("no .{extension} file: {run:?}"));
        assert!(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with(&format!("-{customer}.{extension}")),
            "{path:?}"
        );
        std::fs::read_to_string(path).unwrap()
    };
    let (text, html, eml) = (file("txt"), file("html"), file("eml"));
    assert!(html.starts_with("<!doctype html>"), "{}", &html[..100]);
    assert!(eml.contains("Content-Type: multipart/alternative"), "{eml}");
    let run = Run {
        stdout: run
            .stdout
            .replace(&out.path().display().to_string(), "<out>"),
        ..run
    };
    (run, text)
}

fn snapshot(campaign: &str, customer: &str, now: &str) -> String {
    let workspace = Workspace::example();
    let (run, text) = preview(&workspace, campaign, customer, now);
    format!("{}\n--- text part\n{text}", run.stdout)
}

#[test]
fn preview_post_purchase_completion() {
    insta::assert_snapshot!(snapshot("post-purchase-completion", "C000065", NOW));
}

#[test]
fn preview_browse_historical_fiction() {
    insta::assert_snapshot!(snapshot("browse-historical-fiction", "C000260", NOW));
}

#[test]
fn preview_cart_abandoned() {
    insta::assert_snapshot!(snapshot("cart-abandoned", "C000065", NOW));
}

#[test]
fn preview_new_arrivals_newsletter() {
    insta::assert_snapshot!(snapshot("new-arrivals-newsletter", "C000002", NOW));
}

#[test]
fn preview_reactivation() {
    insta::assert_snapshot!(snapshot("reactivation", "C000003", NOW));
}

#[test]
fn preview_spring_seasonal_in_march() {
    insta::assert_snapshot!(snapshot(
        "spring-seasonal",
        "C000002",
        "2027-03-05T09:00:00Z"
    ));
}

#[test]
fn preview_support_resolved_upgrade() {
    insta::assert_snapshot!(snapshot("support-resolved-upgrade", "C000087", NOW));
}

#[test]
fn preview_tier_reached() {
    insta::assert_snapshot!(snapshot("tier-reached", "C000091", NOW));
}

#[test]
fn preview_usage_milestone() {
    insta::assert_snapshot!(snapshot("usage-milestone", "C000009", NOW));
}

/// The outbox file `xsell send` wrote for `customer`.
fn outbox_message(dir: &Path, customer: &str) -> Vec<u8> {
    let found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{customer}_"))
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    std::fs::read(&found[0]).unwrap()
}

#[test]
fn a_preview_is_byte_for_byte_the_message_sent() {
    let workspace = Workspace::example();
    let out = tempfile::tempdir().unwrap();
    let run = workspace.xsell(&[
        "preview",
        "post-purchase-completion",
        "--customer",
        "C000065",
        "--now",
        NOW,
        "--out",
        &out.path().display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let previewed = std::fs::read(out.path().join("post-purchase-completion-C000065.eml")).unwrap();

    let send = workspace.xsell(&["send", "post-purchase-completion", "--now", NOW]);
    assert_eq!(send.code, 0, "{send:?}");
    let sent = outbox_message(
        &workspace.path().join("outbox/post-purchase-completion"),
        "C000065",
    );
    assert!(
        previewed == sent,
        "the preview differs from the message sent:\n--- preview\n{}\n--- sent\n{}",
        String::from_utf8_lossy(&previewed),
        String::from_utf8_lossy(&sent)
    );
}

#[test]
fn a_customer_the_campaign_leaves_out_is_shown_with_the_reason() {
    let workspace = Workspace::example();
    // C000015 has a post-purchase moment at NOW but no marketing consent (see the plan snapshot).
    let (run, text) = preview(&workspace, "post-purchase-completion", "C000015", NOW);
    assert!(
        run.stdout
            .contains("would NOT be sent now (no consent); shown anyway"),
        "{run:?}"
    );
    assert!(text.contains("15%"), "{text}");
}

/// `xsell preview post-purchase-completion --customer <pick> --format json`
/// (also what the preview server's tests expect to see).
pub fn preview_json(workspace: &Workspace, pick: &str) -> serde_json::Value {
    let run = workspace.xsell(&[
        "preview",
        "post-purchase-completion",
        "--customer",
        pick,
        "--now",
        NOW,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn customers_are_picked_by_id_random_first_eligible_or_tag() {
    let workspace = Workspace::example();
    let first = preview_json(&workspace, "first-eligible");
    assert_eq!(first["customer"]["id"], "C000065");
    assert_eq!(first["would_send"], true);

    let random = preview_json(&workspace, "random");
    assert_eq!(
        random["would_send"], true,
        "random picks among those mailed"
    );

    for tag in ["vip", "tag:vip"] {
        let tagged = preview_json(&workspace, tag);
        let id = tagged["customer"]["id"].as_str().unwrap().to_string();
        let customers = workspace.read("fixtures/customers.csv");
        let row = customers
            .lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap();
        assert!(row.contains("vip"), "{tag} picked {row}");
    }
}

#[test]
fn unknown_customers_are_clear_errors_and_customers_without_a_moment_get_a_sample() {
    let workspace = Workspace::example();
    let unknown = workspace.xsell(&[
        "preview",
        "post-purchase-completion",
        "--customer",
        "C999999",
        "--now",
        NOW,
    ]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown
            .stderr
            .contains("no customer `C999999` (nor a tag of that name)"),
        "{unknown:?}"
    );
    let no_moment = workspace.xsell(&[
        "preview",
        "post-purchase-completion",
        "--customer",
        "C000003",
        "--now",
        NOW,
    ]);
    // A customer without a moment is shown with a sample one, labelled.
    assert_eq!(no_moment.code, 0, "{no_moment:?}");
    assert!(
        no_moment
            .stdout
            .contains("SAMPLE MOMENT: no open moment at this time"),
        "{no_moment:?}"
    );
}

#[test]
fn open_hands_the_html_to_the_system_browser() {
    // The system's opener (xdg-open) is the one thing not run for real: a
    // stand-in on PATH records what it was asked to open.
    let workspace = Workspace::example();
    let bin = tempfile::tempdir().unwrap();
    let opened = bin.path().join("opened.txt");
    let opener = bin.path().join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run: Run = workspace
        .command(&[
            "preview",
            "post-purchase-completion",
            "--customer",
            "C000065",
            "--now",
            NOW,
            "--out",
            &out.path().display().to_string(),
            "--open",
        ])
        .env("PATH", path)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{run:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !opened.exists() {
        assert!(std::time::Instant::now() < deadline, "nothing was opened");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        std::fs::read_to_string(&opened).unwrap(),
        out.path()
            .join("post-purchase-completion-C000065.html")
            .display()
            .to_string()
    );
}
