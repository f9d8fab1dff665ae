//! The message as it goes over SMTP, built with lettre: multipart/alternative
//! (text, then HTML), UTF-8 headers encoded per RFC 2047, `List-Unsubscribe`
//! with `List-Unsubscribe-Post` (RFC 8058), a Message-ID and MIME boundary
//! derived from (campaign, customer, moment) so a retry is byte-identical.
//!
//! Bodies are handed to lettre already encoded: 7-bit when ASCII, 8-bit
//! otherwise, as long as no line exceeds SMTP's 998 octets (the HTML's
//! lines are kept short, see [`super::mjml`]); quoted-printable otherwise.
//! lettre's own choice would be quoted-printable for any line over 76
//! characters, which means re-encoding every message's 35 KB of HTML.

use std::time::{Duration, SystemTime};

use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

/// SMTP's line limit, in octets without the CRLF (RFC 5321 §4.5.3.1.6).
pub const MAX_LINE: usize = 998;

/// How a body is written in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    SevenBit,
    EightBit,
    QuotedPrintable,
}

/// The encoding of a CRLF body: 7-bit or 8-bit when every line fits and
/// line ends are CRLF, quoted-printable otherwise.
pub fn encoding_of(body: &str) -> Encoding {
    let bytes = body.as_bytes();
    let mut line_start = 0;
    for newline in memchr::memchr_iter(b'\n', bytes) {
        if newline == 0 || bytes[newline - 1] != b'\r' || newline - 1 - line_start > MAX_LINE {
            return Encoding::QuotedPrintable;
        }
        line_start = newline + 1;
    }
    let well_formed = bytes.len() - line_start <= MAX_LINE
        && memchr::memchr(0, bytes).is_none()
        && memchr::memchr_iter(b'\r', bytes).all(|at| bytes.get(at + 1) == Some(&b'\n'));
    if !well_formed {
        Encoding::QuotedPrintable
    } else if body.is_ascii() {
        Encoding::SevenBit
    } else {
        Encoding::EightBit
    }
}

/// Everything but the bodies.
pub struct Head<'a> {
    pub from: &'a Mailbox,
    pub reply_to: Option<&'a Mailbox>,
    pub to: Mailbox,
    pub subject: &'a str,
    /// Unix seconds.
    pub date: i64,
    /// With angle brackets: `<…@shop.example>`.
    pub message_id: String,
    /// The value of `List-Unsubscribe`: `<https://…>, <mailto:…>`.
    pub list_unsubscribe: String,
    pub boundary: String,
}

#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// RFC 8058 one-click unsubscription.
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

fn body(content: String, encoding: Encoding) -> Body {
    match encoding {
        Encoding::SevenBit => {
            Body::dangerous_pre_encoded(content.into_bytes(), ContentTransferEncoding::SevenBit)
        }
        Encoding::EightBit => {
            Body::dangerous_pre_encoded(content.into_bytes(), ContentTransferEncoding::EightBit)
        }
        Encoding::QuotedPrintable => {
            Body::new_with_encoding(content, ContentTransferEncoding::QuotedPrintable)
                .unwrap_or_else(|content| {
                    Body::dangerous_pre_encoded(content, ContentTransferEncoding::Base64)
                })
        }
    }
}

/// The message's bytes: `text` and `html` are CRLF bodies with their encodings.
pub fn assemble(
    head: Head<'_>,
    text: (String, Encoding),
    html: (String, Encoding),
) -> Result<Vec<u8>, String> {
    let mut builder = lettre::Message::builder()
        .from(head.from.clone())
        .to(head.to)
        .subject(head.subject)
        .date(SystemTime::UNIX_EPOCH + Duration::from_secs(head.date.max(0) as u64))
        .message_id(Some(head.message_id))
        .header(ListUnsubscribe(head.list_unsubscribe))
        .header(ListUnsubscribePost);
    if let Some(reply_to) = head.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    let parts = MultiPart::alternative()
        .boundary(head.boundary)
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body(text.0, text.1)),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(body(html.0, html.1)),
        );
    builder
        .multipart(parts)
        .map(|message| message.formatted())
        .map_err(|error| format!("cannot build the message: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_line_lengths_and_characters() {
        assert_eq!(encoding_of("ascii\r\nonly\r\n"), Encoding::SevenBit);
        assert_eq!(encoding_of("déjà vu\r\n"), Encoding::EightBit);
        assert_eq!(encoding_of(&"x".repeat(MAX_LINE)), Encoding::SevenBit);
        assert_eq!(
            encoding_of(&format!("{}\r\n", "x".repeat(MAX_LINE + 1))),
            Encoding::QuotedPrintable
        );
        assert_eq!(encoding_of("bare\nlf"), Encoding::QuotedPrintable);
        assert_eq!(encoding_of("bare\rcr"), Encoding::QuotedPrintable);
        assert_eq!(encoding_of("nul\0"), Encoding::QuotedPrintable);
    }
}
