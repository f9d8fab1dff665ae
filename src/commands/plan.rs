//! `xsell plan CAMPAIGN`: who would get what at `--now`, and why; who is
//! left out, and why. Nothing is sent and nothing is written: it runs the
//! same engine as sending ([`crate::plan::plan_campaign`]) and prints it.

use chrono::Utc;
use serde::Serialize;

use crate::calendar::rfc3339;
use crate::campaign::{AppliesTo, Campaign, CodeSpec, Discount, OnEmpty, Trigger};
use crate::cli::{Format, Global};
use crate::data::{Customer, Store, timestamp};
use crate::error::Result;
use crate::history::MemoryHistory;
use crate::money;
use crate::offer::{PricedOffer, price_view};
use crate::plan::{
    CampaignPlan, PlanInputs, PlannedMessage, SkipReason, SkippedMessage, plan_campaign,
};
use crate::recommend::Recommender;
use crate::signing::SigningKey;
use crate::trigger::{Detail, Occurrence};
use crate::units::format_duration;
use crate::workspace::Workspace;

pub fn run(global: &Global, campaign_id: &str, limit: Option<usize>) -> Result<i32> {
    let workspace = Workspace::open(&global.workspace)?;
    let campaign = workspace.campaign(campaign_id)?;
    let now = global.now.unwrap_or_else(Utc::now).timestamp();
    let store = &*workspace.store;
    let signing_key = SigningKey::from_config(&workspace.config);
    let inputs = PlanInputs {
        store,
        caps: &workspace.config.caps,
        signing_key: &signing_key,
    };
    // A newsletter is planned for its most recent scheduled run.
    let due = match (&campaign.trigger, &campaign.schedule) {
        (None, Some(schedule)) => crate::schedule::due_times(schedule, None, timestamp(now))
            .last()
            .map(|due| due.timestamp()),
        _ => None,
    };
    // What was already sent, held out or suppressed; an empty history before the first send.
    let lookback = crate::caps::CapRules::new(&workspace.config.caps, &campaign.caps).lookback();
    let history = match crate::ledger::Ledger::open_existing(&workspace.config.ledger_path)? {
        Some(ledger) => ledger.history(&campaign.id, now - lookback)?,
        None => MemoryHistory::new(),
    };
    // Models learn only from what happened before `now`.
    let resolver = Recommender::build_before(store, now);
    let plan = plan_campaign(&inputs, campaign, now, due, &history, &resolver);
    let report = Report::new(store, campaign, &plan, limit);
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
struct CustomerView {
    id: String,
    first_name: String,
    email: String,
    locale: String,
    timezone: String,
    currency: String,
}

#[derive(Serialize)]
struct MomentView {
    key: String,
    at: String,
    products: Vec<String>,
    category: Option<String>,
    order: Option<String>,
    detail: Detail,
}

#[derive(Serialize)]
struct PlannedView {
    customer: CustomerView,
    moment: MomentView,
    lists: Vec<ListView>,
    offer: Option<OfferView>,
}

#[derive(Serialize)]
struct ListView {
    name: String,
    on_empty: OnEmpty,
    products: Vec<ProductView>,
}

#[derive(Serialize)]
struct ProductView {
    id: String,
    name: String,
    source: &'static str,
    reason: String,
    /// `$24.00`, or `$24.00 → $20.40` when the offer applies; empty when not sold in the currency.
    price: String,
}

#[derive(Serialize)]
struct OfferView {
    headline: String,
    applies_to: String,
    min_order: Option<String>,
    code: Option<String>,
    expires_at: Option<String>,
    /// The last day, as the customer reads it.
    expires_on: Option<String>,
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
            offer: campaign.offer.as_ref().map(|o| {
                let discount = match &o.discount {
                    Discount::PercentOff(p) => format!("{}% off", p.normalize()),
                    Discount::AmountOff(amount) => format!("{} off", describe_amount(amount)),
                };
                let code = match &o.code {
                    CodeSpec::None => "no code".to_string(),
                    CodeSpec::Fixed(code) => format!("code {code}"),
                    CodeSpec::Unique => "a unique code per recipient".to_string(),
                };
                let expiry = o
                    .expires_in
                    .map(|d| format!(", expires in {}", format_duration(d)))
                    .unwrap_or_default();
                let minimum = o
                    .min_order
                    .as_ref()
                    .map(|m| format!(" on orders from {}", describe_amount(m)))
                    .unwrap_or_default();
                format!(
                    "{discount} {}{minimum}, {code}{expiry}",
                    applies_to(&o.applies_to)
                )
            }),
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
            line(format!("    moment {}", describe_moment(&message.moment)));
            for list in &message.lists {
                if list.products.is_empty() {
                    line(format!("    {}: empty, block left out", list.name));
                    continue;
                }
                line(format!("    {}:", list.name));
                for p in &list.products {
                    line(format!(
                        "      {} {} — {} — {}: {}",
                        p.id, p.name, p.price, p.source, p.reason
                    ));
                }
            }
            if let Some(offer) = &message.offer {
                let mut text = format!("    offer {} {}", offer.headline, offer.applies_to);
                if let Some(min) = &offer.min_order {
                    text.push_str(&format!(" on orders from {min}"));
                }
                if let Some(code) = &offer.code {
                    text.push_str(&format!(" · code {code}"));
                }
                if let Some(day) = &offer.expires_on {
                    text.push_str(&format!(" · until {day}"));
                }
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

fn customer_view(store: &Store, customer: &Customer) -> CustomerView {
    CustomerView {
        id: customer.id.to_string(),
        first_name: customer.first_name.to_string(),
        email: customer.email.to_string(),
        locale: store.locales().name(customer.locale).to_string(),
        timezone: customer.timezone.name().to_string(),
        currency: customer.currency.to_string(),
    }
}

fn moment_view(store: &Store, occurrence: &Occurrence) -> MomentView {
    MomentView {
        key: occurrence.key.clone(),
        at: rfc3339(occurrence.at),
        products: occurrence
            .products
            .iter()
            .map(|p| store.product(*p).id.to_string())
            .collect(),
        category: occurrence
            .category
            .map(|c| store.categories().name(c).to_string()),
        order: occurrence.order.map(|o| store.order(o).id.to_string()),
        detail: occurrence.detail.clone(),
    }
}

fn describe_moment(moment: &MomentView) -> String {
    let mut text = format!("{} at {}", moment.key, moment.at);
    match &moment.detail {
        Detail::None => {}
        Detail::Views { count } => text.push_str(&format!(" · {count} views")),
        Detail::Metric {
            name,
            value,
            threshold,
        } => text.push_str(&format!(" · {name} {value} (threshold {threshold})")),
        Detail::Tier { tier } => text.push_str(&format!(" · now {tier}")),
        Detail::Inactive { days } => text.push_str(&format!(" · {days} days since the last order")),
    }
    if !moment.products.is_empty() {
        text.push_str(&format!(" · about {}", moment.products.join(", ")));
    }
    text
}

fn planned_view(store: &Store, message: &PlannedMessage) -> PlannedView {
    let customer = store.customer(message.occurrence.customer);
    let locale = store.locales().name(customer.locale);
    let offer = message.offer.as_ref();
    PlannedView {
        customer: customer_view(store, customer),
        moment: moment_view(store, &message.occurrence),
        lists: message
            .lists
            .iter()
            .map(|list| ListView {
                name: list.name.clone(),
                on_empty: list.on_empty,
                products: list
                    .items
                    .iter()
                    .map(|item| {
                        let product = store.product(item.product);
                        let price = price_view(product, customer.currency, offer, &list.name)
                            .map(|view| {
                                let original = money::format(view.original, view.currency, locale);
                                match view.discounted {
                                    Some(discounted) => format!(
                                        "{original} → {}",
                                        money::format(discounted, view.currency, locale)
                                    ),
                                    None => original,
                                }
                            })
                            .unwrap_or_default();
                        ProductView {
                            id: product.id.to_string(),
                            name: product.name.to_string(),
                            source: item.source.name(),
                            reason: item.reason.clone(),
                            price,
                        }
                    })
                    .collect(),
            })
            .collect(),
        offer: offer.map(|o| offer_view(o, customer, locale)),
    }
}

/// `$10.00 / €10.00 / £8.00`, or `10 (in each customer's currency)`.
fn describe_amount(amount: &crate::campaign::Amount) -> String {
    match amount {
        crate::campaign::Amount::Same(value) => {
            format!("{} (in each customer's currency)", value.normalize())
        }
        crate::campaign::Amount::PerCurrency(amounts) => amounts
            .iter()
            .map(|(code, value)| match crate::data::Currency::parse(code) {
                Some(currency) => money::format(*value, currency, "en"),
                None => format!("{value} {code}"),
            })
            .collect::<Vec<_>>()
            .join(" / "),
    }
}

fn applies_to(applies: &AppliesTo) -> String {
    match applies {
        AppliesTo::All => "on everything".to_string(),
        AppliesTo::List(list) => format!("on {list}"),
    }
}

fn offer_view(offer: &PricedOffer, customer: &Customer, locale: &str) -> OfferView {
    OfferView {
        headline: offer.headline(locale),
        applies_to: applies_to(&offer.applies_to),
        min_order: offer
            .min_order
            .map(|m| money::format(m, offer.currency, locale)),
        code: offer.code.clone(),
        expires_at: offer.expires_at.map(rfc3339),
        expires_on: offer.expiry_date(customer.timezone, locale),
    }
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

fn describe_reason(campaign: &Campaign, reason: &SkipReason) -> String {
    use crate::config::OnCap;
    match reason {
        SkipReason::NotInAudience { miss } => miss.to_string(),
        SkipReason::Suppressed { suppression } => format!(
            "suppressed: {} since {}",
            suppression.reason.name(),
            rfc3339(suppression.since)
        ),
        SkipReason::HeldOut => format!(
            "held out (control group of {}%)",
            rust_decimal::Decimal::new(campaign.holdout_basis_points.into(), 2).normalize()
        ),
        SkipReason::AlreadyHandled { handled } => format!(
            "already {} for this moment at {}",
            handled.outcome.name(),
            rfc3339(handled.at)
        ),
        SkipReason::Capped {
            cap,
            allowed_at,
            on_cap,
        } => match (on_cap, allowed_at) {
            (OnCap::Defer, Some(at)) => format!("{cap}: deferred until {}", rfc3339(*at)),
            (OnCap::Skip, Some(at)) => {
                format!("{cap}: skipped (next allowed {})", rfc3339(*at))
            }
            (_, None) => format!("{cap}: never allowed"),
        },
        SkipReason::EmptyList { list } => {
            format!("list {list} is empty (on_empty: skip_recipient)")
        }
        SkipReason::Offer { problem } => problem.to_string(),
    }
}

fn describe_trigger(campaign: &Campaign) -> String {
    let d = |delta: &chrono::TimeDelta| format_duration(*delta);
    let only = |categories: &[String]| {
        if categories.is_empty() {
            String::new()
        } else {
            format!(" in {}", categories.join(", "))
        }
    };
    let holdout = if campaign.holdout_basis_points > 0 {
        format!(
            " · holdout {}%",
            rust_decimal::Decimal::new(campaign.holdout_basis_points.into(), 2).normalize()
        )
    } else {
        String::new()
    };
    let trigger = match &campaign.trigger {
        None => match &campaign.schedule {
            Some(schedule) => format!(
                "none: a newsletter to the audience, one per run of \"{}\" ({})",
                schedule.text,
                schedule.timezone.name()
            ),
            None => "none: a one-off newsletter to the audience".to_string(),
        },
        Some(trigger) => match trigger {
            Trigger::PostPurchase {
                within,
                delay,
                categories,
            } => format!(
                "post_purchase{}: from {} to {} after an order",
                only(categories),
                d(delay),
                d(within)
            ),
            Trigger::Browse {
                min_views,
                per,
                within,
                categories,
            } => format!(
                "browse{}: {min_views}+ views of a {} within {}, no order since",
                only(categories),
                match per {
                    crate::campaign::BrowsePer::Category => "category",
                    crate::campaign::BrowsePer::Product => "product",
                },
                d(within)
            ),
            Trigger::CartAbandoned { delay, within } => format!(
                "cart_abandoned: from {} to {} after a cart with no order since",
                d(delay),
                d(within)
            ),
            Trigger::SupportResolved { within, categories } => format!(
                "support_resolved{}: within {} of a resolved ticket",
                only(categories),
                d(within)
            ),
            Trigger::UsageMilestone {
                metric,
                threshold,
                period,
                within,
            } => format!(
                "usage_milestone: {metric} reaches {threshold} in a {} (customer's time zone), within {}",
                match period {
                    crate::campaign::Period::Day => "day",
                    crate::campaign::Period::Month => "month",
                    crate::campaign::Period::Total => "lifetime",
                },
                d(within)
            ),
            Trigger::TierReached { tiers, within } => format!(
                "tier_reached{}: within {} of the change",
                if tiers.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", tiers.join(", "))
                },
                d(within)
            ),
            Trigger::Inactive { after, within } => format!(
                "inactive: no order for {}, for {} after that",
                d(after),
                d(within)
            ),
            Trigger::SecondVisit { within } => {
                format!("second_visit: within {} of the second visit", d(within))
            }
            Trigger::NewArrival { within, categories } => format!(
                "new_arrival{}: launched within {} in a category the customer engaged with",
                only(categories),
                d(within)
            ),
            Trigger::GiftPurchase { within } => {
                format!("gift_purchase: within {} of a gift order", d(within))
            }
            Trigger::DateWindow { from, to } => format!(
                "date_window: {:02}-{:02} to {:02}-{:02} in each customer's calendar",
                from.0, from.1, to.0, to.1
            ),
        },
    };
    format!("{trigger}{holdout}")
}
