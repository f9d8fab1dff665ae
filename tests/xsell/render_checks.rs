//! The example messages, judged by independent tools: Python's `email`
//! package parses them, SpamAssassin (offline) scores them below 2.0, and
//! dkimpy verifies their DKIM signature. A missing tool fails the test with
//! the command that installs it (`.ci/run` does): nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use xsell::render::dkim::DkimSigner;
use xsell::render::sample::{sample, sample_customer};
use xsell::render::templates::TemplateSources;
use xsell::render::{MessageInput, RenderedMessage, Renderer};

use crate::render::{NOW, example, render_example};
use crate::support;

/// The highest SpamAssassin score a message may get.
const SPAM_LIMIT: f64 = 2.0;

fn python() -> &'static str {
    "python3"
}

/// Runs a tool, or fails saying how to install it.
fn run(command: &mut Command, install: &str) -> std::process::Output {
    let program = command.get_program().to_string_lossy().into_owned();
    command.output().unwrap_or_else(|error| {
        panic!("cannot run `{program}` ({error}): install it with `{install}` (.ci/run does)")
    })
}

/// Every example campaign's message, written to `dir` as `<campaign>.eml`.
fn write_examples(dir: &Path) -> Vec<(PathBuf, RenderedMessage)> {
    example()
        .workspace
        .campaigns
        .iter()
        .map(|campaign| {
            let message = render_example(campaign, true);
            let path = dir.join(format!("{}.eml", campaign.id));
            std::fs::write(&path, &message.eml).unwrap();
            (path, message)
        })
        .collect()
}

#[test]
fn every_example_message_parses_with_pythons_email_package() {
    let dir = tempfile::tempdir().unwrap();
    let messages = write_examples(dir.path());
    let mut command = Command::new(python());
    command.arg(support::repo().join("tests/xsell/python/parse_eml.py"));
    command.args(messages.iter().map(|(path, _)| path));
    let output = run(&mut command, "apt-get install python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let parsed = parsed.as_array().unwrap();
    assert_eq!(parsed.len(), 9);
    for ((_, message), seen) in messages.iter().zip(parsed) {
        let file = seen["file"].as_str().unwrap();
        assert_eq!(seen["defects"], serde_json::json!([]), "{file}");
        assert_eq!(seen["content_type"], "multipart/alternative", "{file}");
        assert_eq!(
            seen["subject"].as_str(),
            Some(message.subject.as_str()),
            "{file}"
        );
        assert_eq!(seen["from"], "Maison Demo <hello@shop.example>", "{file}");
        assert_eq!(
            seen["reply_to"], "Maison Demo care <care@shop.example>",
            "{file}"
        );
        assert_eq!(
            seen["to"], "Nathan <nathan.anderson.1@example.com>",
            "{file}"
        );
        assert_eq!(seen["date"], "Mon, 16 Nov 2026 09:00:00 +0000", "{file}");
        assert_eq!(
            seen["message_id"].as_str(),
            Some(message.message_id.as_str())
        );
        assert_eq!(seen["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
        let unsubscribe = seen["list_unsubscribe"].as_str().unwrap();
        assert!(
            unsubscribe.starts_with("<https://shop.example/unsubscribe?token=")
                && unsubscribe
                    .contains(">, <mailto:unsubscribe@shop.example?subject=unsubscribe%20"),
            "{unsubscribe}"
        );
        let parts = seen["parts"].as_array().unwrap();
        assert_eq!(parts.len(), 2, "{file}");
        for (part, (kind, content)) in parts.iter().zip([
            ("text/plain", message.text()),
            ("text/html", message.html()),
        ]) {
            assert_eq!(part["content_type"], kind, "{file}");
            assert_eq!(part["charset"], "utf-8", "{file}");
            assert_eq!(
                part["transfer_encoding"], "8bit",
                "{file}: short lines, no re-encoding"
            );
            assert_eq!(part["defects"], serde_json::json!([]), "{file}");
            assert_eq!(
                part["content"].as_str().unwrap().replace("\r\n", "\n"),
                content.replace("\r\n", "\n"),
                "{file} {kind}"
            );
        }
    }
}

#[test]
fn every_example_message_scores_below_two_with_spamassassin() {
    let dir = tempfile::tempdir().unwrap();
    let messages = write_examples(dir.path());
    let scores: Vec<(String, f64, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = messages
            .iter()
            .map(|(path, _)| {
                scope.spawn(move || {
                    let mut command = Command::new("spamassassin");
                    command
                        .args(["-L", "-t"])
                        .stdin(std::fs::File::open(path).unwrap());
                    let output = run(&mut command, "apt-get install spamassassin");
                    let report = String::from_utf8_lossy(&output.stdout).into_owned();
                    let score = report
                        .lines()
                        .find(|l| l.starts_with("X-Spam-Status:"))
                        .and_then(|l| l.split("score=").nth(1))
                        .and_then(|s| s.split_whitespace().next())
                        .and_then(|s| s.parse::<f64>().ok())
                        .unwrap_or_else(|| {
                            panic!(
                                "no score from spamassassin for {}:\n{report}\n{}",
                                path.display(),
                                String::from_utf8_lossy(&output.stderr)
                            )
                        });
                    (path.display().to_string(), score, report)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(scores.len(), 9);
    for (file, score, report) in &scores {
        let details = &report[report.find("Content analysis details").unwrap_or(0)..];
        assert!(
            *score < SPAM_LIMIT,
            "{file} scores {score} (limit {SPAM_LIMIT}):\n{details}"
        );
        eprintln!("{file}: {score}");
    }
}

#[test]
fn dkim_signatures_verify_with_dkimpy() {
    let example = example();
    let keys = support::repo().join("tests/xsell/dkim");
    let pem = std::fs::read_to_string(keys.join("test-key.pem")).unwrap();
    let public = std::fs::read_to_string(keys.join("test-key.pub.b64")).unwrap();
    let signer = DkimSigner::from_pem("shop.example", "xsell", &pem).unwrap();
    let config = &example.workspace.config;
    let (sources, problems) = TemplateSources::read(&config.templates_dir, &config.root);
    assert!(problems.is_empty(), "{problems}");
    let renderer = Renderer::new(sources, &example.workspace.campaigns, Some(signer)).unwrap();
    let store = &example.workspace.store;
    let customer = sample_customer(store).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for campaign in &example.workspace.campaigns {
        let sample = sample(store, campaign, customer, NOW, &example.key);
        let input = MessageInput {
            config,
            store,
            campaign,
            customer,
            occurrence: sample.occurrence.as_ref(),
            lists: &sample.lists,
            offer: sample.offer.as_ref(),
            now: NOW,
            key: &example.key,
        };
        let message = renderer.render(&input).unwrap();
        assert_eq!(message, renderer.render_straightforward(&input).unwrap());
        let eml = String::from_utf8(message.eml.clone()).unwrap();
        assert!(
            eml.starts_with(&format!(
                "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.example; s=xsell;\r\n\tt={NOW}; h=from:reply-to:to:subject:date:message-id:mime-version:content-type:list-unsubscribe:list-unsubscribe-post;\r\n\tbh="
            )),
            "{}",
            &eml[..400]
        );
        let path = dir.path().join(format!("{}.eml", campaign.id));
        std::fs::write(&path, &message.eml).unwrap();
        files.push(path);
        // A message changed after signing must fail: the check is real.
        let tampered = dir.path().join(format!("{}-tampered.eml", campaign.id));
        std::fs::write(
            &tampered,
            eml.replacen("Maison Demo team", "Maison Demo teams", 1),
        )
        .unwrap();
        files.push(tampered);
    }
    let mut command = Command::new(python());
    command
        .arg(support::repo().join("tests/xsell/python/dkim_verify.py"))
        .arg("xsell._domainkey.shop.example")
        .arg(format!("v=DKIM1; k=rsa; p={}", public.trim()))
        .args(&files);
    let output = run(&mut command, "pip install dkimpy");
    assert!(
        output.status.success(),
        "dkimpy: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = (0..9)
        .flat_map(|_| ["pass".to_string(), "fail".to_string()])
        .collect();
    assert_eq!(verdicts, expected);
}
