//! Raw campaign → checked [`Campaign`], reporting every problem with its
//! line and column: bad durations, cron lines and percentages, keys that do
//! not apply to a trigger kind or list source, and references to categories,
//! manufacturers, products, tiers, tags, locales, metrics and templates that
//! do not exist.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::TimeDelta;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde_saphyr::Spanned;

use super::checked::*;
use super::raw::*;
use crate::data::Store;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::units;

/// What a campaign is checked against.
pub struct CheckContext<'a> {
    /// `None` when the data failed to load: references to it are then not checked.
    pub store: Option<&'a Store>,
    pub templates_dir: &'a Path,
    pub shop_timezone: Tz,
}

/// Checks a parsed campaign; `display` is the path shown in messages.
pub fn check_campaign(
    raw: RawCampaign,
    display: &Path,
    text: &Arc<str>,
    context: &CheckContext<'_>,
) -> Result<Campaign, Diagnostics> {
    let mut checker = Checker {
        display,
        text,
        context,
        problems: Diagnostics::default(),
    };
    let campaign = checker.campaign(raw);
    checker.problems.0.sort_by_key(|p| (p.line, p.column));
    checker.problems.into_result(campaign)
}

/// Checks the smart lists of a file that is not a campaign (a placement):
/// the same syntax and the same messages; `trigger` is the kind of moment
/// whose products seed the lists (`seed: trigger`), if any.
pub fn check_lists(
    lists: &indexmap::IndexMap<String, RawList>,
    trigger: Option<TriggerKind>,
    display: &Path,
    text: &Arc<str>,
    context: &CheckContext<'_>,
) -> Result<Vec<ListSpec>, Diagnostics> {
    let mut checker = Checker {
        display,
        text,
        context,
        problems: Diagnostics::default(),
    };
    let specs = lists
        .iter()
        .map(|(name, list)| checker.list(name, list, trigger))
        .collect();
    checker.problems.0.sort_by_key(|p| (p.line, p.column));
    checker.problems.into_result(specs)
}

struct Checker<'a> {
    display: &'a Path,
    text: &'a str,
    context: &'a CheckContext<'a>,
    problems: Diagnostics,
}

fn at<T>(spanned: &Spanned<T>) -> (usize, usize) {
    (
        spanned.referenced.line() as usize,
        spanned.referenced.column() as usize,
    )
}

impl Checker<'_> {
    fn problem<T>(&mut self, spanned: &Spanned<T>, message: impl Into<String>) {
        let (line, column) = at(spanned);
        self.problems.push(Diagnostic::at(
            self.display,
            self.text,
            line,
            column,
            message,
        ));
    }

    fn problem_at(&mut self, (line, column): (usize, usize), message: impl Into<String>) {
        self.problems.push(Diagnostic::at(
            self.display,
            self.text,
            line,
            column,
            message,
        ));
    }

    fn duration(&mut self, value: &Option<Spanned<String>>, default: TimeDelta) -> TimeDelta {
        match value {
            None => default,
            Some(text) => match units::parse_duration(&text.value) {
                Ok(duration) if duration > TimeDelta::zero() => duration,
                Ok(_) => {
                    self.problem(text, "duration must be longer than zero");
                    default
                }
                Err(message) => {
                    self.problem(text, message);
                    default
                }
            },
        }
    }

    fn campaign(&mut self, raw: RawCampaign) -> Campaign {
        let id = raw.id.value.clone();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            self.problem(&raw.id, format!("invalid campaign id `{id}`: use lowercase letters, digits, `-` and `_` (it names ledger rows and outbox folders)"));
        }
        self.template_exists(&raw.template);
        let mut components = BTreeMap::new();
        for (name, file) in &raw.components {
            self.template_exists(file);
            components.insert(name.clone(), file.value.clone());
        }
        let audience = self.audience(&raw.audience);
        let trigger = raw.trigger.as_ref().map(|t| self.trigger(t));
        let schedule = self.schedule(&raw);
        let trigger_kind = trigger.as_ref().map(Trigger::kind);
        let lists: Vec<ListSpec> = raw
            .lists
            .iter()
            .map(|(name, list)| self.list(name, list, trigger_kind))
            .collect();
        let offer = raw.offer.as_ref().map(|o| self.offer(o, &lists));
        let caps = self.caps(raw.caps.as_ref());
        let holdout_basis_points = match &raw.holdout {
            None => 0,
            Some(text) => units::parse_percent(&text.value).unwrap_or_else(|message| {
                self.problem(text, message);
                0
            }),
        };
        let attribution_window = self.duration(&raw.attribution_window, TimeDelta::days(7));
        let mut campaign = Campaign {
            name: raw.name.clone().unwrap_or_else(|| id.clone()),
            id,
            enabled: raw.enabled.unwrap_or(true),
            file: CampaignFile {
                path: self.display.to_path_buf(),
                text: Arc::from(self.text),
                subject_at: at(&raw.subject),
                preheader_at: raw.preheader.as_ref().map_or((0, 0), at),
                template_at: at(&raw.template),
            },
            template: raw.template.value,
            subject: raw.subject.value,
            preheader: raw.preheader.map(|p| p.value),
            audience,
            trigger,
            schedule,
            lists,
            offer,
            caps,
            holdout_basis_points,
            utm: raw.utm,
            components,
            attribution_window,
            variant: None,
            variants: Vec::new(),
        };
        campaign.variants = raw
            .variants
            .iter()
            .map(|variant| self.variant(&campaign, variant, trigger_kind))
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for variant in &raw.variants {
            if !seen.insert(&variant.id.value) {
                self.problem(
                    &variant.id,
                    format!("variant `{}` is defined twice", variant.id.value),
                );
            }
        }
        if raw.variants.len() == 1 {
            self.problem(
                &raw.variants[0].id,
                "an A/B test needs at least two variants (one may change nothing)",
            );
        }
        campaign
    }

    /// A variant: the campaign with the variant's changes applied.
    fn variant(
        &mut self,
        base: &Campaign,
        variant: &RawVariant,
        trigger_kind: Option<TriggerKind>,
    ) -> Variant {
        let id = variant.id.value.clone();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            self.problem(&variant.id, format!("invalid variant id `{id}`: use lowercase letters, digits, `-` and `_` (it is recorded in the ledger)"));
        }
        let weight = match &variant.weight {
            None => 1,
            Some(weight) if weight.value == 0 || weight.value > 10_000 => {
                self.problem(
                    weight,
                    "a variant's weight is a whole number from 1 to 10000",
                );
                1
            }
            Some(weight) => weight.value,
        };
        let mut campaign = base.clone();
        campaign.variant = Some(id.clone());
        if let Some(template) = &variant.template {
            self.template_exists(template);
            campaign.template = template.value.clone();
            campaign.file.template_at = at(template);
        }
        if let Some(subject) = &variant.subject {
            campaign.subject = subject.value.clone();
            campaign.file.subject_at = at(subject);
        }
        if let Some(preheader) = &variant.preheader {
            campaign.preheader = Some(preheader.value.clone());
            campaign.file.preheader_at = at(preheader);
        }
        for (name, list) in &variant.lists {
            match campaign.lists.iter().position(|l| &l.name == name) {
                Some(position) => campaign.lists[position] = self.list(name, list, trigger_kind),
                None => self.problems.push(Diagnostic::file(
                    self.display,
                    format!(
                        "variant `{id}`: no list `{name}` in the campaign to replace (lists: {})",
                        base.lists
                            .iter()
                            .map(|l| l.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
        if let Some(offer) = &variant.offer {
            campaign.offer = Some(self.offer(offer, &campaign.lists.clone()));
        }
        Variant {
            id,
            weight,
            campaign,
        }
    }

    fn template_exists(&mut self, file: &Spanned<String>) {
        let name = &file.value;
        let path = self.context.templates_dir.join(name);
        if name.contains("..") || Path::new(name).is_absolute() {
            self.problem(
                file,
                format!("template `{name}` must be a file inside the templates folder"),
            );
        } else if !path.is_file() {
            let known = list_templates(self.context.templates_dir);
            self.problem(
                file,
                format!(
                    "template `{name}` not found in {}/ (templates: {})",
                    self.context
                        .templates_dir
                        .file_name()
                        .map_or("templates".into(), |n| n.to_string_lossy()),
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ),
            );
        }
    }

    // ----- audience

    fn audience(&mut self, raw: &RawAudience) -> Audience {
        let store = self.context.store;
        let tiers = self.names(&raw.tiers, "tier", store.map(|s| s.tiers()));
        let exclude_tiers = self.names(&raw.exclude_tiers, "tier", store.map(|s| s.tiers()));
        let tags = self.names(&raw.tags, "tag", store.map(|s| s.tags()));
        let exclude_tags = self.names(&raw.exclude_tags, "tag", store.map(|s| s.tags()));
        let locales = self.names(&raw.locales, "locale", store.map(|s| s.locales()));
        if let (Some(min), Some(max)) = (raw.min_orders, raw.max_orders)
            && min > max
        {
            self.problems.push(Diagnostic::file(
                self.display,
                format!("audience: min_orders ({min}) is more than max_orders ({max})"),
            ));
        }
        Audience {
            tiers,
            exclude_tiers,
            tags,
            exclude_tags,
            locales,
            min_orders: raw.min_orders,
            max_orders: raw.max_orders,
            ordered_within: raw
                .ordered_within
                .as_ref()
                .map(|d| self.duration(&Some(d.clone()), TimeDelta::zero())),
            not_ordered_within: raw
                .not_ordered_within
                .as_ref()
                .map(|d| self.duration(&Some(d.clone()), TimeDelta::zero())),
        }
    }

    /// Names that must exist in one of the store's name tables (when the data loaded).
    fn names(
        &mut self,
        values: &[Spanned<String>],
        what: &str,
        known: Option<&crate::data::Names>,
    ) -> Vec<String> {
        for value in values {
            if let Some(known) = known
                && known.get(&value.value).is_none()
            {
                self.problem(
                    value,
                    format!(
                        "unknown {what} `{}`{}",
                        value.value,
                        suggestions(&value.value, known.iter().map(|(_, n)| n))
                    ),
                );
            }
        }
        values.iter().map(|v| v.value.clone()).collect()
    }

    // ----- trigger

    fn trigger(&mut self, raw: &RawTrigger) -> Trigger {
        let kind = raw.kind.value;
        let allowed: &[&str] = match kind {
            TriggerKind::PostPurchase => &["within", "delay", "categories"],
            TriggerKind::Browse => &["within", "min_views", "per", "categories"],
            TriggerKind::CartAbandoned => &["within", "delay"],
            TriggerKind::SupportResolved => &["within", "categories"],
            TriggerKind::UsageMilestone => &["within", "metric", "threshold", "period"],
            TriggerKind::TierReached => &["within", "tiers"],
            TriggerKind::Inactive => &["within", "after"],
            TriggerKind::SecondVisit => &["within"],
            TriggerKind::NewArrival => &["within", "categories"],
            TriggerKind::GiftPurchase => &["within"],
            TriggerKind::DateWindow => &["from", "to"],
        };
        let given: [(&str, bool); 11] = [
            ("within", raw.within.is_some()),
            ("delay", raw.delay.is_some()),
            ("min_views", raw.min_views.is_some()),
            ("per", raw.per.is_some()),
            ("metric", raw.metric.is_some()),
            ("threshold", raw.threshold.is_some()),
            ("period", raw.period.is_some()),
            ("tiers", !raw.tiers.is_empty()),
            ("after", raw.after.is_some()),
            ("from", raw.from.is_some()),
            ("to", raw.to.is_some()),
        ];
        for (key, present) in given {
            if present && !allowed.contains(&key) {
                self.problem(
                    &raw.kind,
                    format!(
                        "`{key}` does not apply to a `{}` trigger (it takes: {})",
                        kind.name(),
                        allowed.join(", ")
                    ),
                );
            }
        }
        if !raw.categories.is_empty() && !allowed.contains(&"categories") {
            self.problem(
                &raw.kind,
                format!(
                    "`categories` does not apply to a `{}` trigger (it takes: {})",
                    kind.name(),
                    allowed.join(", ")
                ),
            );
        }
        let categories = self.names(
            &raw.categories,
            "category",
            self.context.store.map(|s| s.categories()),
        );
        let within = |checker: &mut Self, default_hours: i64| {
            checker.duration(&raw.within, TimeDelta::hours(default_hours))
        };
        match kind {
            TriggerKind::PostPurchase => Trigger::PostPurchase {
                within: within(self, 48),
                delay: match &raw.delay {
                    None => TimeDelta::zero(),
                    Some(_) => self.duration(&raw.delay, TimeDelta::zero()),
                },
                categories,
            },
            TriggerKind::Browse => Trigger::Browse {
                min_views: raw.min_views.unwrap_or(3).max(1),
                per: raw.per.unwrap_or(BrowsePer::Category),
                within: within(self, 72),
                categories,
            },
            TriggerKind::CartAbandoned => {
                let delay = self.duration(&raw.delay, TimeDelta::hours(1));
                let within = within(self, 24);
                if within <= delay {
                    self.problem(
                        &raw.kind,
                        "cart_abandoned: `within` must be longer than `delay`",
                    );
                }
                Trigger::CartAbandoned { delay, within }
            }
            TriggerKind::SupportResolved => Trigger::SupportResolved {
                within: within(self, 48),
                categories,
            },
            TriggerKind::UsageMilestone => {
                let metric = match &raw.metric {
                    Some(metric) => {
                        if let Some(store) = self.context.store
                            && store.metrics().get(&metric.value).is_none()
                        {
                            let known: Vec<&str> = usage_metrics(store);
                            self.problem(
                                metric,
                                format!(
                                    "unknown usage metric `{}`{}",
                                    metric.value,
                                    suggestions(&metric.value, known.into_iter())
                                ),
                            );
                        }
                        metric.value.clone()
                    }
                    None => {
                        self.problem(
                            &raw.kind,
                            "a usage_milestone trigger needs `metric` (e.g. `workouts`)",
                        );
                        String::new()
                    }
                };
                let threshold = raw.threshold.unwrap_or_else(|| {
                    self.problem(
                        &raw.kind,
                        "a usage_milestone trigger needs `threshold` (e.g. `20`)",
                    );
                    0.0
                });
                Trigger::UsageMilestone {
                    metric,
                    threshold,
                    period: raw.period.unwrap_or(Period::Month),
                    within: within(self, 48),
                }
            }
            TriggerKind::TierReached => Trigger::TierReached {
                tiers: self.names(&raw.tiers, "tier", self.context.store.map(|s| s.tiers())),
                within: within(self, 24 * 7),
            },
            TriggerKind::Inactive => {
                if raw.after.is_none() {
                    self.problem(&raw.kind, "an inactive trigger needs `after` (e.g. `90d`)");
                }
                Trigger::Inactive {
                    after: self.duration(&raw.after, TimeDelta::days(90)),
                    within: within(self, 24 * 7),
                }
            }
            TriggerKind::SecondVisit => Trigger::SecondVisit {
                within: within(self, 48),
            },
            TriggerKind::NewArrival => Trigger::NewArrival {
                within: within(self, 24 * 7),
                categories,
            },
            TriggerKind::GiftPurchase => Trigger::GiftPurchase {
                within: within(self, 48),
            },
            TriggerKind::DateWindow => {
                let mut day = |value: &Option<Spanned<String>>, key: &str| match value {
                    Some(text) => units::parse_month_day(&text.value).unwrap_or_else(|message| {
                        self.problem(text, message);
                        (1, 1)
                    }),
                    None => {
                        self.problem(
                            &raw.kind,
                            format!("a date_window trigger needs `{key}` (`MM-DD`)"),
                        );
                        (1, 1)
                    }
                };
                Trigger::DateWindow {
                    from: day(&raw.from, "from"),
                    to: day(&raw.to, "to"),
                }
            }
        }
    }

    // ----- schedule

    fn schedule(&mut self, raw: &RawCampaign) -> Option<Schedule> {
        let Some(text) = &raw.schedule else {
            for (key, present) in [
                ("timezone", raw.timezone.is_some()),
                ("catch_up", raw.catch_up.is_some()),
                ("max_lateness", raw.max_lateness.is_some()),
            ] {
                if present {
                    self.problem(&raw.id, format!("`{key}` needs a `schedule`"));
                }
            }
            return None;
        };
        let cron = match croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .build()
            .parse(&text.value)
        {
            Ok(cron) if !fires(&cron) => {
                self.problem(text, format!("the cron line `{}` never fires (no such date in any year: check the day of the month against the month)", text.value));
                None
            }
            Ok(cron) => Some(cron),
            Err(error) => {
                self.problem(text, format!("invalid cron line `{}`: {error} (expected 5 fields: minute hour day-of-month month day-of-week, like `*/30 * * * *`)", text.value));
                None
            }
        };
        let timezone = match &raw.timezone {
            None => self.context.shop_timezone,
            Some(name) => name.value.parse().unwrap_or_else(|_| {
                self.problem(
                    name,
                    format!(
                        "unknown time zone `{}` (expected an IANA name like `Europe/Paris`)",
                        name.value
                    ),
                );
                self.context.shop_timezone
            }),
        };
        let max_lateness = raw
            .max_lateness
            .as_ref()
            .map(|d| self.duration(&Some(d.clone()), TimeDelta::zero()));
        cron.map(|cron| Schedule {
            text: text.value.clone(),
            cron,
            timezone,
            catch_up: raw.catch_up.as_ref().map_or(CatchUp::Latest, |c| c.value),
            max_lateness,
        })
    }

    // ----- lists

    fn list(&mut self, name: &str, raw: &RawList, trigger: Option<TriggerKind>) -> ListSpec {
        let limit = raw.limit.unwrap_or(3);
        if limit == 0 || limit > 50 {
            self.problem(
                &raw.source,
                format!("list `{name}`: `limit` must be from 1 to 50, not {limit}"),
            );
        }
        let filters = self.filters(&raw.filters, raw.source.value, None, &raw.source);
        let primary = Pick {
            source: self.source(
                name,
                raw.source.value,
                &raw.source,
                &raw.scope,
                &raw.seed,
                &raw.window,
                &raw.since,
                &raw.ids,
                trigger,
            ),
            filters: filters.clone(),
        };
        let fallback = raw
            .fallback
            .iter()
            .map(|f| Pick {
                source: self.source(
                    name,
                    f.source.value,
                    &f.source,
                    &f.scope,
                    &f.seed,
                    &f.window,
                    &f.since,
                    &f.ids,
                    trigger,
                ),
                filters: match &f.filters {
                    Some(own) => self.filters(own, f.source.value, Some(&filters), &f.source),
                    None => Filters {
                        // Reminders are about owned products; others inherit the list's guards.
                        exclude_purchased: if f.source.value == SourceKind::OrderReminders {
                            ExcludePurchased::Never
                        } else {
                            filters.exclude_purchased
                        },
                        ..filters.clone()
                    },
                },
            })
            .collect();
        ListSpec {
            name: name.to_string(),
            limit: limit.clamp(1, 50) as usize,
            primary,
            fallback,
            on_empty: raw.on_empty.unwrap_or(OnEmpty::SkipRecipient),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn source(
        &mut self,
        list: &str,
        kind: SourceKind,
        kind_at: &Spanned<SourceKind>,
        scope: &Option<Spanned<RawScope>>,
        seed: &Option<Spanned<SeedKind>>,
        window: &Option<Spanned<String>>,
        since: &Option<Spanned<String>>,
        ids: &[Spanned<String>],
        trigger: Option<TriggerKind>,
    ) -> Source {
        let takes: &[&str] = match kind {
            SourceKind::Bestsellers => &["scope", "window"],
            SourceKind::NewArrivals => &["scope", "since", "window"],
            SourceKind::OrderReminders => &[],
            SourceKind::CrossSell | SourceKind::Upgrade | SourceKind::Ecosystem => {
                &["seed", "window"]
            }
            SourceKind::SimilarCustomers => &["window"],
            SourceKind::NextPurchase | SourceKind::Auto => &[],
            SourceKind::Manual => &["ids"],
        };
        for (key, present) in [
            ("scope", scope.is_some()),
            ("seed", seed.is_some()),
            ("window", window.is_some()),
            ("since", since.is_some()),
            ("ids", !ids.is_empty()),
        ] {
            if present && !takes.contains(&key) {
                self.problem(
                    kind_at,
                    format!(
                        "list `{list}`: `{key}` does not apply to source `{}`{}",
                        kind.name(),
                        if takes.is_empty() {
                            String::new()
                        } else {
                            format!(" (it takes: {})", takes.join(", "))
                        }
                    ),
                );
            }
        }
        let seed_value = |checker: &mut Self| -> Seed {
            let lookback = checker.duration(window, TimeDelta::days(30));
            match seed {
                None => {
                    if trigger.is_some_and(TriggerKind::has_products) {
                        Seed::Trigger
                    } else {
                        Seed::RecentPurchases {
                            window: checker.duration(window, TimeDelta::days(90)),
                        }
                    }
                }
                Some(s) => match s.value {
                    SeedKind::Trigger => {
                        checker.require_trigger_products(trigger, list, "`seed: trigger`", at(s));
                        Seed::Trigger
                    }
                    SeedKind::RecentPurchases => Seed::RecentPurchases {
                        window: checker.duration(window, TimeDelta::days(90)),
                    },
                    SeedKind::RecentViews => Seed::RecentViews { window: lookback },
                },
            }
        };
        match kind {
            SourceKind::Bestsellers => Source::Bestsellers {
                scope: self.scope(list, scope, trigger),
                window: self.duration(window, TimeDelta::days(90)),
            },
            SourceKind::NewArrivals => Source::NewArrivals {
                scope: self.scope(list, scope, trigger),
                since: self.duration(since, TimeDelta::days(30)),
            },
            SourceKind::OrderReminders => Source::OrderReminders,
            SourceKind::CrossSell => Source::CrossSell {
                seed: seed_value(self),
            },
            SourceKind::SimilarCustomers => Source::SimilarCustomers,
            SourceKind::NextPurchase => Source::NextPurchase,
            SourceKind::Auto => Source::Auto,
            SourceKind::Upgrade => Source::Upgrade {
                seed: seed_value(self),
            },
            SourceKind::Ecosystem => Source::Ecosystem {
                seed: seed_value(self),
            },
            SourceKind::Manual => {
                if ids.is_empty() {
                    self.problem(kind_at, format!("list `{list}`: a manual list needs `ids`"));
                }
                for id in ids {
                    if let Some(store) = self.context.store
                        && store.product_ix(&id.value).is_none()
                    {
                        self.problem(
                            id,
                            format!("unknown product `{}` (not in the catalog)", id.value),
                        );
                    }
                }
                Source::Manual {
                    ids: ids.iter().map(|i| i.value.clone()).collect(),
                }
            }
        }
    }

    /// Seeding from or scoping to the moment's products needs a moment that has some.
    fn require_trigger_products(
        &mut self,
        trigger: Option<TriggerKind>,
        list: &str,
        what: &str,
        position: (usize, usize),
    ) {
        if !trigger.is_some_and(TriggerKind::has_products) {
            self.problem_at(
                position,
                format!(
                    "list `{list}`: {what} needs a trigger with products (post_purchase, browse, cart_abandoned, support_resolved, new_arrival, gift_purchase); this campaign's trigger is {}",
                    trigger.map_or("absent".to_string(), |t| format!("`{}`", t.name()))
                ),
            );
        }
    }

    fn scope(
        &mut self,
        list: &str,
        scope: &Option<Spanned<RawScope>>,
        trigger: Option<TriggerKind>,
    ) -> Scope {
        let Some(spanned) = scope else {
            return Scope::Catalog;
        };
        let position = at(spanned);
        match &spanned.value {
            RawScope::Named(ScopeName::Catalog) => Scope::Catalog,
            RawScope::Named(ScopeName::MostRepresentedCategory) => Scope::MostRepresentedCategory,
            RawScope::Named(ScopeName::VisitedCategory) => Scope::VisitedCategory {
                window: TimeDelta::days(30),
            },
            RawScope::Named(ScopeName::LastViewedCategory) => Scope::LastViewedCategory,
            RawScope::Named(ScopeName::TriggerCategory) => {
                self.require_trigger_products(trigger, list, "scope `trigger_category`", position);
                Scope::TriggerCategory
            }
            RawScope::Named(ScopeName::VisitedManufacturer) => Scope::VisitedManufacturer {
                window: TimeDelta::days(30),
            },
            RawScope::Categories { categories } => {
                if let Some(store) = self.context.store {
                    for category in categories {
                        if store.categories().get(category).is_none() {
                            self.problem_at(
                                position,
                                format!(
                                    "unknown category `{category}`{}",
                                    suggestions(
                                        category,
                                        store.categories().iter().map(|(_, n)| n)
                                    )
                                ),
                            );
                        }
                    }
                }
                Scope::Categories {
                    categories: categories.clone(),
                }
            }
            RawScope::Manufacturers { manufacturers } => {
                if let Some(store) = self.context.store {
                    for manufacturer in manufacturers {
                        if store.manufacturers().get(manufacturer).is_none() {
                            self.problem_at(
                                position,
                                format!(
                                    "unknown manufacturer `{manufacturer}`{}",
                                    suggestions(
                                        manufacturer,
                                        store.manufacturers().iter().map(|(_, n)| n)
                                    )
                                ),
                            );
                        }
                    }
                }
                Scope::Manufacturers {
                    manufacturers: manufacturers.clone(),
                }
            }
        }
    }

    fn filters(
        &mut self,
        raw: &RawFilters,
        source: SourceKind,
        inherited: Option<&Filters>,
        source_at: &Spanned<SourceKind>,
    ) -> Filters {
        let default_exclusion = if source == SourceKind::OrderReminders {
            ExcludePurchased::Never
        } else {
            ExcludePurchased::Ever
        };
        let exclude_purchased = match &raw.exclude_purchased {
            None => inherited.map_or(default_exclusion, |f| f.exclude_purchased),
            Some(value) => match &value.value {
                BoolOrText::Bool(true) => ExcludePurchased::Ever,
                BoolOrText::Bool(false) => ExcludePurchased::Never,
                BoolOrText::Text(text) => match units::parse_duration(text) {
                    Ok(window) => ExcludePurchased::Within(window),
                    Err(message) => {
                        self.problem(
                            value,
                            format!("exclude_purchased: {message} (or true / false)"),
                        );
                        default_exclusion
                    }
                },
            },
        };
        if source == SourceKind::OrderReminders && exclude_purchased != ExcludePurchased::Never {
            self.problem(source_at, "order_reminders suggests products the customer bought: `exclude_purchased` cannot apply to it");
        }
        let min_rating = raw
            .min_rating
            .map(|r| r as f32)
            .or(inherited.and_then(|f| f.min_rating));
        if let Some(rating) = min_rating
            && !(0.0..=5.0).contains(&rating)
        {
            self.problem(
                source_at,
                format!("`min_rating` must be from 0 to 5, not {rating}"),
            );
        }
        let min_price_ratio = match raw.min_price_ratio {
            Some(ratio) if (0.0..=10.0).contains(&ratio) => {
                Decimal::from_f64_retain(ratio).map(|d| d.round_dp(4))
            }
            Some(ratio) => {
                self.problem(
                    source_at,
                    format!("`min_price_ratio` must be from 0 to 10, not {ratio}"),
                );
                None
            }
            None => inherited.and_then(|f| f.min_price_ratio),
        };
        Filters {
            in_stock: raw
                .in_stock
                .or(inherited.map(|f| f.in_stock))
                .unwrap_or(true),
            exclude_purchased,
            min_rating,
            min_price_ratio,
            max_per_category: raw
                .max_per_category
                .map(|m| m.max(1) as usize)
                .or(inherited.and_then(|f| f.max_per_category)),
        }
    }

    // ----- offer

    fn offer(&mut self, raw: &RawOffer, lists: &[ListSpec]) -> OfferSpec {
        let discount = match (&raw.percent_off, &raw.amount_off) {
            (Some(percent), None) => {
                if percent.value <= Decimal::ZERO || percent.value >= Decimal::ONE_HUNDRED {
                    self.problem(
                        percent,
                        format!(
                            "percent_off must be more than 0 and less than 100, not {}",
                            percent.value
                        ),
                    );
                }
                Discount::PercentOff(percent.value)
            }
            (None, Some(amount)) => Discount::AmountOff(self.amount(amount, "amount_off")),
            (Some(percent), Some(_)) => {
                self.problem(percent, "give `percent_off` or `amount_off`, not both");
                Discount::PercentOff(percent.value)
            }
            (None, None) => {
                self.problems.push(Diagnostic::file(
                    self.display,
                    "offer: give `percent_off` or `amount_off`",
                ));
                Discount::PercentOff(Decimal::ZERO)
            }
        };
        let applies_to = match &raw.applies_to {
            None => AppliesTo::All,
            Some(name) if name.value == "all" => AppliesTo::All,
            Some(name) => {
                if !lists.iter().any(|l| l.name == name.value) {
                    let names: Vec<&str> = lists.iter().map(|l| l.name.as_str()).collect();
                    self.problem(name, format!("offer applies to `{}`, which is not a list of this campaign (lists: {}; or `all`)", name.value, if names.is_empty() { "none".to_string() } else { names.join(", ") }));
                }
                AppliesTo::List(name.value.clone())
            }
        };
        let code = match &raw.code {
            None => CodeSpec::None,
            Some(code) if code.value == "unique" => CodeSpec::Unique,
            Some(code) => {
                if code.value.is_empty()
                    || code.value.len() > 32
                    || !code
                        .value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    self.problem(code, "a fixed offer code uses 1 to 32 letters, digits, `-` or `_` (or write `unique` for a code per recipient)");
                }
                CodeSpec::Fixed(code.value.clone())
            }
        };
        OfferSpec {
            discount,
            applies_to,
            min_order: raw.min_order.as_ref().map(|m| self.amount(m, "min_order")),
            code,
            expires_in: raw
                .expires_in
                .as_ref()
                .map(|d| self.duration(&Some(d.clone()), TimeDelta::days(7))),
        }
    }

    fn amount(&mut self, raw: &Spanned<RawAmount>, key: &str) -> Amount {
        match &raw.value {
            RawAmount::Same(amount) => {
                if *amount <= Decimal::ZERO {
                    self.problem(raw, format!("{key} must be more than 0"));
                }
                if *amount > crate::money::MAX_AMOUNT {
                    self.problem(
                        raw,
                        format!(
                            "{key} is larger than {} (the largest amount xsell accepts)",
                            crate::money::MAX_AMOUNT
                        ),
                    );
                }
                Amount::Same(*amount)
            }
            RawAmount::PerCurrency(amounts) => {
                for (code, amount) in amounts {
                    if !crate::config::is_currency_code(code) {
                        self.problem(
                            raw,
                            format!("{key}: `{code}` is not a currency code like USD"),
                        );
                    }
                    if *amount <= Decimal::ZERO {
                        self.problem(raw, format!("{key} must be more than 0"));
                    }
                    if *amount > crate::money::MAX_AMOUNT {
                        self.problem(
                            raw,
                            format!(
                                "{key} is larger than {} (the largest amount xsell accepts)",
                                crate::money::MAX_AMOUNT
                            ),
                        );
                    }
                }
                Amount::PerCurrency(amounts.clone())
            }
        }
    }

    fn caps(&mut self, raw: Option<&RawCaps>) -> CampaignCaps {
        let Some(raw) = raw else {
            return CampaignCaps::default();
        };
        CampaignCaps {
            per_customer: raw.per_customer.as_ref().and_then(|text| {
                match units::parse_rate(&text.value) {
                    Ok(rate) => Some(rate),
                    Err(message) => {
                        self.problem(text, message);
                        None
                    }
                }
            }),
            min_gap: raw
                .min_gap
                .as_ref()
                .map(|d| self.duration(&Some(d.clone()), TimeDelta::zero())),
            on_cap: raw.on_cap,
        }
    }
}

fn usage_metrics(store: &Store) -> Vec<&str> {
    let mut names: Vec<&str> = store
        .events()
        .iter()
        .filter(|e| e.kind == crate::data::EventKind::Usage)
        .filter_map(|e| e.metric())
        .map(|m| store.metric_name(m))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// `; did you mean `X`?` for the closest known name, or the list of names when short.
fn suggestions<'a>(wanted: &str, known: impl Iterator<Item = &'a str>) -> String {
    let mut known: Vec<&str> = known.collect();
    known.sort_unstable();
    let closest = known
        .iter()
        .map(|name| {
            (
                strsim_distance(&wanted.to_lowercase(), &name.to_lowercase()),
                *name,
            )
        })
        .min();
    match closest {
        Some((distance, name)) if distance <= 2.max(wanted.len() / 4) => {
            format!("; did you mean `{name}`?")
        }
        _ if known.is_empty() => String::new(),
        _ if known.len() <= 12 => format!(" (known: {})", known.join(", ")),
        _ => format!(
            " ({} known; run `xsell check --format json` to list them)",
            known.len()
        ),
    }
}

/// Levenshtein distance, for "did you mean".
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

fn list_templates(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "mjml"))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Whether a cron line fires at all: within eight years of 2024 (so a
/// 29 February counts), as `0 0 31 2 *` does not.
fn fires(cron: &croner::Cron) -> bool {
    use chrono::TimeZone;
    let start = chrono::Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    cron.find_next_occurrence(&start, false)
        .is_ok_and(|next| next < start + TimeDelta::days(8 * 366))
}
