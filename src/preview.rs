//! One message for one customer, for designers: `xsell preview` writes it to
//! files, `xsell serve` shows it in a browser. Both go through the send
//! path itself — the plan of the whole campaign (with the ledger's history),
//! then [`crate::send::campaign::message_input`] and [`Renderer::render`] —
//! so a preview is the message that would be sent; a preview that differed
//! would be a bug.
//!
//! A customer the plan leaves out (no consent, capped, held out…) can still
//! be previewed: their message is composed as the plan would have composed
//! it, and the preview says why it would not be sent.

use std::collections::HashMap;

use chrono::Datelike;
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use crate::campaign::Campaign;
use crate::config::Config;
use crate::data::{CustomerIx, Store};
use crate::error::Result;
use crate::ledger::Ledger;
use crate::plan::{CampaignPlan, PlanInputs, PlannedMessage, SkipReason, compose, plan_campaign};
use crate::recommend::Recommender;
use crate::render::{RenderError, RenderedMessage, Renderer};
use crate::send::campaign::message_input;
use crate::signing::SigningKey;

/// Which customer to preview: `--customer C00042`, `random`,
/// `first-eligible`, `tag:vip` (or a bare tag name that is not a customer id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Customer(String),
    /// A random customer the campaign would mail now.
    Random,
    /// The first customer (in the plan's order) the campaign would mail now.
    FirstEligible,
    /// The first customer with this tag the campaign would mail now (or,
    /// if none would be mailed, the first with a moment).
    Tag(String),
    /// The customer the campaign would mail after this one (wrapping around).
    NextAfter(String),
}

impl FromStr for Pick {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> std::result::Result<Pick, Self::Err> {
        Ok(match text {
            "random" => Pick::Random,
            "first-eligible" | "first_eligible" => Pick::FirstEligible,
            _ => match text.strip_prefix("tag:") {
                Some(tag) => Pick::Tag(tag.to_string()),
                None => Pick::Customer(text.to_string()),
            },
        })
    }
}

/// Why there is no preview.
#[derive(Debug, Clone, PartialEq)]
pub enum PreviewError {
    NoCustomer(String),
    /// Nobody (with this tag) would be mailed, and nobody has a moment.
    NobodyToPick(String),
    /// The message cannot be made for this customer (an empty list that
    /// skips the recipient, an offer impossible in their currency).
    NotComposed(SkipReason),
    /// The template failed for this message.
    Render(RenderError),
}

impl std::fmt::Display for PreviewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PreviewError::NoCustomer(id) => {
                write!(f, "no customer `{id}` (nor a tag of that name)")
            }
            PreviewError::NobodyToPick(what) => write!(f, "{what}"),
            PreviewError::NotComposed(reason) => {
                write!(f, "no message for this customer: {}", reason.summary())
            }
            PreviewError::Render(error) => write!(f, "{error}"),
        }
    }
}

impl From<PreviewError> for crate::error::Error {
    fn from(error: PreviewError) -> Self {
        match error {
            PreviewError::Render(error) => error.into(),
            other => crate::error::Error::Usage(other.to_string()),
        }
    }
}

/// The next time `campaign` would mail someone, from `now`: `now` itself
/// when a moment is open; a seasonal window's next opening; a newsletter's
/// next due time; for moments made by customers (orders, views, carts…),
/// just after the data's last events, the latest time they are open. None
/// when no such time is found.
pub fn next_moment(store: &Store, campaign: &Campaign, now: i64) -> Option<i64> {
    let due_from = |t: i64| -> i64 {
        let Some(schedule) = &campaign.schedule else {
            return t;
        };
        let local = crate::data::timestamp(t).with_timezone(&schedule.timezone);
        schedule
            .cron
            .find_next_occurrence(&local, true)
            .map_or(t, |next| next.timestamp())
    };
    let open_at = |t: i64| match &campaign.trigger {
        Some(trigger) => !crate::trigger::occurrences(store, trigger, t).is_empty(),
        None => true,
    };
    match &campaign.trigger {
        None => Some(due_from(now)),
        Some(crate::campaign::Trigger::DateWindow { from, to }) => {
            let today = crate::data::timestamp(now).date_naive();
            if crate::trigger::season::window_start_year(today, *from, *to).is_some() {
                return Some(due_from(now));
            }
            let this_year = chrono::NaiveDate::from_ymd_opt(today.year(), from.0, from.1)?;
            let opening = if this_year > today {
                this_year
            } else {
                chrono::NaiveDate::from_ymd_opt(today.year() + 1, from.0, from.1)?
            };
            // The first due time of the opening day (UTC) at which someone's
            // local date is inside; else midday UTC, inside for UTC-11 to UTC+11.
            let day_start = opening.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
            let midday = day_start + 12 * 3_600;
            let due = due_from(day_start);
            Some(if open_at(due) { due } else { midday })
        }
        Some(_) => {
            if open_at(now) {
                return Some(now);
            }
            let last = store.last_event_ts()?;
            [
                60,
                3_600,
                3 * 3_600,
                12 * 3_600,
                86_400,
                3 * 86_400,
                8 * 86_400,
                31 * 86_400,
            ]
            .into_iter()
            .map(|delta| last + delta)
            .find(|&t| open_at(t))
        }
    }
}

/// One previewed message.
#[derive(Debug, Clone)]
pub struct Preview {
    pub customer: CustomerIx,
    pub now: i64,
    /// `None` when the campaign would send this message now; otherwise why not.
    pub left_out: Option<SkipReason>,
    /// The customer has no open moment now: this one was made from their
    /// history so the message can be seen (never sent).
    pub sample_moment: bool,
    pub message: PlannedMessage,
    pub rendered: RenderedMessage,
}

/// A workspace ready for previews: templates compiled once, plans and
/// recommendation models computed once per (campaign, `now`) and kept.
pub struct Previewer {
    pub root: PathBuf,
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub campaigns: Vec<Campaign>,
    pub renderer: Renderer,
    pub key: SigningKey,
    recommenders: Kept<i64, Recommender>,
    plans: Kept<(String, i64), CampaignPlan>,
}

/// A few values kept by key, all forgotten when there are more than eight
/// (models and plans per `now`: a designer rarely tries more than a few).
/// Made outside the lock: two requests may make the same value once each.
struct Kept<K, V>(Mutex<HashMap<K, Arc<V>>>);

impl<K: Eq + std::hash::Hash, V> Kept<K, V> {
    const CAPACITY: usize = 8;

    fn new() -> Self {
        Kept(Mutex::new(HashMap::new()))
    }

    fn get_or_make<E>(
        &self,
        key: K,
        make: impl FnOnce() -> std::result::Result<V, E>,
    ) -> std::result::Result<Arc<V>, E> {
        if let Some(value) = self.0.lock().expect("cache lock").get(&key) {
            return Ok(value.clone());
        }
        let value = Arc::new(make()?);
        let mut kept = self.0.lock().expect("cache lock");
        if kept.len() >= Self::CAPACITY {
            kept.clear();
        }
        kept.insert(key, value.clone());
        Ok(value)
    }
}

impl Previewer {
    pub fn new(
        root: PathBuf,
        config: Arc<Config>,
        store: Arc<Store>,
        campaigns: Vec<Campaign>,
        renderer: Renderer,
    ) -> Previewer {
        let key = SigningKey::from_config(&config);
        Previewer {
            root,
            config,
            store,
            campaigns,
            renderer,
            key,
            recommenders: Kept::new(),
            plans: Kept::new(),
        }
    }

    /// The campaign with this id (or file name without extension).
    pub fn campaign(&self, id: &str) -> Option<&Campaign> {
        crate::campaign::find(&self.campaigns, id)
    }

    /// The recommendation models as a send at `now` builds them (learning only from before `now`).
    pub fn recommender(&self, now: i64) -> Arc<Recommender> {
        let Ok(model) = self.recommenders.get_or_make(now, || {
            Ok::<_, std::convert::Infallible>(Recommender::build_before(&self.store, now))
        });
        model
    }

    /// The campaign's plan at `now`, as `xsell plan` shows it (the ledger's
    /// history included; a newsletter planned for its latest scheduled run).
    pub fn plan(&self, campaign: &Campaign, now: i64) -> Result<Arc<CampaignPlan>> {
        self.plans.get_or_make((campaign.id.clone(), now), || {
            let history = Ledger::read_planning_history(&self.config, campaign, now)?;
            Ok(plan_campaign(
                &self.inputs(),
                campaign,
                now,
                crate::schedule::newsletter_due(campaign, now),
                &history,
                &*self.recommender(now),
            ))
        })
    }

    fn inputs(&self) -> PlanInputs<'_> {
        PlanInputs {
            store: &self.store,
            caps: &self.config.caps,
            signing_key: &self.key,
        }
    }

    /// The customer `pick` designates for `campaign` at `now`.
    pub fn pick(
        &self,
        campaign: &Campaign,
        pick: &Pick,
        now: i64,
    ) -> Result<std::result::Result<CustomerIx, PreviewError>> {
        let store = &*self.store;
        let plan = self.plan(campaign, now)?;
        let planned = || plan.planned.iter().map(|m| m.occurrence.customer);
        let nobody = || {
            PreviewError::NobodyToPick(format!(
                "`{}` has nobody in its audience at this time",
                campaign.id
            ))
        };
        Ok(match pick {
            Pick::Customer(id) => match store.customer_ix(id) {
                Some(ix) => Ok(ix),
                None if store.tags().get(id).is_some() => {
                    return self.pick(campaign, &Pick::Tag(id.clone()), now);
                }
                None => Err(PreviewError::NoCustomer(id.clone())),
            },
            // Nobody has a moment now (out of season…): a customer of the
            // audience, whose message is then shown with a sample moment.
            Pick::FirstEligible => planned()
                .next()
                .or_else(|| self.audience(campaign, now).first().copied())
                .ok_or_else(nobody),
            Pick::Random => {
                let random = std::hash::RandomState::new().hash_one(now);
                match random.checked_rem(plan.planned.len() as u64) {
                    Some(i) => Ok(plan.planned[i as usize].occurrence.customer),
                    None => {
                        let audience = self.audience(campaign, now);
                        random
                            .checked_rem(audience.len() as u64)
                            .map(|i| audience[i as usize])
                            .ok_or_else(nobody)
                    }
                }
            }
            Pick::NextAfter(id) => {
                let after = store.customer_ix(id);
                planned()
                    .find(|&c| after.is_none_or(|after| c > after))
                    .or_else(|| planned().next())
                    .ok_or_else(nobody)
            }
            Pick::Tag(tag) => {
                let has_tag = |c: &CustomerIx| {
                    let tags = &store.customer(*c).tags;
                    store.tags().get(tag).is_some_and(|t| tags.contains(&t))
                };
                let skipped = plan.skipped.iter().map(|s| s.occurrence.customer);
                planned()
                    .find(has_tag)
                    .or_else(|| skipped.clone().find(has_tag))
                    .ok_or_else(|| {
                        PreviewError::NobodyToPick(format!(
                            "no customer tagged `{tag}` has a moment of `{}` at this time",
                            campaign.id
                        ))
                    })
            }
        })
    }

    /// Customers the campaign's audience takes at `now` (consent included),
    /// at most a thousand: whom to show when nobody has a moment.
    fn audience(&self, campaign: &Campaign, now: i64) -> Vec<CustomerIx> {
        (0..self.store.customers().len() as CustomerIx)
            .filter(|&c| crate::audience::check(&self.store, &campaign.audience, c, now).is_ok())
            .take(1000)
            .collect()
    }

    /// The message `campaign` would send `customer` at `now` — or, for a
    /// customer the plan leaves out, the message they would get, with why not.
    pub fn preview(
        &self,
        campaign: &Campaign,
        customer: CustomerIx,
        now: i64,
    ) -> Result<std::result::Result<Preview, PreviewError>> {
        self.preview_variant(campaign, customer, now, None)
    }

    /// [`Previewer::preview`] showing one A/B variant (None: the customer's own).
    pub fn preview_variant(
        &self,
        campaign: &Campaign,
        customer: CustomerIx,
        now: i64,
        variant: Option<&str>,
    ) -> Result<std::result::Result<Preview, PreviewError>> {
        let plan = self.plan(campaign, now)?;
        // Plans are in customer order: find the customer's last moment by bisection.
        let planned = of_customer(&plan.planned, customer, |m| m.occurrence.customer).last();
        let (message, left_out) = match planned {
            Some(message) => (message.clone(), None),
            None => {
                let Some(skipped) =
                    of_customer(&plan.skipped, customer, |s| s.occurrence.customer).last()
                else {
                    return self.preview_sample_moment(campaign, customer, now, variant);
                };
                let recommender = self.recommender(now);
                match compose(
                    &self.inputs(),
                    campaign,
                    skipped.occurrence.clone(),
                    now,
                    &*recommender,
                ) {
                    Ok(message) => (message, Some(skipped.reason.clone())),
                    Err(skipped) => return Ok(Err(PreviewError::NotComposed(skipped.reason))),
                }
            }
        };
        // Another variant than the customer's: the same moment, composed
        // with that variant's lists and offer.
        let message = match variant {
            Some(name) if message.variant.as_deref() != Some(name) => {
                let recommender = self.recommender(now);
                match compose(
                    &self.inputs(),
                    campaign.variant_named(Some(name)),
                    message.occurrence.clone(),
                    now,
                    &*recommender,
                ) {
                    Ok(message) => message,
                    Err(skipped) => return Ok(Err(PreviewError::NotComposed(skipped.reason))),
                }
            }
            _ => message,
        };
        let input = message_input(
            &self.config,
            &self.store,
            campaign,
            &message,
            now,
            &self.key,
        );
        Ok(match self.renderer.render(&input) {
            Ok(rendered) => Ok(Preview {
                customer,
                now,
                left_out,
                sample_moment: false,
                message,
                rendered,
            }),
            Err(error) => Err(PreviewError::Render(error)),
        })
    }

    /// For a customer with no open moment: a moment of the campaign's kind
    /// made from their own history (their last order, view, cart…; the
    /// newsletter itself for a campaign without trigger), with the lists and
    /// offer the engine gives it — labelled as a sample.
    fn preview_sample_moment(
        &self,
        campaign: &Campaign,
        customer: CustomerIx,
        now: i64,
        variant: Option<&str>,
    ) -> Result<std::result::Result<Preview, PreviewError>> {
        let campaign = campaign.variant_named(variant);
        let made = crate::render::sample::sample(&self.store, campaign, customer, now, &self.key);
        let occurrence = made
            .occurrence
            .unwrap_or_else(|| crate::trigger::Occurrence {
                customer,
                key: "sample".to_string(),
                at: now,
                products: Vec::new(),
                category: None,
                order: None,
                detail: crate::trigger::Detail::None,
            });
        let recommender = self.recommender(now);
        let message = match compose(&self.inputs(), campaign, occurrence, now, &*recommender) {
            Ok(message) => message,
            Err(skipped) => return Ok(Err(PreviewError::NotComposed(skipped.reason))),
        };
        let input = message_input(
            &self.config,
            &self.store,
            campaign,
            &message,
            now,
            &self.key,
        );
        Ok(match self.renderer.render(&input) {
            Ok(rendered) => Ok(Preview {
                customer,
                now,
                left_out: None,
                sample_moment: true,
                message,
                rendered,
            }),
            Err(error) => Err(PreviewError::Render(error)),
        })
    }

    /// Customers whose id, first name, email or tier contains `query`
    /// (ignoring case), at most `limit`, those the campaign would mail first.
    pub fn search(
        &self,
        campaign: &Campaign,
        query: &str,
        now: i64,
        limit: usize,
    ) -> Result<Vec<Candidate>> {
        let store = &*self.store;
        let plan = self.plan(campaign, now)?;
        let mut status: HashMap<CustomerIx, Option<String>> = HashMap::new();
        for skipped in &plan.skipped {
            status.insert(skipped.occurrence.customer, Some(skipped.reason.summary()));
        }
        for message in &plan.planned {
            status.insert(message.occurrence.customer, None);
        }
        let query = query.trim().to_lowercase();
        let matches = |ix: CustomerIx| {
            let c = store.customer(ix);
            query.is_empty()
                || [
                    &*c.id,
                    &*c.first_name,
                    &*c.email,
                    store.tiers().name(c.tier),
                ]
                .iter()
                .any(|field| field.to_lowercase().contains(&query))
        };
        let mut found: Vec<Candidate> = (0..store.customers().len() as CustomerIx)
            .filter(|&ix| matches(ix))
            .map(|ix| Candidate {
                customer: ix,
                moment: status.contains_key(&ix),
                left_out: status.get(&ix).cloned().flatten(),
            })
            .collect();
        // Those who would be mailed first, then those left out, then those without a moment.
        found.sort_by_key(|c| (!c.moment, c.left_out.is_some(), c.customer));
        found.truncate(limit);
        Ok(found)
    }
}

/// A customer found by [`Previewer::search`].
#[derive(Debug, Clone)]
pub struct Candidate {
    pub customer: CustomerIx,
    /// Whether the customer has an open moment of the campaign.
    pub moment: bool,
    /// Why the plan leaves them out (`None`: they would be mailed, or have no moment).
    pub left_out: Option<String>,
}

/// The entries of `customer` in `items`, which are in customer order (as plans are).
fn of_customer<T>(items: &[T], customer: CustomerIx, of: impl Fn(&T) -> CustomerIx) -> &[T] {
    let start = items.partition_point(|item| of(item) < customer);
    let end = items.partition_point(|item| of(item) <= customer);
    &items[start..end]
}
