//! Sending one campaign at `now`, as `xsell send` and `xsell run` do it:
//! plan it with the same engine `xsell plan` shows (reading the ledger),
//! record in the ledger what is held back (holdout, caps, empty lists), then
//! render every planned message and hand it to the send loop, which claims,
//! delivers and records each one.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde::Serialize;

use super::engine::{self, NotPrepared, Prepared, SendOptions, SendSummary};
use super::transport::Transport;
use crate::campaign::Campaign;
use crate::caps::{self, CapRules};
use crate::config::{Config, OnCap};
use crate::data::Store;
use crate::error::Result;
use crate::ledger::{Contents, Ledger, MessageKey, MessageRow, PastSend, Shown, State};
use crate::plan::{CampaignPlan, PlanInputs, PlannedMessage, SkipReason, plan_campaign};
use crate::recommend::Recommender;
use crate::render::{MessageInput, Renderer};
use crate::signing::SigningKey;

/// What every campaign of one process shares (cheap to clone: shared parts).
#[derive(Clone)]
pub struct Sender {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub recommender: Arc<Recommender>,
    pub renderer: Arc<Renderer>,
    pub key: SigningKey,
    pub ledger: Arc<Mutex<Ledger>>,
    pub transport: Arc<Transport>,
}

/// One send of one campaign.
#[derive(Debug, Clone)]
pub struct Request {
    /// Unix seconds: the moment the campaign is evaluated and the ledger's clock.
    pub now: i64,
    /// The scheduled run a newsletter is sent for (keys its occurrences).
    pub due: Option<i64>,
    /// Plan and render, but send nothing and write nothing.
    pub dry_run: bool,
    pub limit: Option<usize>,
    pub resend_unconfirmed: bool,
    pub progress: bool,
}

/// What a campaign send did, for people and for the scheduler's logs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CampaignReport {
    pub campaign: String,
    pub dry_run: bool,
    /// Open moments found.
    pub occurrences: usize,
    /// Messages planned (and, in a dry run, rendered).
    pub planned: usize,
    pub sent: usize,
    /// Not sent, by reason (audience, suppression, caps, already sent, empty lists…).
    pub skipped: BTreeMap<String, usize>,
    pub deferred: usize,
    pub held_out: usize,
    pub failed: usize,
    pub bounced: usize,
    /// A dry run: what a real run would send now (rendered without a
    /// failure, `--limit` included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_send: Option<usize>,
    /// Claims of earlier runs that were never confirmed: not re-sent (see `--resend-unconfirmed`).
    pub unconfirmed: Vec<MessageRow>,
    pub stopped: Option<String>,
}

impl CampaignReport {
    /// Whether anything failed (the exit code says so).
    pub fn has_failures(&self) -> bool {
        self.failed > 0
            || self
                .stopped
                .as_deref()
                .is_some_and(|s| !s.starts_with("--limit"))
    }
}

impl Sender {
    pub fn plan(&self, campaign: &Campaign, now: i64, due: Option<i64>) -> Result<CampaignPlan> {
        let history = self
            .ledger()
            .planning_history(&self.config.caps, campaign, now)?;
        let inputs = PlanInputs {
            store: &self.store,
            caps: &self.config.caps,
            signing_key: &self.key,
        };
        Ok(plan_campaign(
            &inputs,
            campaign,
            now,
            due,
            &history,
            &*self.recommender,
        ))
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Plans, records what is held back, renders and sends one campaign.
    pub async fn send(&self, campaign: &Campaign, request: &Request) -> Result<CampaignReport> {
        let plan = self.plan(campaign, request.now, request.due)?;
        let mut report = CampaignReport {
            campaign: campaign.id.clone(),
            dry_run: request.dry_run,
            occurrences: plan.occurrences,
            planned: plan.planned.len(),
            unconfirmed: self.ledger().unconfirmed(Some(&campaign.id))?,
            ..CampaignReport::default()
        };
        self.account_for_skips(campaign, &plan, request, &mut report)?;
        if request.dry_run {
            let failures: Vec<String> = plan
                .planned
                .par_iter()
                .filter_map(|message| {
                    self.prepare(campaign, message, request.now)
                        .err()
                        .map(|f| f.reason)
                })
                .collect();
            report.failed = failures.len();
            report.would_send =
                Some((report.planned - report.failed).min(request.limit.unwrap_or(usize::MAX)));
            for reason in failures.into_iter().take(5) {
                tracing::warn!("{}: {reason}", campaign.id);
            }
            return Ok(report);
        }
        let options = SendOptions {
            envelope_from: self.config.sender.from.email.to_string(),
            concurrency: self.config.send.concurrency,
            rate: self.config.send.rate,
            burst: self.config.send.burst,
            attempts: self.config.send.retries + 1,
            backoff: std::time::Duration::from_millis(500),
            max_consecutive_failures: self.config.send.max_consecutive_failures,
            domains: self.config.send.domains.clone(),
            limit: request.limit,
            resend_unconfirmed: request.resend_unconfirmed,
            now: request.now,
            cap_window: CapRules::new(&self.config.caps, &campaign.caps)
                .lookback()
                .max(1),
            progress: request.progress,
        };
        let summary = engine::deliver_all(
            self.rendered(campaign, plan.planned, request.now),
            self.ledger.clone(),
            self.transport.clone(),
            self.caps_check(campaign, request.now),
            options,
        )
        .await?;
        merge(&mut report, summary);
        Ok(report)
    }

    /// Counts every planned skip in the report, and records in the ledger
    /// those that are outcomes of this moment (holdout, caps, empty lists, offers).
    fn account_for_skips(
        &self,
        campaign: &Campaign,
        plan: &CampaignPlan,
        request: &Request,
        report: &mut CampaignReport,
    ) -> Result<()> {
        let mut ledger = (!request.dry_run).then(|| self.ledger());
        for skipped in &plan.skipped {
            let customer = self.store.customer(skipped.occurrence.customer);
            let key = MessageKey {
                campaign: campaign.id.clone(),
                customer: customer.id.to_string(),
                occurrence: skipped.occurrence.key.clone(),
            };
            let record = |state: State,
                          not_before: Option<i64>,
                          ledger: &mut Option<std::sync::MutexGuard<'_, Ledger>>|
             -> Result<()> {
                match ledger {
                    Some(ledger) => ledger.record_outcome(
                        &key,
                        &customer.email,
                        state,
                        &skipped.reason.summary(),
                        not_before,
                        request.now,
                    ),
                    None => Ok(()),
                }
            };
            match &skipped.reason {
                SkipReason::HeldOut => {
                    report.held_out += 1;
                    if let Some(ledger) = &mut ledger {
                        // What the control group would have been shown: the
                        // report's baseline for buying the suggestions.
                        let shown =
                            self.compose_held_out(campaign, &skipped.occurrence, request.now);
                        ledger.record_held_out(&key, &customer.email, Some(&shown), request.now)?;
                    }
                }
                SkipReason::Capped {
                    cap,
                    allowed_at,
                    on_cap,
                } => match (caps::action(cap, *allowed_at, *on_cap), allowed_at) {
                    (OnCap::Defer, Some(until)) => {
                        report.deferred += 1;
                        record(State::Deferred, Some(*until), &mut ledger)?;
                    }
                    _ => {
                        *report.skipped.entry(skipped.reason.summary()).or_default() += 1;
                        record(State::Skipped, None, &mut ledger)?;
                    }
                },
                SkipReason::EmptyList { .. }
                | SkipReason::Offer { .. }
                | SkipReason::NotPriced { .. } => {
                    *report.skipped.entry(skipped.reason.summary()).or_default() += 1;
                    record(State::Skipped, None, &mut ledger)?;
                }
                SkipReason::NotInAudience { .. }
                | SkipReason::Suppressed { .. }
                | SkipReason::AlreadyHandled { .. } => {
                    *report.skipped.entry(skipped.reason.summary()).or_default() += 1;
                }
            }
        }
        Ok(())
    }

    /// The message a held-out moment would have had (its lists may be empty
    /// when the moment could not have been sent at all).
    fn compose_held_out(
        &self,
        campaign: &Campaign,
        occurrence: &crate::trigger::Occurrence,
        now: i64,
    ) -> Contents {
        let inputs = PlanInputs {
            store: &self.store,
            caps: &self.config.caps,
            signing_key: &self.key,
        };
        let customer = &self.store.customer(occurrence.customer).id;
        let campaign = campaign.variant_for(customer);
        match crate::plan::compose(
            &inputs,
            campaign,
            occurrence.clone(),
            now,
            &*self.recommender,
        ) {
            Ok(message) => contents(&self.store, &message),
            Err(_) => Contents {
                variant: campaign.variant.clone(),
                moment_at: occurrence.at,
                ..Contents::default()
            },
        }
    }

    /// The caps as the claim transaction checks them.
    fn caps_check(&self, campaign: &Campaign, now: i64) -> Arc<engine::CapsCheck> {
        let rules = CapRules::new(&self.config.caps, &campaign.caps);
        let on_cap = campaign.caps.on_cap.unwrap_or(self.config.caps.on_cap);
        let store = self.store.clone();
        let campaign_id = campaign.id.clone();
        Arc::new(move |key: &MessageKey, sends: &[PastSend]| {
            let timezone = store
                .customer_ix(&key.customer)
                .map_or(chrono_tz::Tz::UTC, |c| store.customer(c).timezone);
            caps::verdict(
                &caps::check(&rules, &campaign_id, sends, timezone, now),
                on_cap,
            )
        })
    }

    /// Renders one planned message into its final bytes.
    pub fn prepare(
        &self,
        campaign: &Campaign,
        message: &PlannedMessage,
        now: i64,
    ) -> std::result::Result<Prepared, NotPrepared> {
        let customer = self.store.customer(message.occurrence.customer);
        let key = MessageKey {
            campaign: campaign.id.clone(),
            customer: customer.id.to_string(),
            occurrence: message.occurrence.key.clone(),
        };
        // A panic in rendering (a bug, or data nobody foresaw) fails this
        // message with the reason; the rest of the campaign goes on.
        let rendered = crate::fault::catch(|| {
            let input = message_input(&self.config, &self.store, campaign, message, now, &self.key);
            self.renderer.render(&input).map_err(|e| e.to_string())
        })
        .and_then(|rendered| rendered);
        match rendered {
            Ok(rendered) => Ok(Prepared {
                return_path: self.config.sender.return_path.as_ref().map(|template| {
                    template.replace(
                        "{token}",
                        &crate::render::unsubscribe::bounce_token(&self.key, &customer.id),
                    )
                }),
                file_name: outbox_file_name(&key),
                contents: Some(contents(&self.store, message).to_json()),
                key,
                email: customer.email.to_string(),
                message_id: rendered.message_id.clone(),
                bytes: rendered.eml,
            }),
            Err(reason) => Err(NotPrepared {
                key,
                email: customer.email.to_string(),
                reason,
            }),
        }
    }

    /// The planned messages, rendered in parallel batches as the send loop asks for them.
    fn rendered(
        &self,
        campaign: &Campaign,
        planned: Vec<PlannedMessage>,
        now: i64,
    ) -> RenderedMessages {
        RenderedMessages {
            sender: self.clone(),
            campaign: campaign.clone(),
            planned: planned.into(),
            ready: VecDeque::new(),
            now,
        }
    }
}

/// What a message shows, as the ledger keeps it for `xsell report`.
pub fn contents(store: &Store, message: &PlannedMessage) -> Contents {
    Contents {
        variant: message.variant.clone(),
        moment_at: message.occurrence.at,
        moment_products: message
            .occurrence
            .products
            .iter()
            .map(|p| store.product(*p).id.to_string())
            .collect(),
        shown: message
            .lists
            .iter()
            .flat_map(|list| {
                list.items.iter().map(|item| Shown {
                    list: list.name.clone(),
                    source: item.source.name().to_string(),
                    product: store.product(item.product).id.to_string(),
                })
            })
            .collect(),
        offer_code: message.offer.as_ref().and_then(|o| o.code.clone()),
    }
}

/// What a planned message is rendered from — for a send, a test copy or a
/// designer's preview alike, so a preview is the message that would be sent.
pub fn message_input<'a>(
    config: &'a Config,
    store: &'a Store,
    campaign: &'a Campaign,
    message: &'a PlannedMessage,
    now: i64,
    key: &'a SigningKey,
) -> MessageInput<'a> {
    MessageInput {
        config,
        store,
        campaign: campaign.variant_named(message.variant.as_deref()),
        customer: message.occurrence.customer,
        occurrence: Some(&message.occurrence),
        lists: &message.lists,
        offer: message.offer.as_ref(),
        now,
        key,
    }
}

/// Renders planned messages a batch at a time, on all cores.
struct RenderedMessages {
    sender: Sender,
    campaign: Campaign,
    planned: VecDeque<PlannedMessage>,
    ready: VecDeque<std::result::Result<Prepared, NotPrepared>>,
    now: i64,
}

const RENDER_BATCH: usize = 256;

impl Iterator for RenderedMessages {
    type Item = std::result::Result<Prepared, NotPrepared>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ready.is_empty() && !self.planned.is_empty() {
            let batch: Vec<PlannedMessage> = self
                .planned
                .drain(..RENDER_BATCH.min(self.planned.len()))
                .collect();
            let (sender, campaign) = (&self.sender, &self.campaign);
            let now = self.now;
            for message in batch.iter().filter(|_| cfg!(debug_assertions)) {
                crate::fault::inject(
                    "batch",
                    &sender.store.customer(message.occurrence.customer).id,
                );
            }
            let rendered: Vec<_> = batch
                .par_iter()
                .map(|message| sender.prepare(campaign, message, now))
                .collect();
            self.ready.extend(rendered);
        }
        self.ready.pop_front()
    }
}

fn merge(report: &mut CampaignReport, summary: SendSummary) {
    report.sent += summary.sent;
    for (reason, count) in summary.skipped {
        *report.skipped.entry(reason).or_default() += count;
    }
    report.deferred += summary.deferred;
    report.failed += summary.failed;
    report.bounced += summary.bounced;
    report.stopped = report.stopped.take().or(summary.stopped);
}

/// `<customer>_<hash of the moment>.eml`: stable, and safe as a file name.
pub fn outbox_file_name(key: &MessageKey) -> String {
    use sha2::{Digest, Sha256};
    let customer: String = key
        .customer
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let digest = Sha256::digest(key.occurrence.as_bytes());
    format!("{customer}_{}.eml", hex::encode(&digest[..6]))
}
