//! What a new designer or marketer runs into, each case with a test that
//! failed before: MJML written for the reference compiler (`mj-style
//! inline`, `<mjml version>`), other tools' merge tags, a message without an
//! unsubscribe link or postal address, one broken campaign among good ones,
//! links to the shop's own site without UTM parameters, and campaigns out
//! of season in previews.

use crate::support::Workspace;

const FOOTER: &str = r#"<mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a> · {{ shop.postal_address }}</mj-text>"#;

/// The example workspace plus a campaign `gallery` with this MJML body.
fn gallery(body: &str) -> Workspace {
    let workspace = Workspace::example();
    workspace.write("templates/gallery.mjml", body);
    workspace.write(
        "campaigns/gallery.yaml",
        "id: gallery\ntemplate: gallery.mjml\nsubject: Hello\naudience:\n  min_orders: 1\n",
    );
    workspace
}

fn preview_html(workspace: &Workspace, campaign: &str) -> String {
    let out = workspace.path().join("preview-out");
    let run = workspace.xsell(&[
        "preview",
        campaign,
        "--customer",
        "C000003",
        "--now",
        "2026-11-16T09:00:00Z",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    std::fs::read_to_string(out.join(format!("{campaign}-C000003.html"))).unwrap()
}

#[test]
fn mjml_from_the_reference_compiler_checks_and_inlines_its_styles() {
    let workspace = gallery(&format!(
        r#"<mjml version="3.3.3">
  <mj-head>
    <mj-style inline="inline">
      .headline div {{ color: #d0021b !important; }}
    </mj-style>
  </mj-head>
  <mj-body>
    <mj-section><mj-column>
      <mj-text css-class="headline">Hello {{{{ customer.first_name }}}}</mj-text>
      {FOOTER}
    </mj-column></mj-section>
  </mj-body>
</mjml>
"#
    ));
    let check = workspace.xsell(&["check", "gallery"]);
    assert_eq!(check.code, 0, "{check:?}");
    let html = preview_html(&workspace, "gallery");
    // The rule is written into the element's own style, as MJML does.
    let inlined = html.split("style=\"").skip(1).any(|attribute| {
        attribute
            .split('"')
            .next()
            .unwrap_or("")
            .contains("color: #d0021b")
    });
    assert!(inlined, "{html}");
}

#[test]
fn other_tools_merge_tags_are_named_with_xsells_name_in_every_command() {
    let workspace = gallery(&format!(
        "<mjml><mj-body><mj-section><mj-column>\n<mj-text>Hello {{{{ FirstName }}}}</mj-text>\n{FOOTER}\n</mj-column></mj-section></mj-body></mjml>\n"
    ));
    let check = workspace.xsell(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(
        check.stderr.contains("templates/gallery.mjml:2:")
            && check
                .stderr
                .contains("xsell calls it `{{ customer.first_name }}`"),
        "{check:?}"
    );
    // One verdict: preview and a dry run refuse it with the same words…
    for args in [
        vec!["preview", "gallery", "--now", "2026-11-16T09:00:00Z"],
        vec![
            "send",
            "gallery",
            "--dry-run",
            "--now",
            "2026-11-16T09:00:00Z",
        ],
    ] {
        let run = workspace.xsell(&args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.stderr.contains("customer.first_name"), "{run:?}");
    }
    // … and Mailchimp's tags, which Tera would mail as is, are found too.
    workspace.write(
        "templates/gallery.mjml",
        &format!("<mjml><mj-body><mj-section><mj-column>\n<mj-text>Hello *|FNAME|*</mj-text>\n{FOOTER}\n</mj-column></mj-section></mj-body></mjml>\n"),
    );
    let check = workspace.xsell(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(
        check
            .stderr
            .contains("templates/gallery.mjml:2:16: `*|FNAME|*` is another tool's merge tag"),
        "{check:?}"
    );
}

#[test]
fn a_message_without_unsubscribe_link_or_postal_address_is_refused() {
    let workspace = gallery(
        "<mjml><mj-body><mj-section><mj-column><mj-text>Hello</mj-text></mj-column></mj-section></mj-body></mjml>\n",
    );
    let check = workspace.xsell(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(check.stderr.contains("no unsubscribe link"), "{check:?}");
    assert!(check.stderr.contains("postal address"), "{check:?}");
    assert!(check.stderr.contains("{{ <footer/> }}"), "{check:?}");
    let send = workspace.xsell(&["send", "gallery", "--now", "2026-11-16T09:00:00Z"]);
    assert_eq!(send.code, 1, "{send:?}");
    assert!(send.stderr.contains("no unsubscribe link"), "{send:?}");
    assert!(!workspace.path().join("outbox/gallery").exists());
}

#[test]
fn one_broken_campaign_does_not_stop_the_others() {
    let workspace = gallery("<mjml><mj-body>{% if %}</mj-body></mjml>\n");
    // preview and plan of a campaign that checks go ahead, and say what was set aside.
    let preview = workspace.xsell(&[
        "preview",
        "post-purchase-completion",
        "--now",
        "2026-11-16T09:00:00Z",
    ]);
    assert_eq!(preview.code, 0, "{preview:?}");
    assert!(
        preview.stderr.contains("set aside") && preview.stderr.contains("gallery"),
        "{preview:?}"
    );
    let plan = workspace.xsell(&["plan", "cart-abandoned", "--now", "2026-11-16T09:00:00Z"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    // A broken YAML file too.
    workspace.write(
        "campaigns/also-broken.yaml",
        "id: also-broken\nsubject: [\n",
    );
    // run sends every campaign that checks and reports the broken ones: exit 2.
    let run = workspace.xsell(&["run", "--now", "2026-11-16T09:00:00Z"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout.contains("gallery") && run.stdout.contains("also-broken"),
        "{run:?}"
    );
    let sent = std::fs::read_dir(workspace.path().join("outbox"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(sent >= 3, "the good campaigns were sent: {run:?}");
    assert!(!workspace.path().join("outbox/gallery").exists());
    // The broken campaign itself is refused with its problems.
    let own = workspace.xsell(&["preview", "gallery", "--now", "2026-11-16T09:00:00Z"]);
    assert_eq!(own.code, 1, "{own:?}");
    assert!(own.stderr.contains("templates/gallery.mjml:1:"), "{own:?}");
}

#[test]
fn error_messages_end_with_a_newline() {
    let workspace = Workspace::example();
    for args in [
        vec!["preview", "nope"],
        vec!["report", "nope"],
        vec!["send", "nope"],
    ] {
        let run = workspace.xsell(&args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.stderr.ends_with('\n'), "{args:?}: {:?}", run.stderr);
    }
}

#[test]
fn campaigns_out_of_season_preview_with_a_sample_moment_or_at_their_next_moment() {
    let workspace = Workspace::example();
    let november = "2026-11-16T09:00:00Z";
    // Nobody has a spring moment in November: a customer of the audience is
    // shown with a moment made from their history, labelled as such.
    for pick in ["first-eligible", "random", "C000003"] {
        let run = workspace.xsell(&[
            "preview",
            "spring-seasonal",
            "--customer",
            pick,
            "--now",
            november,
        ]);
        assert_eq!(run.code, 0, "{pick}: {run:?}");
        assert!(run.stdout.contains("SAMPLE MOMENT"), "{pick}: {run:?}");
    }
    let json = workspace.xsell(&[
        "--format",
        "json",
        "preview",
        "spring-seasonal",
        "--customer",
        "C000003",
        "--now",
        november,
    ]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["sample_moment"], true);
    assert_eq!(json["would_send"], false);
    // --now next: the window's next opening, where the message would really go.
    let next = workspace.xsell(&["preview", "spring-seasonal", "--now", "next"]);
    assert_eq!(next.code, 0, "{next:?}");
    assert!(next.stderr.contains("--now next: 2027-03-01T"), "{next:?}");
    assert!(next.stdout.contains("would be sent now"), "{next:?}");
    let plan = workspace.xsell(&[
        "--format",
        "json",
        "plan",
        "spring-seasonal",
        "--now",
        "next",
    ]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert!(plan["summary"]["planned"].as_u64().unwrap() > 0, "{plan:#}");
    // Sending at "next" makes no sense: refused, with what to do.
    let send = workspace.xsell(&["send", "spring-seasonal", "--now", "next"]);
    assert_eq!(send.code, 1, "{send:?}");
    assert!(
        send.stderr
            .contains("--now next is for plan, preview and serve"),
        "{send:?}"
    );

    // serve: a sample moment, labelled, and the "Next moment" button.
    let serve = crate::serve::Serve::start(&workspace, &[]);
    let page = reqwest::blocking::get(format!("{}/c/spring-seasonal?customer=C000003", serve.base))
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("Sample moment"), "{page}");
    assert!(page.contains(r#"id="next-moment""#), "{page}");
    let next = reqwest::blocking::get(format!(
        "{}/c/spring-seasonal?customer=C000002&now=next",
        serve.base
    ))
    .unwrap()
    .text()
    .unwrap();
    assert!(next.contains("Would be sent now"), "{next}");
    assert!(next.contains("2027-03-01T"), "{next}");
}

#[test]
fn links_to_the_shop_written_in_a_template_get_the_campaigns_utm() {
    let workspace = gallery(&format!(
        "<mjml><mj-body><mj-section><mj-column>\n<mj-text><a href=\"https://shop.example/journal?issue=3\">Our journal</a> <a href=\"https://elsewhere.example/\">A friend</a></mj-text>\n{FOOTER}\n</mj-column></mj-section></mj-body></mjml>\n"
    ));
    workspace.write(
        "campaigns/gallery.yaml",
        "id: gallery\ntemplate: gallery.mjml\nsubject: Hello\naudience:\n  min_orders: 1\nutm: { source: xsell, campaign: gallery }\n",
    );
    let check = workspace.xsell(&["check", "gallery"]);
    assert_eq!(check.code, 0, "{check:?}");
    let html = preview_html(&workspace, "gallery");
    assert!(
        html.contains(r#"href="https://shop.example/journal?issue=3&amp;utm_campaign=gallery&amp;utm_source=xsell""#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="https://elsewhere.example/""#),
        "{html}"
    );
}
