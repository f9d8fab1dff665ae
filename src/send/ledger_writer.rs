//! The ledger's writer during a send: one thread applies the workers' claims
//! and outcomes in shared transactions (a group commit). A claim is still
//! committed before its SMTP transaction starts — the worker waits for the
//! commit — but sixteen workers now share one commit instead of paying for
//! sixteen, and no async worker thread blocks on SQLite.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::ledger::{CapsDecision, Claim, ClaimRequest, Ledger, Write, Written};

/// Writes applied together at most.
const MAX_BATCH: usize = 256;

struct Job {
    write: Write<'static>,
    reply: Option<tokio::sync::oneshot::Sender<std::result::Result<Written, String>>>,
}

pub struct LedgerWriter {
    queue: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    error: Arc<Mutex<Option<String>>>,
}

impl LedgerWriter {
    pub fn start(ledger: Arc<Mutex<Ledger>>) -> LedgerWriter {
        let (queue, jobs) = mpsc::channel::<Job>();
        let error = Arc::new(Mutex::new(None));
        let first_error = error.clone();
        let thread = std::thread::spawn(move || {
            while let Ok(first) = jobs.recv() {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let (writes, replies): (Vec<Write<'static>>, Vec<_>) =
                    batch.into_iter().map(|job| (job.write, job.reply)).unzip();
                let outcome = ledger
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .write(writes);
                match outcome {
                    Ok(written) => {
                        for (reply, written) in replies.into_iter().zip(written) {
                            if let Some(reply) = reply {
                                let _ = reply.send(Ok(written));
                            }
                        }
                    }
                    Err(problem) => {
                        let text = problem.to_string();
                        first_error
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(text.clone());
                        for reply in replies.into_iter().flatten() {
                            let _ = reply.send(Err(text.clone()));
                        }
                    }
                }
            }
        });
        LedgerWriter {
            queue: Some(queue),
            thread: Some(thread),
            error,
        }
    }

    /// Claims a message; returns once the claim is committed.
    pub async fn claim(&self, request: ClaimRequest, caps: CapsDecision<'static>) -> Result<Claim> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Job {
            write: Write::Claim(request, caps),
            reply: Some(reply),
        })?;
        match answer.await {
            Ok(Ok(Written::Claim(claim))) => Ok(claim),
            Ok(Ok(Written::Done)) => Err(Error::internal("ledger: a claim wrote no claim")),
            Ok(Err(problem)) => Err(Error::internal(problem)),
            Err(_) => Err(Error::internal("the ledger writer stopped")),
        }
    }

    /// Records an outcome; committed with the next batch (a crash before that
    /// leaves the claim unconfirmed, which is reported, never re-sent blindly).
    pub fn record(&self, write: Write<'static>) -> Result<()> {
        self.send(Job { write, reply: None })
    }

    fn send(&self, job: Job) -> Result<()> {
        match &self.queue {
            Some(queue) => queue
                .send(job)
                .map_err(|_| Error::internal("the ledger writer stopped")),
            None => Err(Error::internal("the ledger writer is closed")),
        }
    }

    /// Writes what is queued, stops the thread, and reports the first error.
    pub fn finish(mut self) -> Result<()> {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        match self.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(problem) => Err(Error::internal(problem)),
            None => Ok(()),
        }
    }
}
