//! What `xsell check` verifies about templates: each file parses, each
//! campaign's environment compiles (components, overrides, subject,
//! preheader), and each campaign renders for a sample customer — Tera, then
//! MJML with mrml's warnings, with every problem pointed at its template
//! line — so a broken template fails CI, not a send.

use super::sample::{sample, sample_customer};
use super::templates::TemplateSources;
use super::{MessageInput, RenderError, Renderer};
use crate::campaign::Campaign;
use crate::config::Config;
use crate::data::Store;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::signing::SigningKey;

/// How many template files there are, and every problem found.
pub fn check(
    config: &Config,
    campaigns: &[Campaign],
    store: Option<&Store>,
    key: &SigningKey,
    now: i64,
) -> (usize, Diagnostics) {
    let (sources, mut problems) = TemplateSources::read(&config.templates_dir, &config.root);
    problems.extend(check_files(&sources));
    let dkim = match &config.dkim {
        None => None,
        Some(dkim) => {
            match super::dkim::DkimSigner::from_file(&dkim.domain, &dkim.selector, &dkim.key_file) {
                Ok(signer) => Some(signer),
                Err(message) => {
                    problems.push(Diagnostic::file(crate::config::CONFIG_FILE, message));
                    None
                }
            }
        }
    };
    let count = sources.len();
    let (renderer, found) = Renderer::build(sources, campaigns, dkim);
    problems.extend(found);
    if let Some(store) = store {
        for campaign in campaigns.iter().filter(|c| renderer.has_campaign(&c.id)) {
            problems.extend(render_sample(&renderer, config, store, campaign, key, now));
        }
    }
    (count, dedupe(problems))
}

/// Syntax errors of each file on its own (a campaign's environment stops at
/// the first), and characters the renderer reserves.
fn check_files(sources: &TemplateSources) -> Diagnostics {
    let mut problems = Diagnostics::default();
    for name in sources.names() {
        let text = sources.get(name).unwrap_or_default();
        if let Some(at) = text.find(|c| matches!(c, '\u{FDD0}'..='\u{FDEF}')) {
            problems.push(Diagnostic::at_offset(
                sources.display(name),
                text,
                at,
                "this character (U+FDD0–U+FDEF) is reserved for xsell's own use in templates",
            ));
        }
        let mut tera = tera::Tera::new();
        if let Err(error) = tera.add_raw_template(name, text)
            && matches!(error.kind(), tera::ErrorKind::SyntaxError(_))
        {
            problems.extend(super::templates::tera_problems(&error, sources, None));
        }
    }
    problems
}

/// Renders `campaign` for a sample customer, both ways, and collects what
/// went wrong (including mrml's warnings).
fn render_sample(
    renderer: &Renderer,
    config: &Config,
    store: &Store,
    campaign: &Campaign,
    key: &SigningKey,
    now: i64,
) -> Diagnostics {
    let mut problems = Diagnostics::default();
    let Some(customer) = sample_customer(store) else {
        return problems;
    };
    let sample = sample(store, campaign, customer, now, key);
    let input = MessageInput {
        config,
        store,
        campaign,
        customer,
        occurrence: sample.occurrence.as_ref(),
        lists: &sample.lists,
        offer: sample.offer.as_ref(),
        now,
        key,
    };
    let fail = |error: RenderError| match error {
        RenderError::Template(diagnostic) => diagnostic,
        RenderError::Message(message) => Diagnostic::file(
            &campaign.file.path,
            format!(
                "rendering for sample customer {}: {message}",
                store.customer(customer).id
            ),
        ),
    };
    match renderer.mjml_warnings(&input) {
        Ok(warnings) => problems.0.extend(warnings),
        Err(error) => {
            problems.push(fail(error));
            return problems;
        }
    }
    match (
        renderer.render_straightforward(&input),
        renderer.render(&input),
    ) {
        (Ok(straightforward), Ok(fast)) if straightforward != fast => {
            problems.push(Diagnostic::file(
                renderer.sources().display(&campaign.template),
                "internal error: the fast and straightforward renderings differ for the sample customer",
            ));
        }
        (Err(error), _) | (_, Err(error)) => problems.push(fail(error)),
        _ => {}
    }
    problems
}

fn dedupe(problems: Diagnostics) -> Diagnostics {
    let mut unique = Diagnostics::default();
    for problem in problems.0 {
        if !unique.iter().any(|p| *p == problem) {
            unique.push(problem);
        }
    }
    unique
}
