//! The renderer: templates compiled once per campaign, then any number of
//! messages rendered from them, by either path (see [`super::skeleton`]):
//! [`Renderer::render`] (fast) or [`Renderer::render_straightforward`]
//! (Tera → mrml → html2text → lettre for every message). Both give the
//! same bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use lettre::message::Mailbox;
use sha2::{Digest, Sha256};

use super::context::{self, Memo, clean};
use super::dkim::DkimSigner;
use super::locate;
use super::mime::{self, Assembled, Encoding, Head};
use super::mjml::{self, Converter, MjmlProblem};
use super::skeleton::{self, Cache, Compiled, Entry, Pattern, Recording};
use super::templates::{self, PREHEADER, SUBJECT, TemplateSources};
use super::text;
use super::tracking::Tracker;
use super::unsubscribe;
use super::{MessageInput, RenderError, RenderedMessage};
use crate::campaign::Campaign;
use crate::config::Config;
use crate::diagnostic::{Diagnostic, Diagnostics};

/// Subjects longer than this are cut (with `…`): inboxes show ~60 characters,
/// and a catalog name should not make a header of kilobytes.
const MAX_SUBJECT_CHARS: usize = 200;

/// The recipient's name in `To:` (their first name) is cut to this.
const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// Skeletons remembered per campaign (each ~40 KB for the examples: the
/// static HTML and text, and the MJML key); messages of skeletons beyond it
/// are rendered the straightforward way.
const CACHE_CAPACITY: usize = 1024;

/// A message's context, subject and preheader, ready for the body.
struct Prepared {
    context: tera::Context,
    subject: String,
    preheader: String,
    token: String,
    unsubscribe_url: String,
}

/// One campaign's compiled templates.
struct Environment {
    tera: tera::Tera,
    template: String,
    /// The template files loaded, in the order their markers number them.
    files: Vec<String>,
    cache: Cache,
    memo: Memo,
}

/// Renders messages; built once, shared by every thread that sends.
pub struct Renderer {
    sources: TemplateSources,
    environments: BTreeMap<String, Environment>,
    converter: Converter,
    dkim: Option<DkimSigner>,
}

impl Renderer {
    /// Reads the workspace's templates and DKIM key (the only I/O).
    pub fn load(config: &Config, campaigns: &[Campaign]) -> Result<Renderer, Diagnostics> {
        let (sources, mut problems) = TemplateSources::read(&config.templates_dir, &config.root);
        let dkim = match &config.dkim {
            None => None,
            Some(dkim) => match DkimSigner::from_file(&dkim.domain, &dkim.selector, &dkim.key_file)
            {
                Ok(signer) => Some(signer),
                Err(message) => {
                    problems.push(Diagnostic::file(crate::config::CONFIG_FILE, message));
                    None
                }
            },
        };
        match Renderer::new(sources, campaigns, dkim) {
            Ok(renderer) if problems.is_empty() => Ok(renderer),
            Ok(_) => Err(problems),
            Err(found) => {
                problems.extend(found);
                Err(problems)
            }
        }
    }

    /// Compiles `sources` for each of `campaigns`; fails with every problem found.
    pub fn new(
        sources: TemplateSources,
        campaigns: &[Campaign],
        dkim: Option<DkimSigner>,
    ) -> Result<Renderer, Diagnostics> {
        let (renderer, failed) = Renderer::build(sources, campaigns, dkim);
        let mut problems = Diagnostics::default();
        for found in failed.into_values() {
            problems.extend(found);
        }
        problems.into_result(renderer)
    }

    /// Compiles what compiles: a renderer for the campaigns whose templates
    /// are fine, and the problems of the others, by campaign id.
    pub fn build(
        sources: TemplateSources,
        campaigns: &[Campaign],
        dkim: Option<DkimSigner>,
    ) -> (Renderer, BTreeMap<String, Diagnostics>) {
        let others = templates::Others::of(campaigns);
        let mut environments = BTreeMap::new();
        let mut failed: BTreeMap<String, Diagnostics> = BTreeMap::new();
        for campaign in campaigns {
            // A campaign renders only if every variant compiles.
            let mut compiled = Vec::new();
            let mut problems = Diagnostics::default();
            for variant in
                std::iter::once(campaign).chain(campaign.variants.iter().map(|v| &v.campaign))
            {
                match environment(&sources, variant, &others) {
                    Ok(environment) => compiled.push((variant.render_key(), environment)),
                    Err(found) => problems.extend(found),
                }
            }
            if problems.is_empty() {
                environments.extend(compiled);
            } else {
                failed.insert(campaign.id.clone(), problems);
            }
        }
        let renderer = Renderer {
            converter: sources
                .location
                .as_deref()
                .map_or_else(Converter::default, Converter::with_includes),
            sources,
            environments,
            dkim,
        };
        (renderer, failed)
    }

    /// Whether the campaign's templates compiled.
    pub fn has_campaign(&self, campaign_id: &str) -> bool {
        self.environments.contains_key(campaign_id)
    }

    pub fn sources(&self) -> &TemplateSources {
        &self.sources
    }

    /// The fast path: Tera per message, mrml and html2text once per skeleton.
    pub fn render(&self, input: &MessageInput<'_>) -> Result<RenderedMessage, RenderError> {
        self.render_with(input, true)
    }

    /// The straightforward path: Tera, mrml and html2text for this message.
    pub fn render_straightforward(
        &self,
        input: &MessageInput<'_>,
    ) -> Result<RenderedMessage, RenderError> {
        self.render_with(input, false)
    }

    /// How the fast path did so far for a campaign.
    pub fn stats(&self, campaign_id: &str) -> skeleton::Stats {
        self.environments
            .get(campaign_id)
            .map_or_else(skeleton::Stats::default, |e| e.cache.stats())
    }

    fn environment(&self, campaign: &Campaign) -> Result<&Environment, RenderError> {
        self.environments
            .get(&campaign.render_key())
            .ok_or_else(|| {
                RenderError::Message(format!(
                    "campaign `{}` was not given to the renderer",
                    campaign.id
                ))
            })
    }

    fn render_with(
        &self,
        input: &MessageInput<'_>,
        fast: bool,
    ) -> Result<RenderedMessage, RenderError> {
        let environment = self.environment(input.campaign)?;
        let campaign = input.campaign;
        let customer = input.store.customer(input.customer);
        crate::fault::inject("render", &customer.id);
        let Prepared {
            context,
            subject,
            preheader,
            token,
            unsubscribe_url,
        } = self.prepare(environment, input)?;
        let occurrence_key = input
            .occurrence
            .map_or_else(|| format!("at:{}", input.now), |o| o.key.clone());
        let parts = [campaign.id.as_str(), &customer.id, &occurrence_key];
        let from = &input.config.sender.from;
        let message_id = format!(
            "<{}@{}>",
            hex::encode(&digest(&["message-id", parts[0], parts[1], parts[2]])[..16]),
            from.email.domain()
        );
        let boundary = format!(
            "xsell-{}",
            hex::encode(&input.key.sign(&["boundary", parts[0], parts[1], parts[2]])[..12])
        );
        let address = clean(&customer.email).parse().map_err(|error| {
            RenderError::Message(format!(
                "customer {} has an invalid email address `{}`: {error}",
                customer.id, customer.email
            ))
        })?;
        // Headers stay within RFC 5322's 998 characters a line whatever the data.
        let first_name = shorten(&clean(&customer.first_name), MAX_DISPLAY_NAME_CHARS);
        let to = Mailbox::new((!first_name.is_empty()).then_some(first_name), address);
        let mut list_unsubscribe = format!("<{unsubscribe_url}>");
        if let Some(mailto) = unsubscribe::mailto(&input.config.unsubscribe, &token) {
            list_unsubscribe.push_str(&format!(", <{mailto}>"));
        }
        let head = Head {
            from,
            reply_to: input.config.sender.reply_to.as_ref(),
            to,
            subject: &subject,
            date: input.now,
            message_id: message_id.clone(),
            list_unsubscribe,
            boundary,
        };
        let site = super::tracking::Site {
            website: &input.config.shop.website,
            unsubscribe: input
                .config
                .unsubscribe
                .url
                .split("{token}")
                .next()
                .unwrap_or_default(),
            landing: input
                .config
                .site
                .landing_url
                .split("{token}")
                .next()
                .unwrap_or_default(),
        };
        let assembled = if fast {
            self.message_fast(environment, &context, campaign, head, &site)?
        } else {
            let mjml = self.mjml(environment, &context, campaign)?;
            let (html, text) =
                self.body_straightforward(environment, &context, campaign, &mjml, &site)?;
            let text_encoding = mime::encoding_of(&text);
            mime::assemble(head, (text, text_encoding), html).map_err(RenderError::Message)?
        };
        let Assembled {
            mut eml,
            mut text,
            mut html,
        } = assembled;
        if let Some(dkim) = &self.dkim {
            let signed = dkim.sign(&eml, input.now).map_err(RenderError::Message)?;
            let shift = signed.len() - eml.len();
            (text, html) = (text.shifted(shift), html.shifted(shift));
            eml = signed;
        }
        Ok(RenderedMessage {
            subject,
            preheader,
            message_id,
            eml,
            html,
            text,
        })
    }

    /// What every path starts with: the context, the subject and preheader.
    fn prepare(
        &self,
        environment: &Environment,
        input: &MessageInput<'_>,
    ) -> Result<Prepared, RenderError> {
        let campaign = input.campaign;
        let customer = input.store.customer(input.customer);
        let token = unsubscribe::token(input.key, &customer.id, &campaign.id);
        let unsubscribe_url = unsubscribe::url(&input.config.unsubscribe, &token);
        let mut context = context::build(input, &unsubscribe_url, &environment.memo);
        let subject = self.render_text(environment, SUBJECT, &context, campaign)?;
        let subject = shorten(&clean(&subject), MAX_SUBJECT_CHARS);
        if subject.is_empty() {
            return Err(RenderError::Template(Diagnostic::at(
                &campaign.file.path,
                &campaign.file.text,
                campaign.file.subject_at.0,
                campaign.file.subject_at.1,
                format!("the subject is empty for customer {}", customer.id),
            )));
        }
        let preheader = match campaign.preheader {
            Some(_) => {
                clean(&self.render_text(environment, PREHEADER, &context, campaign)?).into_owned()
            }
            None => String::new(),
        };
        context.insert("subject", &subject);
        context.insert("preheader", &preheader);
        Ok(Prepared {
            context,
            subject,
            preheader,
            token,
            unsubscribe_url,
        })
    }

    /// The subject and the MJML Tera writes for this message, before mrml
    /// (for previews and debugging, and the benchmark's naive path).
    pub fn render_mjml(&self, input: &MessageInput<'_>) -> Result<(String, String), RenderError> {
        let environment = self.environment(input.campaign)?;
        let prepared = self.prepare(environment, input)?;
        let mjml = self.mjml(environment, &prepared.context, input.campaign)?;
        Ok((prepared.subject, mjml))
    }

    /// Renders the subject or preheader (no HTML escaping).
    fn render_text(
        &self,
        environment: &Environment,
        name: &str,
        context: &tera::Context,
        campaign: &Campaign,
    ) -> Result<String, RenderError> {
        environment.tera.render(name, context).map_err(|error| {
            RenderError::Template(templates::tera_problem(
                &error,
                &self.sources,
                Some(campaign),
            ))
        })
    }

    fn mjml(
        &self,
        environment: &Environment,
        context: &tera::Context,
        campaign: &Campaign,
    ) -> Result<String, RenderError> {
        environment
            .tera
            .render(&environment.template, context)
            .map_err(|error| {
                RenderError::Template(templates::tera_problem(
                    &error,
                    &self.sources,
                    Some(campaign),
                ))
            })
    }

    /// HTML (with its encoding) and finished text, the straightforward way.
    fn body_straightforward(
        &self,
        environment: &Environment,
        context: &tera::Context,
        campaign: &Campaign,
        mjml: &str,
        site: &super::tracking::Site<'_>,
    ) -> Result<((String, Encoding), String), RenderError> {
        let html = self
            .converter
            .html(mjml)
            .map_err(|problem| self.mjml_error(environment, context, campaign, mjml, &problem))?;
        let html = mjml::break_lines(&html);
        let html = super::tracking::track_site_links(&html, site, &campaign.utm).unwrap_or(html);
        let text = text::finish(&text::from_html(&html));
        let encoding = mime::encoding_of(&html);
        Ok(((html, encoding), text))
    }

    /// The message by filling the compiled skeleton (compiling it first if
    /// it is new), the HTML written straight into the message.
    fn message_fast(
        &self,
        environment: &Environment,
        context: &tera::Context,
        campaign: &Campaign,
        head: Head<'_>,
        site: &super::tracking::Site<'_>,
    ) -> Result<Assembled, RenderError> {
        let mut recording = Recording::default();
        environment
            .tera
            .render_to(&environment.template, context, &mut recording)
            .map_err(|error| {
                RenderError::Template(templates::tera_problem(
                    &error,
                    &self.sources,
                    Some(campaign),
                ))
            })?;
        let mjml = String::from_utf8(recording.output)
            .map_err(|_| RenderError::Message("the template wrote invalid UTF-8".to_string()))?;
        let straightforward = |head: Head<'_>| -> Result<Assembled, RenderError> {
            let (html, text) =
                self.body_straightforward(environment, context, campaign, &mjml, site)?;
            let text_encoding = mime::encoding_of(&text);
            mime::assemble(head, (text, text_encoding), html).map_err(RenderError::Message)
        };
        let Some(cut) = skeleton::cut(&mjml, &recording.values) else {
            return straightforward(head);
        };
        let entry = environment.cache.get(&cut.skeleton);
        match entry.as_deref() {
            Some(Entry::Fill(compiled)) => {
                let filling = compiled.filling(&cut);
                let text = text::finish(&filling.text());
                let text_encoding = mime::encoding_of(&text);
                let html_encoding = filling.html_encoding();
                if text_encoding == Encoding::QuotedPrintable
                    || html_encoding == Encoding::QuotedPrintable
                {
                    let html = (filling.html(), html_encoding);
                    return mime::assemble(head, (text, text_encoding), html)
                        .map_err(RenderError::Message);
                }
                environment.cache.count_fill();
                mime::assemble_spliced(
                    head,
                    &text,
                    text_encoding,
                    filling.html_len(),
                    html_encoding,
                    |out| filling.write_html(out),
                )
                .map_err(RenderError::Message)
            }
            Some(Entry::Straightforward) => straightforward(head),
            None => {
                let (html, text) =
                    self.body_straightforward(environment, context, campaign, &mjml, site)?;
                let entry = match self.compile(&cut, site, &campaign.utm) {
                    Some(compiled) => {
                        let filling = compiled.filling(&cut);
                        if filling.html() == html.0 && text::finish(&filling.text()) == text {
                            Entry::Fill(compiled)
                        } else {
                            Entry::Straightforward
                        }
                    }
                    None => Entry::Straightforward,
                };
                environment.cache.insert(cut.skeleton, entry);
                let text_encoding = mime::encoding_of(&text);
                mime::assemble(head, (text, text_encoding), html).map_err(RenderError::Message)
            }
        }
    }

    /// mrml, line breaks and html2text on a skeleton, cut at its tokens.
    fn compile(
        &self,
        cut: &skeleton::Cut<'_>,
        site: &super::tracking::Site<'_>,
        utm: &BTreeMap<String, String>,
    ) -> Option<Compiled> {
        let html = mjml::break_lines(&self.converter.html(&cut.skeleton).ok()?);
        let html = super::tracking::track_site_links(&html, site, utm).unwrap_or(html);
        let html = skeleton::mark_attributes(&html)?;
        let text = text::from_html(&html);
        let slots = cut.values.len();
        Some(Compiled::new(
            Pattern::parse(&html, slots)?,
            Pattern::parse(&text, slots)?,
            slots,
        ))
    }

    /// An mrml problem in the generated MJML, located in the template that
    /// wrote that line (rendering again with line markers).
    fn mjml_error(
        &self,
        environment: &Environment,
        context: &tera::Context,
        campaign: &Campaign,
        mjml: &str,
        problem: &MjmlProblem,
    ) -> RenderError {
        if let Some(diagnostic) = self.locate(environment, context, campaign, problem) {
            return RenderError::Template(diagnostic);
        }
        let (line, column) = crate::diagnostic::line_column(mjml, problem.offset);
        let generated_line = mjml.lines().nth(line.saturating_sub(1)).unwrap_or_default();
        RenderError::Template(Diagnostic::file(
            self.sources.display(&campaign.template),
            format!(
                "{} (line {line}, column {column} of the generated MJML: `{}`)",
                problem.message,
                generated_line.trim()
            ),
        ))
    }

    fn locate(
        &self,
        environment: &Environment,
        context: &tera::Context,
        campaign: &Campaign,
        problem: &MjmlProblem,
    ) -> Option<Diagnostic> {
        let (clean_output, marks) = self.traced_render(environment, context, campaign)?;
        // The error as mrml reports it on the traced render (whitespace may
        // differ slightly from the original around `{%-` tags).
        let offset = match self.converter.html(&clean_output) {
            Err(found) if found.message == problem.message => found.offset,
            _ => return None,
        };
        self.diagnostic_at(environment, &marks, &clean_output, offset, &problem.message)
    }

    /// The MJML rendered again with line markers: (MJML, where template lines start in it).
    fn traced_render(
        &self,
        environment: &Environment,
        context: &tera::Context,
        campaign: &Campaign,
    ) -> Option<(String, Vec<locate::Mark>)> {
        let traced_sources = environment
            .files
            .iter()
            .enumerate()
            .filter_map(|(index, name)| {
                Some((name.clone(), locate::traced(self.sources.get(name)?, index)))
            });
        let tera = build_tera(traced_sources, campaign, &environment.memo.tracker).ok()?;
        let output = tera.render(&environment.template, context).ok()?;
        Some(locate::untrace(&output))
    }

    fn diagnostic_at(
        &self,
        environment: &Environment,
        marks: &[locate::Mark],
        clean_output: &str,
        offset: usize,
        message: &str,
    ) -> Option<Diagnostic> {
        let (file, line, column) = locate::position(marks, clean_output, offset)?;
        let name = environment.files.get(file)?;
        Some(Diagnostic::at(
            self.sources.display(name),
            self.sources.get(name)?,
            line,
            column,
            message,
        ))
    }

    /// mrml's warnings for this message's MJML, located in the templates
    /// (for `xsell check`).
    pub fn mjml_warnings(&self, input: &MessageInput<'_>) -> Result<Vec<Diagnostic>, RenderError> {
        let environment = self.environment(input.campaign)?;
        let customer = input.store.customer(input.customer);
        let token = unsubscribe::token(input.key, &customer.id, &input.campaign.id);
        let mut context = context::build(
            input,
            &unsubscribe::url(&input.config.unsubscribe, &token),
            &environment.memo,
        );
        context.insert("subject", "");
        context.insert("preheader", "");
        let mjml = self.mjml(environment, &context, input.campaign)?;
        let warnings = self.converter.warnings(&mjml).map_err(|problem| {
            self.mjml_error(environment, &context, input.campaign, &mjml, &problem)
        })?;
        Ok(warnings
            .iter()
            .map(|warning| {
                self.locate_warning(environment, &context, input.campaign, &mjml, warning)
            })
            .collect())
    }

    fn locate_warning(
        &self,
        environment: &Environment,
        context: &tera::Context,
        campaign: &Campaign,
        mjml: &str,
        warning: &MjmlProblem,
    ) -> Diagnostic {
        let located =
            self.traced_render(environment, context, campaign)
                .and_then(|(clean_output, marks)| {
                    let found = self.converter.warnings(&clean_output).ok()?;
                    let same = found.iter().find(|w| w.message == warning.message)?;
                    self.diagnostic_at(
                        environment,
                        &marks,
                        &clean_output,
                        same.offset,
                        &warning.message,
                    )
                });
        located.unwrap_or_else(|| {
            let (line, _) = crate::diagnostic::line_column(mjml, warning.offset);
            Diagnostic::file(
                self.sources.display(&campaign.template),
                format!("{} (line {line} of the generated MJML)", warning.message),
            )
        })
    }
}

/// Whether a template text defines `{% component <name>(…) %}`.
fn defines_component(text: &str, name: &str) -> bool {
    text.match_indices("{%").any(|(at, _)| {
        let tag = text[at + 2..].trim_start_matches(['-', '+']).trim_start();
        tag.strip_prefix("component")
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix(name))
            .is_some_and(|rest| rest.trim_start().starts_with('('))
    })
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max_chars - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// A campaign's Tera environment from (name, text) pairs, with its subject
/// and preheader templates and xsell's filters.
fn build_tera(
    files: impl IntoIterator<Item = (String, String)>,
    campaign: &Campaign,
    tracker: &Arc<Tracker>,
) -> Result<tera::Tera, tera::Error> {
    let mut tera = tera::Tera::new();
    tera.autoescape_on(vec![".mjml", ".html"]);
    tera.set_escape_fn(skeleton::recording_escape);
    super::filters::register(&mut tera, tracker);
    let mut all: Vec<(String, String)> = files.into_iter().collect();
    all.push((SUBJECT.to_string(), campaign.subject.clone()));
    all.push((
        PREHEADER.to_string(),
        campaign.preheader.clone().unwrap_or_default(),
    ));
    tera.add_raw_templates(all)?;
    Ok(tera)
}

/// Compiles one campaign's environment; `check` also wants the files list.
fn environment(
    sources: &TemplateSources,
    campaign: &Campaign,
    others: &templates::Others,
) -> Result<Environment, Diagnostics> {
    let files: Vec<String> = sources
        .files_for(campaign, others)
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut problems = Diagnostics::default();
    if !files.contains(&campaign.template) {
        problems.push(Diagnostic::at(
            &campaign.file.path,
            &campaign.file.text,
            campaign.file.template_at.0,
            campaign.file.template_at.1,
            format!(
                "template `{}` is not in {}",
                campaign.template,
                sources.dir.display()
            ),
        ));
        return Err(problems);
    }
    for (component, file) in &campaign.components {
        if !sources
            .get(file)
            .is_some_and(|text| defines_component(text, component))
        {
            problems.push(Diagnostic::file(
                &campaign.file.path,
                format!(
                    "components: `{file}` does not define the component `{component}` (it should contain `{{% component {component}(…) %}}`)"
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let memo = Memo::new(&campaign.utm);
    let tera = match build_tera(
        files
            .iter()
            .filter_map(|name| Some((name.clone(), sources.get(name)?.to_string()))),
        campaign,
        &memo.tracker,
    ) {
        Ok(tera) => tera,
        Err(error) => {
            problems.extend(templates::tera_problems(&error, sources, Some(campaign)));
            return Err(problems);
        }
    };
    problems.into_result(Environment {
        tera,
        template: campaign.template.clone(),
        files,
        cache: Cache::new(CACHE_CAPACITY),
        memo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_definitions_are_recognised() {
        assert!(defines_component(
            "{% component price(price) %}x{% endcomponent price %}",
            "price"
        ));
        assert!(defines_component(
            "{%- component  price (p, @customer) -%}",
            "price"
        ));
        assert!(!defines_component("{% component prices(p) %}", "price"));
        assert!(!defines_component("{{ <price price={p}/> }}", "price"));
    }

    #[test]
    fn long_subjects_are_cut_at_a_character() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("déjà vu encore", 8), "déjà vu…");
    }
}
