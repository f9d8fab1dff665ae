//! What `xsell check` verifies about templates: each file parses, each
//! campaign's environment compiles (components, overrides, subject,
//! preheader), and each campaign renders for a sample customer — Tera, then
//! MJML with mrml's warnings, with every problem pointed at its template
//! line — so a broken template fails CI, not a send.

use std::collections::BTreeMap;

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
    let verdicts = verdicts(config, campaigns, store, key, now);
    let mut problems = verdicts.general;
    if let Some(dkim) = verdicts.dkim {
        problems.push(dkim);
    }
    for found in verdicts.campaigns.into_values() {
        problems.extend(found);
    }
    (verdicts.template_count, dedupe(problems))
}

/// What `check` says about the templates, campaign by campaign — the one
/// verdict every command applies: a campaign with problems here is not
/// previewed, planned or sent, and its neighbours go on.
pub struct Verdicts {
    pub template_count: usize,
    /// Problems of no campaign in particular (a file no campaign uses).
    pub general: Diagnostics,
    /// The DKIM key could not be read: nothing may be sent.
    pub dkim: Option<Diagnostic>,
    /// Each campaign with problems, by id.
    pub campaigns: BTreeMap<String, Diagnostics>,
    /// Compiled for every campaign whose templates compile.
    pub renderer: Renderer,
}

/// Reads the templates, compiles each campaign's, and renders each for a
/// sample customer (when the data loaded).
pub fn verdicts(
    config: &Config,
    campaigns: &[Campaign],
    store: Option<&Store>,
    key: &SigningKey,
    now: i64,
) -> Verdicts {
    let (sources, read_problems) = TemplateSources::read(&config.templates_dir, &config.root);
    let mut file_problems = read_problems;
    file_problems.extend(check_files(&sources));
    let (dkim, dkim_problem) = match &config.dkim {
        None => (None, None),
        Some(dkim) => {
            match super::dkim::DkimSigner::from_file(&dkim.domain, &dkim.selector, &dkim.key_file) {
                Ok(signer) => (Some(signer), None),
                Err(message) => (
                    None,
                    Some(Diagnostic::file(crate::config::CONFIG_FILE, message)),
                ),
            }
        }
    };
    let template_count = sources.len();
    // Each file's problems go to the campaigns that load the file.
    let others = super::templates::Others::of(campaigns);
    let mut by_campaign: BTreeMap<String, Diagnostics> = BTreeMap::new();
    let mut attributed = vec![false; file_problems.len()];
    for campaign in campaigns {
        let files: Vec<std::path::PathBuf> = std::iter::once(campaign)
            .chain(campaign.variants.iter().map(|v| &v.campaign))
            .flat_map(|c| sources.files_for(c, &others))
            .map(|name| sources.display(name))
            .collect();
        for (index, problem) in file_problems.iter().enumerate() {
            if files.contains(&problem.file) {
                attributed[index] = true;
                by_campaign
                    .entry(campaign.id.clone())
                    .or_default()
                    .push(problem.clone());
            }
        }
    }
    let mut general = Diagnostics::default();
    for (problem, attributed) in file_problems.iter().zip(attributed) {
        if !attributed {
            general.push(problem.clone());
        }
    }
    let (renderer, failed) = Renderer::build(sources, campaigns, dkim);
    for (id, found) in failed {
        by_campaign.entry(id).or_default().extend(found);
    }
    if let Some(store) = store {
        for campaign in campaigns.iter().filter(|c| renderer.has_campaign(&c.id)) {
            // A panic in the sample render (a bug, or data nobody foresaw)
            // is this campaign's problem, not the end of the program.
            let found = crate::fault::without_faults(|| {
                crate::fault::catch(|| render_sample(&renderer, config, store, campaign, key, now))
            })
            .unwrap_or_else(|message| {
                Diagnostic::file(
                    &campaign.file.path,
                    format!("rendering for a sample customer: {message}"),
                )
                .into()
            });
            if !found.is_empty() {
                by_campaign
                    .entry(campaign.id.clone())
                    .or_default()
                    .extend(found);
            }
        }
    }
    let campaigns = by_campaign
        .into_iter()
        .map(|(id, found)| (id, dedupe(found)))
        .filter(|(_, found)| !found.is_empty())
        .collect();
    Verdicts {
        template_count,
        general,
        dkim: dkim_problem,
        campaigns,
        renderer,
    }
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
        for (at, tag, ours) in super::merge_tags::foreign_tags(text) {
            problems.push(Diagnostic::at_offset(
                sources.display(name),
                text,
                at,
                format!("`{tag}` is another tool's merge tag and would be mailed as is: xsell writes {ours}"),
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
        (Ok(rendered), _) => {
            problems.extend(compliance(
                renderer, config, store, campaign, customer, key, &rendered,
            ));
        }
    }
    problems
}

/// What the law and the mailbox providers require of every marketing
/// message: a visible unsubscribe link and the sender's postal address.
fn compliance(
    renderer: &Renderer,
    config: &Config,
    store: &Store,
    campaign: &Campaign,
    customer: crate::data::CustomerIx,
    key: &SigningKey,
    rendered: &super::RenderedMessage,
) -> Diagnostics {
    let mut problems = Diagnostics::default();
    let template = renderer.sources().display(&campaign.template);
    let customer = store.customer(customer);
    let token = super::unsubscribe::token(key, &customer.id, &campaign.id);
    let link = super::unsubscribe::url(&config.unsubscribe, &token);
    let html = rendered.html().replace("&amp;", "&");
    if !html.contains(&format!("href=\"{link}")) {
        problems.push(Diagnostic::file(
            &template,
            "the message has no unsubscribe link (the law and the mailbox providers require one): link to `{{ unsubscribe_url }}`, as the footer component does (`{{ <footer/> }}` in templates/layout.mjml)",
        ));
    }
    let address = words(&config.shop.postal_address);
    if !address.is_empty() && !words(rendered.text()).contains(&address) {
        problems.push(Diagnostic::file(
            &template,
            "the message does not show the shop's postal address (the law requires it in marketing mail): write `{{ shop.postal_address }}`, as the footer component does (`{{ <footer/> }}` in templates/layout.mjml)",
        ));
    }
    problems
}

/// Text with every run of whitespace made one space.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
