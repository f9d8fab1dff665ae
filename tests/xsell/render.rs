//! Rendering the example campaigns: snapshots of what customers get, the
//! fast path proven byte-identical to the straightforward one, values that
//! cannot inject markup or headers, and independent checks of the result
//! (Python's `email` parser, SpamAssassin, dkimpy).

use std::sync::OnceLock;

use xsell::campaign::Campaign;
use xsell::render::sample::{sample, sample_customer};
use xsell::render::{MessageInput, RenderedMessage, Renderer};
use xsell::signing::SigningKey;
use xsell::workspace::Workspace;

use crate::support;

/// 2026-11-16T09:00:00Z, the end of the fixtures.
pub const NOW: i64 = 1_794_819_600;

pub struct Example {
    pub workspace: Workspace,
    pub renderer: Renderer,
    pub key: SigningKey,
}

/// The repository's example workspace, opened once.
pub fn example() -> &'static Example {
    static EXAMPLE: OnceLock<Example> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let workspace = Workspace::open(&support::repo()).expect("the example workspace opens");
        let renderer = Renderer::load(&workspace.config, &workspace.campaigns)
            .unwrap_or_else(|problems| panic!("{problems}"));
        Example {
            workspace,
            renderer,
            key: SigningKey::new("test-signing-key"),
        }
    })
}

/// The sample message of a campaign for the sample customer.
pub fn render_example(campaign: &Campaign, fast: bool) -> RenderedMessage {
    let example = example();
    let store = &example.workspace.store;
    let customer = sample_customer(store).expect("a sample customer");
    let sample = sample(store, campaign, customer, NOW, &example.key);
    let input = MessageInput {
        config: &example.workspace.config,
        store,
        campaign,
        customer,
        occurrence: sample.occurrence.as_ref(),
        lists: &sample.lists,
        offer: sample.offer.as_ref(),
        now: NOW,
        key: &example.key,
    };
    let rendered = if fast {
        example.renderer.render(&input)
    } else {
        example.renderer.render_straightforward(&input)
    };
    rendered.unwrap_or_else(|error| panic!("{}: {error}", campaign.id))
}

fn lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

#[test]
fn every_example_campaign_renders_as_snapshotted() {
    let example = example();
    assert_eq!(example.workspace.campaigns.len(), 9);
    for campaign in &example.workspace.campaigns {
        let message = render_example(campaign, false);
        let name = &campaign.id;
        insta::assert_snapshot!(format!("{name}.subject"), message.subject);
        insta::assert_snapshot!(format!("{name}.text"), lf(message.text()));
        insta::assert_snapshot!(format!("{name}.html"), lf(message.html()));
        insta::assert_binary_snapshot!(&format!("{name}.eml"), message.eml.clone());
        assert_eq!(
            render_example(campaign, true),
            message,
            "{name}: the fast path gives the same message"
        );
    }
}
