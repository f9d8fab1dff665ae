//! The planning engine: for one campaign at `now`, every open moment becomes
//! either a message to send (recipient, moment, lists with reasons, priced
//! offer) or a skip with its reason. `xsell plan` prints the plan; sending
//! calls exactly this and then renders and sends what it planned, so what
//! the plan says is what is sent.
//!
//! Each occurrence goes through, in order: audience (consent first) →
//! suppression → already handled → caps → holdout → lists → offer. A
//! customer's occurrences are planned oldest first, and each message planned
//! counts for the caps of the next, so one run never breaks a cap by itself.
//! Customers are planned in parallel; the output is in customer order, then
//! occurrence time, whatever the thread count.
//!
//! Quiet hours defer a message (it goes when they end, if the moment is
//! still open) even when `on_cap = "skip"`: the customer's night is not a
//! reason to drop the moment.

#[cfg(test)]
mod tests;
pub mod view;

use crate::data::{Currency, ProductIx};
use rayon::prelude::*;
use serde::Serialize;

use crate::audience::{self, Miss};
use crate::campaign::{Campaign, OnEmpty};
use crate::caps::{self, Cap, CapDecision, CapRules};
use crate::config::{GlobalCaps, OnCap};
use crate::data::{CustomerIx, Store};
use crate::history::{Handled, PastSend, SendHistory, Suppression};
use crate::offer::{self, OfferProblem, PricedOffer, Recipient};
use crate::recommend::{ListResolver, ResolvedList};
use crate::signing::SigningKey;
use crate::trigger::{self, Occurrence};

/// What planning reads besides the campaign, the history and the resolver.
#[derive(Clone, Copy)]
pub struct PlanInputs<'a> {
    pub store: &'a Store,
    /// The global caps (`[caps]` in xsell.toml).
    pub caps: &'a GlobalCaps,
    /// Derives per-recipient offer codes.
    pub signing_key: &'a SigningKey,
}

/// The plan of one campaign at one time.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignPlan {
    pub campaign: String,
    /// Unix seconds.
    pub now: i64,
    /// Open occurrences found (planned + skipped).
    pub occurrences: usize,
    /// In customer order, then occurrence time.
    pub planned: Vec<PlannedMessage>,
    /// In customer order, then occurrence time.
    pub skipped: Vec<SkippedMessage>,
}

/// A message to send: to the occurrence's customer, about the occurrence.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedMessage {
    pub occurrence: Occurrence,
    /// Every list of the campaign, in its order; a list may be empty when
    /// its `on_empty` is `omit_block` (the template leaves the block out).
    pub lists: Vec<ResolvedList>,
    pub offer: Option<PricedOffer>,
    /// The A/B variant the customer is assigned, when the campaign has variants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An occurrence that is not sent, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedMessage {
    pub occurrence: Occurrence,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// Not in the audience (including no marketing consent).
    NotInAudience {
        miss: Miss,
    },
    Suppressed {
        suppression: Suppression,
    },
    /// In the control group: recorded, never sent.
    HeldOut,
    /// This moment was already sent (or held out, or skipped for good).
    AlreadyHandled {
        handled: Handled,
    },
    /// Held back by a frequency cap; skipped or deferred until `allowed_at`.
    Capped {
        cap: Cap,
        allowed_at: Option<i64>,
        on_cap: OnCap,
    },
    /// A list with `on_empty: skip_recipient` found no product.
    EmptyList {
        list: String,
    },
    /// The offer cannot be made in the customer's currency.
    Offer {
        problem: OfferProblem,
    },
    /// The catalog has no price in the customer's currency for the
    /// moment's products (or for any product): nothing can be shown.
    NotPriced {
        currency: Currency,
        /// The moment's first product, when the catalog prices others.
        product: Option<String>,
    },
}

impl SkipReason {
    /// The bucket this reason is counted in, in summaries.
    pub fn summary(&self) -> String {
        match self {
            SkipReason::NotInAudience {
                miss: Miss::NoConsent,
            } => "no consent".to_string(),
            SkipReason::NotInAudience { miss } => format!("not in audience: {}", miss.rule()),
            SkipReason::Suppressed { suppression } => {
                format!("suppressed: {}", suppression.reason.name())
            }
            SkipReason::HeldOut => "held out".to_string(),
            SkipReason::AlreadyHandled { handled } => {
                format!("already {} for this moment", handled.outcome.name())
            }
            SkipReason::Capped {
                cap,
                on_cap: OnCap::Defer,
                ..
            } => format!("deferred: {}", cap.name()),
            SkipReason::Capped { cap, .. } => format!("capped: {}", cap.name()),
            SkipReason::EmptyList { list } => format!("empty list {list}"),
            SkipReason::Offer { problem } => match problem {
                OfferProblem::NoAmount { currency } | OfferProblem::NoMinOrder { currency } => {
                    format!("no offer in {currency}")
                }
            },
            SkipReason::NotPriced { currency, .. } => format!("no prices in {currency}"),
        }
    }

    /// Whether the customer was eligible (in the audience, not suppressed)
    /// and was left out later (holdout, caps, lists, offer).
    pub fn is_eligible(&self) -> bool {
        !matches!(
            self,
            SkipReason::NotInAudience { .. } | SkipReason::Suppressed { .. }
        )
    }
}

/// The plan of `campaign` at `now`. `due` is the scheduled run a campaign
/// without trigger (a newsletter) is planned for: its occurrences are keyed
/// by it (`None`: a one-off, keyed `newsletter:once`).
pub fn plan_campaign(
    inputs: &PlanInputs<'_>,
    campaign: &Campaign,
    now: i64,
    due: Option<i64>,
    history: &dyn SendHistory,
    resolver: &dyn ListResolver,
) -> CampaignPlan {
    let occurrences = occurrences(inputs.store, campaign, now, due);
    plan_occurrences(inputs, campaign, occurrences, now, history, resolver)
}

/// The campaign's open moments at `now` (a newsletter's for its run `due`);
/// with a store loaded for a shard, only its customers'.
pub fn occurrences(
    store: &crate::data::Store,
    campaign: &Campaign,
    now: i64,
    due: Option<i64>,
) -> Vec<Occurrence> {
    let mut occurrences = match &campaign.trigger {
        Some(trigger) => trigger::occurrences(store, trigger, now),
        None => trigger::newsletter(store, &trigger::newsletter_key(due), due.unwrap_or(now)),
    };
    if store.shard().is_some() {
        occurrences.retain(|o| store.in_shard(o.customer));
    }
    occurrences
}

/// Plans given occurrences — e.g. one customer's, for a preview that goes
/// through the same steps as a send.
pub fn plan_occurrences(
    inputs: &PlanInputs<'_>,
    campaign: &Campaign,
    mut occurrences: Vec<Occurrence>,
    now: i64,
    history: &dyn SendHistory,
    resolver: &dyn ListResolver,
) -> CampaignPlan {
    let planner = Planner {
        inputs,
        campaign,
        now,
        history,
        resolver,
        rules: CapRules::new(inputs.caps, &campaign.caps),
        on_cap: campaign.caps.on_cap.unwrap_or(inputs.caps.on_cap),
    };
    occurrences.sort_by(|a, b| (a.customer, a.at, &a.key).cmp(&(b.customer, b.at, &b.key)));
    let count = occurrences.len();
    let decisions: Vec<Decision> = by_customer(occurrences)
        .into_par_iter()
        .flat_map_iter(|(customer, group)| planner.plan_customer(customer, group))
        .collect();
    let mut plan = CampaignPlan {
        campaign: campaign.id.clone(),
        now,
        occurrences: count,
        planned: Vec::new(),
        skipped: Vec::new(),
    };
    for decision in decisions {
        match decision {
            Decision::Send(message) => plan.planned.push(message),
            Decision::Skip(skipped) => plan.skipped.push(skipped),
        }
    }
    plan
}

enum Decision {
    Send(PlannedMessage),
    Skip(SkippedMessage),
}

/// Consecutive runs of one customer's occurrences.
fn by_customer(occurrences: Vec<Occurrence>) -> Vec<(CustomerIx, Vec<Occurrence>)> {
    let mut groups: Vec<(CustomerIx, Vec<Occurrence>)> = Vec::new();
    for occurrence in occurrences {
        match groups.last_mut() {
            Some((customer, group)) if *customer == occurrence.customer => group.push(occurrence),
            _ => groups.push((occurrence.customer, vec![occurrence])),
        }
    }
    groups
}

struct Planner<'a> {
    inputs: &'a PlanInputs<'a>,
    campaign: &'a Campaign,
    now: i64,
    history: &'a dyn SendHistory,
    resolver: &'a dyn ListResolver,
    rules: CapRules,
    on_cap: OnCap,
}

impl Planner<'_> {
    fn plan_customer(&self, customer: CustomerIx, group: Vec<Occurrence>) -> Vec<Decision> {
        let store = self.inputs.store;
        let c = store.customer(customer);
        let everyone = |reason: SkipReason, group: Vec<Occurrence>| -> Vec<Decision> {
            group
                .into_iter()
                .map(|occurrence| {
                    Decision::Skip(SkippedMessage {
                        occurrence,
                        reason: reason.clone(),
                    })
                })
                .collect()
        };
        if let Err(miss) = audience::check(store, &self.campaign.audience, customer, self.now) {
            return everyone(SkipReason::NotInAudience { miss }, group);
        }
        if let Some(suppression) = self.history.suppression(&c.email) {
            return everyone(SkipReason::Suppressed { suppression }, group);
        }
        let mut sends: Vec<PastSend> = match self.rules.lookback() {
            0 => Vec::new(),
            lookback => self.history.sends(&c.id, self.now - lookback, self.now + 1),
        };
        group
            .into_iter()
            .map(|occurrence| {
                let decision = self.plan_one(occurrence, &sends);
                if let Decision::Send(_) = decision {
                    sends.push(PastSend {
                        campaign: self.campaign.id.clone(),
                        at: self.now,
                    });
                }
                decision
            })
            .collect()
    }

    fn plan_one(&self, occurrence: Occurrence, sends: &[PastSend]) -> Decision {
        let store = self.inputs.store;
        let customer = store.customer(occurrence.customer);
        let skip = |occurrence, reason| Decision::Skip(SkippedMessage { occurrence, reason });
        if let Some(handled) =
            self.history
                .handled(&self.campaign.id, &customer.id, &occurrence.key)
        {
            return skip(occurrence, SkipReason::AlreadyHandled { handled });
        }
        if let CapDecision::Capped { cap, allowed_at } = caps::check(
            &self.rules,
            &self.campaign.id,
            sends,
            customer.timezone,
            self.now,
        ) {
            let on_cap = caps::action(&cap, allowed_at, self.on_cap);
            return skip(
                occurrence,
                SkipReason::Capped {
                    cap,
                    allowed_at,
                    on_cap,
                },
            );
        }
        // After the caps: the control group holds only moments that would
        // have been sent now, so it compares like with like in `xsell report`.
        if audience::in_holdout(
            &self.campaign.id,
            &customer.id,
            self.campaign.holdout_basis_points,
        ) {
            return skip(occurrence, SkipReason::HeldOut);
        }
        match compose(
            self.inputs,
            self.campaign,
            occurrence,
            self.now,
            self.resolver,
        ) {
            Ok(message) => Decision::Send(message),
            Err(skipped) => Decision::Skip(skipped),
        }
    }
}

/// The message of one occurrence that passed audience, history and caps:
/// its lists and its priced offer — or why it cannot be sent (an empty list
/// that skips the recipient, an offer impossible in the customer's
/// currency). Planning ends with this; previews call it for a customer the
/// plan left out, to show what they would get.
// Both sides are about as large (the occurrence moves through either way);
// boxing the skip would allocate for every one.
#[allow(clippy::result_large_err)]
pub fn compose(
    inputs: &PlanInputs<'_>,
    campaign: &Campaign,
    occurrence: Occurrence,
    now: i64,
    resolver: &dyn ListResolver,
) -> Result<PlannedMessage, SkippedMessage> {
    let store = inputs.store;
    // The customer's A/B variant (a variant given here stays itself).
    let campaign = campaign.variant_for(&store.customer(occurrence.customer).id);
    let currency = store.customer(occurrence.customer).currency;
    let unpriced = |p: &ProductIx| store.product(*p).price_in(currency).is_none();
    if !store.prices_in(currency)
        || (!occurrence.products.is_empty() && occurrence.products.iter().all(unpriced))
    {
        let product = store
            .prices_in(currency)
            .then(|| store.product(occurrence.products[0]).id.to_string());
        let reason = SkipReason::NotPriced { currency, product };
        return Err(SkippedMessage { occurrence, reason });
    }
    let moment = campaign.trigger.is_some().then_some(&occurrence);
    let lists = resolver.resolve(store, campaign, occurrence.customer, moment, now);
    if let Some(empty) = lists
        .iter()
        .find(|l| l.items.is_empty() && l.on_empty == OnEmpty::SkipRecipient)
    {
        let reason = SkipReason::EmptyList {
            list: empty.name.clone(),
        };
        return Err(SkippedMessage { occurrence, reason });
    }
    let offer = match &campaign.offer {
        None => None,
        Some(spec) => {
            let recipient = Recipient {
                campaign_id: &campaign.id,
                customer: store.customer(occurrence.customer),
                occurrence_key: &occurrence.key,
                now,
            };
            match offer::price_offer(spec, recipient, inputs.signing_key) {
                Ok(offer) => Some(offer),
                Err(problem) => {
                    let reason = SkipReason::Offer { problem };
                    return Err(SkippedMessage { occurrence, reason });
                }
            }
        }
    };
    Ok(PlannedMessage {
        occurrence,
        lists,
        offer,
        variant: campaign.variant.clone(),
    })
}
