//! What a message that comes back to the shop says: a delivery status
//! notification (RFC 3464), a spam complaint from a feedback loop (RFC 5965,
//! ARF), an unsubscribe by mail (the `List-Unsubscribe` mailto), or nothing
//! we understand. Pure: bytes in, a verdict out; `xsell inbound` acts on it.
//!
//! The recipient is taken from the envelope address the bounce came to
//! (`bounces+{token}@…`, signed: see [`crate::render::unsubscribe::bounce_token`])
//! when there is one; otherwise from the report's own fields, which the
//! caller only trusts for addresses xsell has mailed.

use mail_parser::{Message, MessageParser, MimeHeaders};

use crate::render::unsubscribe;
use crate::signing::SigningKey;

/// Who a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Named by a signed token (VERP or the unsubscribe token): trusted.
    Customer(String),
    /// Named only by the report's fields (Final-Recipient, Original-Rcpt-To).
    Address(String),
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A permanent failure (5.x.x): never mail the address again.
    Bounce { who: Subject, status: String },
    /// A temporary failure (4.x.x, or `Action: delayed`): counted.
    SoftBounce { who: Subject, status: String },
    /// A feedback-loop complaint.
    Complaint { who: Subject, feedback: String },
    /// An unsubscribe sent to the `List-Unsubscribe` mailto, with its token.
    Unsubscribe { customer: String, campaign: String },
    /// Anything else, and why.
    Unrecognised(String),
}

/// Reads one message. `recipient` is the envelope address it was delivered
/// to (the MTA's `${recipient}`), when the caller knows it.
pub fn classify(bytes: &[u8], recipient: Option<&str>, key: &SigningKey) -> Verdict {
    let Some(message) = MessageParser::default().parse(bytes) else {
        return Verdict::Unrecognised("not a mail message".into());
    };
    let envelope = recipient
        .map(str::to_string)
        .into_iter()
        .chain(
            ["X-Original-To", "Delivered-To", "To"]
                .iter()
                .filter_map(|name| header_text(&message, name)),
        )
        .find_map(|address| verp_customer(&address, key));
    if let Some(report) = part_text(&message, "message", "feedback-report") {
        let fields = fields(&report);
        let feedback = field(&fields, "feedback-type")
            .unwrap_or("abuse")
            .to_string();
        let who = match (envelope, field(&fields, "original-rcpt-to")) {
            (Some(customer), _) => Subject::Customer(customer),
            (None, Some(address)) => Subject::Address(bare_address(address).to_lowercase()),
            (None, None) => {
                return Verdict::Unrecognised("a complaint that names no recipient".into());
            }
        };
        return Verdict::Complaint { who, feedback };
    }
    if let Some(report) = part_text(&message, "message", "delivery-status") {
        return delivery_status(&report, envelope);
    }
    let subject = message.subject().unwrap_or_default().trim().to_string();
    if let Some(token) = subject
        .strip_prefix("unsubscribe ")
        .or_else(|| subject.strip_prefix("Unsubscribe "))
    {
        return match unsubscribe::verify(key, token.trim()) {
            Some((customer, campaign)) => Verdict::Unsubscribe { customer, campaign },
            None => Verdict::Unrecognised("an unsubscribe with a token that is not valid".into()),
        };
    }
    Verdict::Unrecognised(format!(
        "neither a delivery report, a complaint nor an unsubscribe (subject: {})",
        subject.chars().take(80).collect::<String>()
    ))
}

/// The per-recipient blocks of a `message/delivery-status` part: the first
/// failed or delayed recipient decides.
fn delivery_status(report: &str, envelope: Option<String>) -> Verdict {
    // Blocks are separated by blank lines: the first is per message.
    let blocks: Vec<Vec<(String, String)>> = report
        .replace("\r\n", "\n")
        .split("\n\n")
        .map(fields)
        .filter(|f| !f.is_empty())
        .collect();
    for block in blocks.iter().skip(1).chain(blocks.iter().take(1)) {
        let action = field(block, "action").unwrap_or("").to_ascii_lowercase();
        let status = field(block, "status").unwrap_or("").trim().to_string();
        let recipient = field(block, "final-recipient")
            .or_else(|| field(block, "original-recipient"))
            .map(|r| bare_address(r.split_once(';').map_or(r, |(_, a)| a)).to_lowercase());
        let who = match (&envelope, recipient) {
            (Some(customer), _) => Subject::Customer(customer.clone()),
            (None, Some(address)) => Subject::Address(address),
            (None, None) => continue,
        };
        let class = status.chars().next();
        if action == "failed" || class == Some('5') {
            if class == Some('4') {
                return Verdict::SoftBounce { who, status };
            }
            return Verdict::Bounce { who, status };
        }
        if action == "delayed" || class == Some('4') {
            return Verdict::SoftBounce { who, status };
        }
    }
    Verdict::Unrecognised("a delivery report without a failed or delayed recipient".into())
}

/// The customer of a `bounces+{token}@…` address, if the token is ours.
fn verp_customer(address: &str, key: &SigningKey) -> Option<String> {
    let address = bare_address(address);
    let local = address.split('@').next()?;
    let token = local.split_once('+')?.1;
    unsubscribe::verify_bounce(key, token)
}

/// `Name <a@b>` or `rfc822; a@b` → `a@b`, case kept (a VERP token's is
/// significant; addresses are lower-cased where they are compared).
fn bare_address(text: &str) -> String {
    let text = text.trim();
    let inner = match (text.rfind('<'), text.rfind('>')) {
        (Some(start), Some(end)) if start < end => &text[start + 1..end],
        _ => text,
    };
    inner.trim().trim_matches(['<', '>']).to_string()
}

fn header_text(message: &Message<'_>, name: &str) -> Option<String> {
    let value = message.header(name)?;
    if let Some(text) = value.as_text() {
        return Some(text.to_string());
    }
    let address = value.as_address()?;
    address
        .first()
        .and_then(|a| a.address())
        .map(str::to_string)
}

/// The text of the first part of type `kind/sub`.
fn part_text(message: &Message<'_>, kind: &str, sub: &str) -> Option<String> {
    message.parts.iter().find_map(|part| {
        let content_type = part.content_type()?;
        (content_type.ctype().eq_ignore_ascii_case(kind)
            && content_type
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case(sub)))
        .then(|| String::from_utf8_lossy(part.contents()).into_owned())
    })
}

/// `Name: value` lines (continuations folded), names lower-cased.
fn fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
