//! The send loop. For each fully rendered message, in order: wait for the
//! rate limit, claim it in the ledger (with the suppression list and the
//! caps, in one transaction), hand it to the transport, record the outcome.
//!
//! A message is claimed only once it is completely rendered, and only just
//! before its own SMTP transaction, so a crash leaves at most one unconfirmed
//! claim per connection. Transient failures are retried with backoff, then
//! recorded as failed (a later run retries them); a refused recipient is
//! recorded as a hard bounce and suppressed. After too many failures in a
//! row the run stops cleanly: the server is down, not the customers.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use serde::Serialize;

use super::domains::DomainLimits;
use super::ledger_writer::LedgerWriter;
use super::throttle::Throttle;
use super::transport::{Delivery, Transport};
use crate::error::Result;
use crate::ledger::{CapVerdict, Claim, ClaimRequest, Ledger, MessageKey, PastSend, State, Write};

/// A message ready to go: rendered, addressed, identified.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub key: MessageKey,
    /// The recipient.
    pub email: String,
    /// The envelope sender of this message (VERP), when not the run's.
    pub return_path: Option<String>,
    pub message_id: String,
    /// The complete MIME message.
    pub bytes: Vec<u8>,
    /// Name of the `.eml` file in the outbox transport.
    pub file_name: String,
    /// What the message shows, for the ledger (JSON of `ledger::Contents`).
    pub contents: Option<String>,
}

/// A message that could not be prepared (rendering failed): recorded as failed.
#[derive(Debug, Clone)]
pub struct NotPrepared {
    pub key: MessageKey,
    pub email: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct SendOptions {
    /// The envelope sender (MAIL FROM).
    pub envelope_from: String,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub burst: u32,
    /// Tries per message within this run, for transient failures.
    pub attempts: u32,
    /// First pause between tries; doubles each time.
    pub backoff: Duration,
    pub max_consecutive_failures: u32,
    /// Stop after this many messages were sent.
    pub limit: Option<usize>,
    pub resend_unconfirmed: bool,
    /// Time recorded in the ledger (the run's `now`).
    pub now: i64,
    /// How far back the caps look (seconds).
    pub cap_window: i64,
    pub progress: bool,
    /// Limits per recipient domain (`[send.domains]`).
    pub domains: BTreeMap<String, crate::config::DomainLimit>,
}

/// What a send did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SendSummary {
    pub sent: usize,
    /// Not sent now, by reason: `already sent`, `suppressed: …`, `capped: …`, `in progress elsewhere`, …
    pub skipped: BTreeMap<String, usize>,
    pub deferred: usize,
    pub failed: usize,
    pub bounced: usize,
    /// Set when the run stopped early, and why.
    pub stopped: Option<String>,
    /// The message ids the server accepted, in order of acceptance.
    #[serde(skip)]
    pub accepted: Vec<String>,
}

impl SendSummary {
    pub fn merge(&mut self, other: SendSummary) {
        self.sent += other.sent;
        for (reason, count) in other.skipped {
            *self.skipped.entry(reason).or_default() += count;
        }
        self.deferred += other.deferred;
        self.failed += other.failed;
        self.bounced += other.bounced;
        self.stopped = self.stopped.take().or(other.stopped);
        self.accepted.extend(other.accepted);
    }

    fn skip(&mut self, reason: impl Into<String>) {
        *self.skipped.entry(reason.into()).or_default() += 1;
    }
}

/// Caps decision for a message, given the customer's recent sends.
pub type CapsCheck = dyn Fn(&MessageKey, &[PastSend]) -> CapVerdict + Send + Sync;

/// Sends everything `messages` yields. The iterator runs on its own thread
/// (rendering there), ahead of the workers by a small bounded queue.
pub async fn deliver_all<I>(
    messages: I,
    ledger: Arc<Mutex<Ledger>>,
    transport: Arc<Transport>,
    caps: Arc<CapsCheck>,
    options: SendOptions,
) -> Result<SendSummary>
where
    I: Iterator<Item = std::result::Result<Prepared, NotPrepared>> + Send + 'static,
{
    let workers = options.concurrency.max(1);
    let (sender, receiver) = tokio::sync::mpsc::channel(workers * 4);
    let stop = Arc::new(AtomicBool::new(false));
    let producer_stop = stop.clone();
    // Rendering panics are caught per message (see `Sender::prepare`); this
    // catches any other panic of the iterator, which ends the campaign early
    // and is reported as a failure, never as a quiet end of the queue.
    let producer = std::thread::spawn(move || {
        crate::fault::catch(move || {
            for message in messages {
                if producer_stop.load(Ordering::Relaxed) || sender.blocking_send(message).is_err() {
                    break;
                }
            }
        })
    });
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let throttle = Arc::new(Throttle::new(options.rate, options.burst));
    let domains = Arc::new(DomainLimits::new(&options.domains));
    let consecutive_failures = Arc::new(AtomicUsize::new(0));
    let sent_so_far = Arc::new(AtomicUsize::new(0));
    let progress = progress_bar(options.progress);
    let options = Arc::new(options);
    let writer = Arc::new(LedgerWriter::start(ledger.clone()));
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let context = Worker {
            index: worker,
            ledger: ledger.clone(),
            writer: writer.clone(),
            transport: transport.clone(),
            caps: caps.clone(),
            throttle: throttle.clone(),
            domains: domains.clone(),
            options: options.clone(),
            stop: stop.clone(),
            consecutive_failures: consecutive_failures.clone(),
            sent_so_far: sent_so_far.clone(),
            progress: progress.clone(),
        };
        let receiver = receiver.clone();
        tasks.push(tokio::spawn(async move {
            let mut summary = SendSummary::default();
            loop {
                if context.stop.load(Ordering::Relaxed) {
                    break;
                }
                let next = receiver.lock().await.recv().await;
                let Some(message) = next else { break };
                let (key, email) = match &message {
                    Ok(m) => (m.key.clone(), m.email.clone()),
                    Err(m) => (m.key.clone(), m.email.clone()),
                };
                let handled = AssertUnwindSafe(context.handle(message, &mut summary))
                    .catch_unwind()
                    .await;
                let outcome = match handled {
                    Ok(result) => result,
                    Err(payload) => context.panicked(&key, &email, &*payload, &mut summary),
                };
                if let Err(error) = outcome {
                    // The ledger cannot record: stop everyone, keep what was counted.
                    context.stop.store(true, Ordering::Relaxed);
                    return (summary, Some(error));
                }
            }
            (summary, None)
        }));
    }
    let mut summary = SendSummary::default();
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok((part, error)) => {
                summary.merge(part);
                if let Some(error) = error {
                    first_error.get_or_insert(error);
                }
            }
            Err(join) => {
                first_error.get_or_insert(crate::error::Error::internal(format!(
                    "a send worker failed: {join}"
                )));
            }
        }
    }
    // Unblock and finish the producer (its queue is dropped with the receiver).
    drop(receiver);
    let rendering = producer
        .join()
        .unwrap_or_else(|payload| Err(crate::fault::panic_message(&*payload)));
    if let Err(panic) = rendering {
        summary.failed += 1;
        summary.stopped = Some(format!(
            "rendering stopped: {panic}; the rest of the campaign is untouched and a later run continues"
        ));
    }
    // Every worker is done: commit the last outcomes.
    match Arc::try_unwrap(writer) {
        Ok(writer) => {
            if let Err(error) = writer.finish() {
                first_error.get_or_insert(error);
            }
        }
        Err(_) => {
            first_error.get_or_insert(crate::error::Error::internal(
                "the ledger writer is still in use",
            ));
        }
    }
    transport.close().await;
    progress.finish_and_clear();
    if stop.load(Ordering::Relaxed)
        && summary.stopped.is_none()
        && options.limit.is_some_and(|l| summary.sent >= l)
    {
        summary.stopped = Some(format!(
            "--limit {} reached",
            options.limit.unwrap_or_default()
        ));
    }
    if let Some(error) = first_error {
        // Counted so far and recorded stays so; a message sent whose outcome
        // could not be recorded is an unconfirmed claim the next run lists.
        summary.stopped = Some(format!(
            "stopped: {}; what was sent before is recorded, a message in flight may be an unconfirmed claim (listed by the next run), the rest is untouched and a later run continues",
            crate::commands::describe_error(&error)
        ));
    }
    Ok(summary)
}

struct Worker {
    index: usize,
    ledger: Arc<Mutex<Ledger>>,
    writer: Arc<LedgerWriter>,
    transport: Arc<Transport>,
    caps: Arc<CapsCheck>,
    throttle: Arc<Throttle>,
    domains: Arc<DomainLimits>,
    options: Arc<SendOptions>,
    stop: Arc<AtomicBool>,
    consecutive_failures: Arc<AtomicUsize>,
    sent_so_far: Arc<AtomicUsize>,
    progress: indicatif::ProgressBar,
}

impl Worker {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn handle(
        &self,
        message: std::result::Result<Prepared, NotPrepared>,
        summary: &mut SendSummary,
    ) -> Result<()> {
        let options = &self.options;
        let message = match message {
            Ok(message) => message,
            Err(failure) => {
                // Nothing was sent; record why (a template problem), unless the row exists.
                self.ledger().record(
                    &failure.key,
                    &failure.email,
                    State::Failed,
                    &format!("not rendered: {}", failure.reason),
                    options.now,
                )?;
                summary.failed += 1;
                return Ok(());
            }
        };
        // Reserve a place under --limit before claiming, so workers never overshoot it.
        if !self.reserve() {
            self.stop.store(true, Ordering::Relaxed);
            return Ok(());
        }
        let sent = self.claim_and_deliver(message, summary).await;
        if !matches!(sent, Ok(true)) {
            self.release();
        }
        sent.map(|_| ())
    }

    /// Accounts for a message whose handling panicked: a failure with the
    /// reason, recorded in the ledger (a claim it left becomes a failure a
    /// later run retries) and counted in the summary.
    fn panicked(
        &self,
        key: &MessageKey,
        email: &str,
        payload: &(dyn std::any::Any + Send),
        summary: &mut SendSummary,
    ) -> Result<()> {
        let reason = crate::fault::panic_message(payload);
        tracing::error!("{}: {reason}", key.customer);
        self.writer.record(Write::Failed {
            key: key.clone(),
            email: email.to_string(),
            reason: reason.clone(),
            permanent: false,
            now: self.options.now,
        })?;
        summary.failed += 1;
        self.count_failure(&reason, summary);
        Ok(())
    }

    fn reserve(&self) -> bool {
        match self.options.limit {
            None => true,
            Some(limit) => self
                .sent_so_far
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    (n < limit).then_some(n + 1)
                })
                .is_ok(),
        }
    }

    fn release(&self) {
        if self.options.limit.is_some() {
            self.sent_so_far.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Claims, delivers and records one message; `true` when it was sent.
    async fn claim_and_deliver(
        &self,
        message: Prepared,
        summary: &mut SendSummary,
    ) -> Result<bool> {
        let options = &self.options;
        self.throttle.acquire().await;
        // Held until this message's delivery is over.
        let _domain = self.domains.enter(&message.email).await;
        crate::fault::inject("claim", &message.key.customer);
        let claim = {
            let caps = self.caps.clone();
            let key = message.key.clone();
            let request = ClaimRequest {
                key: message.key.clone(),
                email: message.email.clone(),
                now: options.now,
                cap_window: options.cap_window,
                resend_unconfirmed: options.resend_unconfirmed,
                contents: message.contents.clone(),
            };
            self.writer
                .claim(
                    request,
                    Box::new(move |sends: &[PastSend]| caps(&key, sends)),
                )
                .await?
        };
        let granted = match claim {
            Claim::Granted { .. } => true,
            Claim::AlreadyHandled(State::Claimed) => {
                summary.skip("claimed by another run (in progress or unconfirmed)");
                false
            }
            Claim::AlreadyHandled(state) => {
                summary.skip(format!("already {}", state.name().replace('_', " ")));
                false
            }
            Claim::Suppressed(reason) => {
                summary.skip(format!("suppressed: {reason}"));
                false
            }
            Claim::Capped(CapVerdict::Defer { .. }) | Claim::NotYet { .. } => {
                summary.deferred += 1;
                false
            }
            Claim::Capped(CapVerdict::Skip(reason)) => {
                summary.skip(format!("capped: {reason}"));
                false
            }
            Claim::Capped(CapVerdict::Allowed) => unreachable!("an allowed claim is granted"),
        };
        if !granted {
            return Ok(false);
        }
        let delivery = self.deliver_with_retries(&message).await;
        let now = options.now;
        let sent = delivery == Delivery::Accepted;
        match delivery {
            Delivery::Accepted => {
                self.writer.record(Write::Sent {
                    key: message.key.clone(),
                    message_id: message.message_id.clone(),
                    now,
                })?;
                self.consecutive_failures.store(0, Ordering::Relaxed);
                summary.sent += 1;
                summary.accepted.push(message.message_id.clone());
                self.progress.inc(1);
            }
            Delivery::Bounced(reason) => {
                self.writer.record(failed(&message, &reason, true, now))?;
                self.consecutive_failures.store(0, Ordering::Relaxed);
                summary.bounced += 1;
            }
            Delivery::Rejected(reason) => {
                self.writer.record(failed(&message, &reason, false, now))?;
                summary.failed += 1;
                self.count_failure(&reason, summary);
            }
            Delivery::Transient(reason) => {
                self.writer.record(failed(&message, &reason, false, now))?;
                summary.failed += 1;
                self.count_failure(&reason, summary);
            }
            Delivery::Fatal(reason) => {
                self.writer.record(failed(&message, &reason, false, now))?;
                summary.failed += 1;
                if !self.stop.swap(true, Ordering::SeqCst) {
                    summary.stopped = Some(format!(
                        "stopped: {reason}; nothing more was tried, the rest is untouched and a later run continues"
                    ));
                }
            }
        }
        Ok(sent)
    }

    fn count_failure(&self, reason: &str, summary: &mut SendSummary) {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::SeqCst) + 1;
        if failures >= self.options.max_consecutive_failures as usize
            && !self.stop.swap(true, Ordering::SeqCst)
        {
            summary.stopped = Some(format!(
                "stopped after {failures} failures in a row (last: {reason}); the server looks down, not the customers — the rest is untouched and a later run continues"
            ));
        }
    }

    async fn deliver_with_retries(&self, message: &Prepared) -> Delivery {
        let options = &self.options;
        let mut pause = options.backoff;
        let mut attempt = 1;
        loop {
            let delivery = AssertUnwindSafe(async {
                crate::fault::inject("transport", &message.key.customer);
                self.transport
                    .deliver(
                        self.index,
                        message
                            .return_path
                            .as_deref()
                            .unwrap_or(&options.envelope_from),
                        &message.email,
                        &message.bytes,
                        &message.file_name,
                        &message.key.campaign,
                    )
                    .await
            })
            .catch_unwind()
            .await;
            let delivery = match delivery {
                Ok(delivery) => delivery,
                Err(payload) => {
                    // Not sent as far as we know: failed, retried by a later
                    // run; the connection may be mid-transaction: a new one.
                    self.transport.reset(self.index).await;
                    Delivery::Rejected(crate::fault::panic_message(&*payload))
                }
            };
            match delivery {
                Delivery::Transient(reason)
                    if attempt < options.attempts && !self.stop.load(Ordering::Relaxed) =>
                {
                    tracing::debug!("{}: {reason}; retrying in {pause:?}", message.email);
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

fn failed(message: &Prepared, reason: &str, permanent: bool, now: i64) -> Write<'static> {
    Write::Failed {
        key: message.key.clone(),
        email: message.email.clone(),
        reason: reason.to_string(),
        permanent,
        now,
    }
}

fn progress_bar(visible: bool) -> indicatif::ProgressBar {
    if !visible {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::no_length();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} sent {pos} ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar
}
