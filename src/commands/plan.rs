//! `xsell plan CAMPAIGN`: who would get what at `--now`, and why; who is
//! left out, and why. Nothing is sent and nothing is written: it runs the
//! same engine as sending ([`crate::plan::plan_campaign`]) and prints it.

use serde::Serialize;

use crate::calendar::rfc3339;
use crate::campaign::Campaign;
use crate::cli::{Format, Global};
use crate::data::Store;
use crate::error::Result;
use crate::ledger::Ledger;
use crate::plan::view::{
    PlannedView, describe_offer, describe_reason, describe_trigger, message_lines, planned_view,
};
use crate::plan::{CampaignPlan, PlanInputs, SkipReason, SkippedMessage, plan_campaign};
use crate::recommend::Recommender;
use crate::signing::SigningKey;
use crate::workspace::open_checked_shard;

pub fn run(
    global: &Global,
    campaign_id: &str,
    limit: Option<usize>,
    shard: Option<crate::shard::Shard>,
) -> Result<i32> {
    let opened = open_checked_shard(&global.workspace, global.explicit_now(), shard)?;
    let campaign = opened.campaign(campaign_id)?;
    opened.warn_about_others(Some(&campaign.id));
    let workspace = &opened.workspace;
    let now = super::campaign_now(global, &workspace.store, campaign)?;
    let store = &*workspace.store;
    let signing_key = SigningKey::from_config(&workspace.config);
    let inputs = PlanInputs {
        store,
        caps: &workspace.config.caps,
        signing_key: &signing_key,
    };
    let due = crate::schedule::newsletter_due(campaign, now);
    // What was already sent, held out or suppressed.
    let history = Ledger::read_planning_history(&workspace.config, campaign, now)?;
    // Models learn only from what happened before `now`.
    let resolver = Recommender::build_before(store, now);
    let plan = plan_campaign(&inputs, campaign, now, due, &history, &resolver);
    let mut report = Report::new(store, campaign, &plan, limit);
    report.auto = resolver.auto_choices().into_iter().cloned().collect();
    match global.format {
        Format::Json => super::print_json(&report)?,
        Format::Text => print!("{}", report.text()),
    }
    Ok(0)
}

#[derive(Serialize)]
struct Report {
    campaign: String,
    name: String,
    now: String,
    moment: String,
    offer: Option<String>,
    /// What lists with `source: auto` chose, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    auto: Vec<crate::recommend::auto::AutoChoice>,
    summary: Summary,
    planned: Vec<PlannedView>,
    skipped: Vec<SkippedView>,
    /// How many recipients and skips are left out of the lists above (`--limit`).
    not_shown: NotShown,
}

#[derive(Serialize, Default)]
struct NotShown {
    planned: usize,
    skipped: usize,
}

#[derive(Serialize)]
struct Summary {
    occurrences: usize,
    not_eligible: usize,
    eligible: usize,
    planned: usize,
    /// In the order of the pipeline.
    skipped: Vec<ReasonCount>,
}

#[derive(Serialize)]
struct ReasonCount {
    reason: String,
    count: usize,
}

#[derive(Serialize)]
struct SkippedView {
    customer: String,
    first_name: String,
    moment: String,
    at: String,
    summary: String,
    reason: String,
    detail: SkipReason,
}

impl Report {
    fn new(
        store: &Store,
        campaign: &Campaign,
        plan: &CampaignPlan,
        limit: Option<usize>,
    ) -> Report {
        let shown = limit.unwrap_or(usize::MAX);
        Report {
            campaign: campaign.id.clone(),
            name: campaign.name.clone(),
            now: rfc3339(plan.now),
            moment: describe_trigger(campaign),
            offer: describe_offer(campaign),
            auto: Vec::new(),
            summary: summarise(plan),
            planned: plan
                .planned
                .iter()
                .take(shown)
                .map(|m| planned_view(store, m))
                .collect(),
            skipped: plan
                .skipped
                .iter()
                .take(shown)
                .map(|s| skipped_view(store, campaign, s))
                .collect(),
            not_shown: NotShown {
                planned: plan.planned.len().saturating_sub(shown),
                skipped: plan.skipped.len().saturating_sub(shown),
            },
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line(format!(
            "plan {} \"{}\" at {}",
            self.campaign, self.name, self.now
        ));
        line(format!("moment: {}", self.moment));
        if let Some(offer) = &self.offer {
            line(format!("offer: {offer}"));
        }
        for choice in &self.auto {
            line(format!(
                "source auto ({} protocol): {} — {}",
                choice.protocol.name(),
                choice.source,
                choice.why
            ));
        }
        line(String::new());
        let s = &self.summary;
        let width = s
            .skipped
            .iter()
            .map(|r| r.reason.chars().count() + 4)
            .chain([24])
            .max()
            .unwrap_or(24);
        let row = |label: &str, count: usize| format!("{label:<width$} {count:>7}");
        line(row("occurrences", s.occurrences));
        line(row("  not eligible", s.not_eligible));
        for r in s
            .skipped
            .iter()
            .filter(|r| !is_eligibility_reason(&r.reason))
        {
            line(row(&format!("    {}", r.reason), r.count));
        }
        line(row("  eligible", s.eligible));
        line(row("    planned", s.planned));
        for r in s
            .skipped
            .iter()
            .filter(|r| is_eligibility_reason(&r.reason))
        {
            line(row(&format!("    {}", r.reason), r.count));
        }
        line(String::new());
        line(format!("planned ({})", s.planned));
        for message in &self.planned {
            let c = &message.customer;
            line(format!(
                "  {} {} · {} · {} · {}",
                c.id, c.first_name, c.locale, c.timezone, c.currency
            ));
            for text in message_lines(message) {
                line(text);
            }
        }
        if self.not_shown.planned > 0 {
            line(format!("  … and {} more (--limit)", self.not_shown.planned));
        }
        line(String::new());
        line(format!("skipped ({})", s.occurrences - s.planned));
        for skipped in &self.skipped {
            line(format!(
                "  {} {} · {} · {}",
                skipped.customer, skipped.first_name, skipped.moment, skipped.reason
            ));
        }
        if self.not_shown.skipped > 0 {
            line(format!("  … and {} more (--limit)", self.not_shown.skipped));
        }
        out
    }
}

/// Reasons counted among the eligible (after audience and suppression).
fn is_eligibility_reason(summary: &str) -> bool {
    !(summary == "no consent"
        || summary.starts_with("not in audience")
        || summary.starts_with("suppressed"))
}

fn summarise(plan: &CampaignPlan) -> Summary {
    let mut skipped: Vec<(String, usize)> = Vec::new();
    let mut not_eligible = 0;
    for s in &plan.skipped {
        if !s.reason.is_eligible() {
            not_eligible += 1;
        }
        let label = s.reason.summary();
        match skipped.iter_mut().find(|(l, _)| *l == label) {
            Some((_, count)) => *count += 1,
            None => skipped.push((label, 1)),
        }
    }
    skipped.sort_by_key(|(label, _)| pipeline_rank(label));
    Summary {
        occurrences: plan.occurrences,
        not_eligible,
        eligible: plan.occurrences - not_eligible,
        planned: plan.planned.len(),
        skipped: skipped
            .into_iter()
            .map(|(reason, count)| ReasonCount { reason, count })
            .collect(),
    }
}

/// Where a summary bucket sits: the order of the pipeline, then by name.
fn pipeline_rank(label: &str) -> (usize, String) {
    let stages = [
        "no consent",
        "not in audience",
        "suppressed",
        "held out",
        "already",
        "capped",
        "deferred",
        "empty list",
        "no offer",
    ];
    let stage = stages
        .iter()
        .position(|s| label.starts_with(s))
        .unwrap_or(stages.len());
    (stage, label.to_string())
}

fn skipped_view(store: &Store, campaign: &Campaign, skipped: &SkippedMessage) -> SkippedView {
    let customer = store.customer(skipped.occurrence.customer);
    SkippedView {
        customer: customer.id.to_string(),
        first_name: customer.first_name.to_string(),
        moment: skipped.occurrence.key.clone(),
        at: rfc3339(skipped.occurrence.at),
        summary: skipped.reason.summary(),
        reason: describe_reason(campaign, &skipped.reason),
        detail: skipped.reason.clone(),
    }
}
