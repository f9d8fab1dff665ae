//! `xsell preview CAMPAIGN --customer ID`: one message for one customer,
//! exactly as a send would make it ([`crate::preview`]), written as `.html`,
//! `.txt` and `.eml`, with what went into it (lists, reasons, offer) and,
//! for a customer the campaign would not mail now, why not.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::calendar::rfc3339;
use crate::cli::{Format, Global};
use crate::error::{Error, Result};
use crate::plan::view::{CustomerView, PlannedView, customer_view, message_lines, planned_view};
use crate::preview::{Pick, Preview, Previewer};
use crate::workspace::open_checked;

pub fn run(
    global: &Global,
    campaign_id: &str,
    customer: &str,
    variant: Option<&str>,
    out: Option<&Path>,
    open: bool,
) -> Result<i32> {
    let opened = open_checked(&global.workspace, global.explicit_now())?;
    let campaign_id = opened.campaign(campaign_id)?.id.clone();
    opened.warn_about_others(Some(&campaign_id));
    let (workspace, renderer) = (opened.workspace, opened.renderer);
    let previewer = Previewer::new(
        workspace.root,
        Arc::new(workspace.config),
        workspace.store,
        workspace.campaigns,
        renderer,
    );
    let campaign = previewer
        .campaign(&campaign_id)
        .expect("the workspace found it");
    if let Some(name) = variant
        && !campaign.variants.iter().any(|v| v.id == name)
    {
        let known: Vec<&str> = campaign.variants.iter().map(|v| v.id.as_str()).collect();
        return Err(Error::usage(if known.is_empty() {
            format!("campaign `{}` has no variants", campaign.id)
        } else {
            format!(
                "campaign `{}` has no variant `{name}`; its variants are: {}",
                campaign.id,
                known.join(", ")
            )
        }));
    }
    let now = super::campaign_now(global, &previewer.store, campaign)?;
    let pick: Pick = customer.parse().expect("any text is a pick");
    let customer = previewer.pick(campaign, &pick, now)??;
    let preview = previewer.preview_variant(campaign, customer, now, variant)??;

    let customer_id = previewer.store.customer(customer).id.to_string();
    let folder = match out {
        Some(out) => out.to_path_buf(),
        None => std::env::temp_dir().join(format!(
            "xsell-preview-{}-{}",
            campaign.id,
            safe(&customer_id)
        )),
    };
    let files = write_files(&folder, &campaign.id, &customer_id, &preview)?;
    let report = Report {
        campaign: campaign.id.clone(),
        now: rfc3339(now),
        customer: customer_view(&previewer.store, previewer.store.customer(customer)),
        would_send: preview.left_out.is_none() && !preview.sample_moment,
        sample_moment: preview.sample_moment,
        left_out: preview.left_out.as_ref().map(|r| r.summary()),
        subject: preview.rendered.subject.clone(),
        preheader: preview.rendered.preheader.clone(),
        message_id: preview.rendered.message_id.clone(),
        message: planned_view(&previewer.store, &preview.message),
        auto: previewer
            .recommender(now)
            .auto_choices()
            .into_iter()
            .cloned()
            .collect(),
        files,
    };
    match global.format {
        Format::Json => super::print_json(&report)?,
        Format::Text => print!("{}", report.text()),
    }
    if open {
        super::open_in_browser(&report.files.html.display().to_string());
    }
    Ok(0)
}

#[derive(Serialize)]
struct Report {
    campaign: String,
    now: String,
    customer: CustomerView,
    /// Whether the campaign would send this message now.
    would_send: bool,
    /// No open moment now: the moment shown was made from the customer's history.
    sample_moment: bool,
    /// Why it would not (the message is shown anyway).
    left_out: Option<String>,
    subject: String,
    preheader: String,
    message_id: String,
    message: PlannedView,
    /// What lists with `source: auto` chose, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    auto: Vec<crate::recommend::auto::AutoChoice>,
    files: Files,
}

#[derive(Serialize)]
struct Files {
    html: PathBuf,
    txt: PathBuf,
    eml: PathBuf,
}

impl Report {
    fn text(&self) -> String {
        let c = &self.customer;
        let mut lines = vec![
            format!("preview {} at {}", self.campaign, self.now),
            format!(
                "  {} {} <{}> · {} · {} · {}",
                c.id, c.first_name, c.email, c.locale, c.timezone, c.currency
            ),
            match (&self.left_out, self.sample_moment) {
                (_, true) => "    SAMPLE MOMENT: no open moment at this time, so one was made from this customer's history (shown, never sent); try --now next".to_string(),
                (None, false) => "    would be sent now".to_string(),
                (Some(reason), false) => format!("    would NOT be sent now ({reason}); shown anyway"),
            },
            format!("    subject   {}", self.subject),
            format!("    preheader {}", self.preheader),
        ];
        lines.extend(message_lines(&self.message));
        for choice in &self.auto {
            lines.push(format!(
                "  source auto ({} protocol): {} — {}",
                choice.protocol.name(),
                choice.source,
                choice.why
            ));
        }
        lines.push("files".to_string());
        for file in [&self.files.html, &self.files.txt, &self.files.eml] {
            lines.push(format!("  {}", file.display()));
        }
        lines.join("\n") + "\n"
    }
}

/// Writes `<campaign>-<customer>.{html,txt,eml}` into `folder`: the HTML and
/// text parts with plain line ends for editors, the `.eml` byte for byte.
fn write_files(folder: &Path, campaign: &str, customer: &str, preview: &Preview) -> Result<Files> {
    std::fs::create_dir_all(folder)
        .map_err(|e| Error::usage(format!("cannot create {}: {e}", folder.display())))?;
    let stem = format!("{campaign}-{}", safe(customer));
    let files = Files {
        html: folder.join(format!("{stem}.html")),
        txt: folder.join(format!("{stem}.txt")),
        eml: folder.join(format!("{stem}.eml")),
    };
    let rendered = &preview.rendered;
    for (path, bytes) in [
        (
            &files.html,
            rendered.html().replace("\r\n", "\n").into_bytes(),
        ),
        (
            &files.txt,
            rendered.text().replace("\r\n", "\n").into_bytes(),
        ),
        (&files.eml, rendered.eml.clone()),
    ] {
        std::fs::write(path, bytes)
            .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(files)
}

/// A customer id as a file name part.
fn safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
