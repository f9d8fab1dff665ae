//! Limits per recipient domain (`[send.domains]`): mailbox providers
//! throttle a sender that opens too many connections to them or sends too
//! fast, and an MTA fleet (Postfix, KumoMTA) is configured the same way.
//! `"gmail.com" = { concurrency = 4, rate = 50 }` keeps at most 4 messages
//! to gmail.com in delivery at once and starts at most 50 a second, evenly
//! spaced, on top of the global `rate`; other domains are not held up by
//! a slow one beyond the workers it occupies.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::throttle::Throttle;
use crate::config::DomainLimit;

/// The limits of every configured domain.
#[derive(Default)]
pub struct DomainLimits {
    domains: HashMap<String, Limited>,
}

struct Limited {
    deliveries: Option<Arc<Semaphore>>,
    throttle: Option<Throttle>,
}

impl DomainLimits {
    pub fn new(limits: &BTreeMap<String, DomainLimit>) -> DomainLimits {
        let domains = limits
            .iter()
            .map(|(domain, limit)| {
                let limited = Limited {
                    deliveries: limit
                        .concurrency
                        .map(|n| Arc::new(Semaphore::new(n.max(1)))),
                    // Burst 1: evenly spaced, as MTAs' per-domain rates are.
                    throttle: limit.rate.map(|rate| Throttle::new(Some(rate), 1)),
                };
                (domain.to_ascii_lowercase(), limited)
            })
            .collect();
        DomainLimits { domains }
    }

    /// Waits until a message to `email` may start; keep the returned permit
    /// until its delivery is over (none when its domain has no concurrency limit).
    pub async fn enter(&self, email: &str) -> Option<OwnedSemaphorePermit> {
        let domain = email.rsplit_once('@')?.1.to_ascii_lowercase();
        let limited = self.domains.get(domain.trim_end_matches('>'))?;
        let permit = match &limited.deliveries {
            Some(deliveries) => deliveries.clone().acquire_owned().await.ok(),
            None => None,
        };
        if let Some(throttle) = &limited.throttle {
            throttle.acquire().await;
        }
        permit
    }
}
