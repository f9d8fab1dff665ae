//! `xsell inbound < message`: an MTA's pipe for what comes back to the
//! bounce address. It never answers 1 for mail it did not understand (the
//! MTA would bounce the bounce): the exit codes are sysexits —
//! 0 handled or recorded as unrecognised, 75 (`EX_TEMPFAIL`) when the
//! ledger cannot be written now (the MTA tries again later), 78
//! (`EX_CONFIG`) when the workspace itself is wrong.

use std::io::Read;

use crate::cli::Global;
use crate::config::Config;
use crate::inbound::{Subject, Verdict, classify};
use crate::ledger::{Creation, Ledger, Scope};
use crate::signing::SigningKey;

const EX_TEMPFAIL: i32 = 75;
const EX_CONFIG: i32 = 78;

/// The largest message read; the rest is not needed to classify it.
const MAX_BYTES: u64 = 10 << 20;

pub fn run(
    global: &Global,
    recipient: Option<&str>,
    soft_bounces: i64,
    soft_bounce_window: chrono::TimeDelta,
) -> i32 {
    let mut bytes = Vec::new();
    if let Err(error) = std::io::stdin().take(MAX_BYTES).read_to_end(&mut bytes) {
        crate::stderr::warning(&format!("cannot read the message: {error}"));
        return EX_TEMPFAIL;
    }
    let config = match Config::load(&global.workspace) {
        Ok(config) => config,
        Err(problems) => {
            crate::stderr::error(&crate::error::Error::Files(problems));
            return EX_CONFIG;
        }
    };
    let key = match SigningKey::require_real(&config) {
        Ok(key) => key,
        Err(error) => {
            crate::stderr::error(&error);
            return EX_CONFIG;
        }
    };
    let now = global
        .explicit_now()
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
    let verdict = classify(&bytes, recipient, &key);
    let policy = Policy {
        soft_bounces,
        window_start: now - soft_bounce_window.num_seconds(),
        // With per-message envelope senders, every genuine report names its
        // recipient by a signed token: a report without one is not believed.
        signed_only: config.sender.return_path.is_some(),
    };
    let handled = Ledger::for_config(&config, Creation::IfNeverSent)
        .and_then(|mut ledger| ledger.in_transaction(|ledger| act(ledger, &verdict, now, &policy)));
    match handled {
        Ok(line) => {
            if crate::stderr::is_json() {
                println!("{}", serde_json::json!({ "outcome": line }));
            } else {
                println!("{line}");
            }
            0
        }
        Err(error) => {
            crate::stderr::error(&error);
            EX_TEMPFAIL
        }
    }
}

/// How reports are weighed.
struct Policy {
    /// Temporary failures since `window_start` that suppress an address.
    soft_bounces: i64,
    window_start: i64,
    /// Only reports that name their recipient by a signed token count.
    signed_only: bool,
}

/// The address a report is about, when we may act on it: a signed token's
/// customer (the address xsell last mailed them at), or — unless the policy
/// wants a token — an address xsell has mailed (anyone can send a report
/// naming any address).
fn address(
    ledger: &Ledger,
    who: &Subject,
    policy: &Policy,
) -> crate::error::Result<Option<String>> {
    match who {
        Subject::Customer(customer) => ledger.email_of_customer(customer),
        Subject::Address(_) if policy.signed_only => Ok(None),
        Subject::Address(address) => Ok(ledger.has_mailed(address)?.then(|| address.clone())),
    }
}

fn act(
    ledger: &mut Ledger,
    verdict: &Verdict,
    now: i64,
    policy: &Policy,
) -> crate::error::Result<String> {
    let unknown = |ledger: &mut Ledger, what: &str| -> crate::error::Result<String> {
        let detail = format!(
            "{what} about an address xsell has not mailed{}",
            if policy.signed_only {
                ", or without a signed envelope token"
            } else {
                ""
            }
        );
        ledger.record_inbound("unrecognised", None, &detail, now)?;
        Ok(format!("unrecognised: {detail}"))
    };
    Ok(match verdict {
        Verdict::Bounce { who, status } => {
            let Some(email) = address(ledger, who, policy)? else {
                return unknown(ledger, "a bounce");
            };
            let source = format!("dsn {status}");
            ledger.record_suppressing("bounce", &email, "bounced", &source, None, status, now)?;
            format!("bounce {status}: suppressed")
        }
        Verdict::SoftBounce { who, status } => {
            let Some(email) = address(ledger, who, policy)? else {
                return unknown(ledger, "a delay");
            };
            let (count, suppressed) = ledger.record_soft_bounce(
                &email,
                status,
                "dsn",
                now,
                policy.soft_bounces,
                policy.window_start,
            )?;
            let verdict = if suppressed { "suppressed" } else { "counted" };
            format!("temporary failure {status} ({count} in the window): {verdict}")
        }
        Verdict::Complaint { who, feedback } => {
            let Some(email) = address(ledger, who, policy)? else {
                return unknown(ledger, "a complaint");
            };
            ledger.record_suppressing(
                "complaint",
                &email,
                "complained",
                "arf",
                None,
                feedback,
                now,
            )?;
            format!("complaint ({feedback}): suppressed")
        }
        Verdict::Unsubscribe { customer, campaign } => {
            let Some(email) = ledger.email_of(customer, campaign)? else {
                return unknown(ledger, "an unsubscribe");
            };
            ledger.record_inbound("unsubscribe", Some(&email), campaign, now)?;
            ledger.unsubscribe(&email, &Scope::All, campaign, "mailto", now)?;
            "unsubscribe by mail: suppressed".to_string()
        }
        Verdict::Unrecognised(why) => {
            ledger.record_inbound("unrecognised", None, why, now)?;
            format!("unrecognised: {why}")
        }
    })
}
