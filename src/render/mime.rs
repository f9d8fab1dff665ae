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

use std::ops::Range;
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

/// Where a body is: its bytes in the message (7- or 8-bit), or apart
/// (quoted-printable: the message holds it encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    In(Range<usize>),
    Apart(String),
}

impl Placed {
    /// The body as text, from `eml` when it is in it.
    pub fn text<'a>(&'a self, eml: &'a [u8]) -> &'a str {
        match self {
            Placed::In(range) => std::str::from_utf8(&eml[range.clone()]).unwrap_or_default(),
            Placed::Apart(text) => text,
        }
    }

    /// Moved `by` bytes later (a header was put in front).
    pub fn shifted(self, by: usize) -> Placed {
        match self {
            Placed::In(range) => Placed::In(range.start + by..range.end + by),
            apart => apart,
        }
    }
}

/// A message's bytes and where its two bodies are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    pub eml: Vec<u8>,
    pub text: Placed,
    pub html: Placed,
}

fn message(head: Head<'_>, text: Body, html: Body) -> Result<lettre::Message, String> {
    // The envelope is given, so lettre does not parse it back out of the headers.
    let envelope =
        lettre::address::Envelope::new(Some(head.from.email.clone()), vec![head.to.email.clone()])
            .map_err(|error| format!("cannot build the envelope: {error}"))?;
    let mut builder = lettre::Message::builder()
        .envelope(envelope)
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
                .body(text),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html),
        );
    builder
        .multipart(parts)
        .map_err(|error| format!("cannot build the message: {error}"))
}

/// Where the two part bodies start in a formatted message: after the blank
/// line that ends each part's headers, the parts being the first two after
/// `--boundary`.
fn body_starts(eml: &[u8], boundary: &str) -> Option<[usize; 2]> {
    let delimiter = format!("--{boundary}\r\n");
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    let blank = memchr::memmem::Finder::new(b"\r\n\r\n");
    let mut starts = [0; 2];
    let mut from = 0;
    for start in &mut starts {
        let part = from + finder.find(&eml[from..])? + delimiter.len();
        *start = part + blank.find(&eml[part..])? + 4;
        from = *start;
    }
    Some(starts)
}

/// The message's bytes, built by lettre: `text` and `html` are CRLF bodies
/// with their encodings.
pub fn assemble(
    head: Head<'_>,
    text: (String, Encoding),
    html: (String, Encoding),
) -> Result<Assembled, String> {
    let boundary = head.boundary.clone();
    let lengths = [text.0.len(), html.0.len()];
    let encodings = [text.1, html.1];
    let (text, html) = (text.0, html.0);
    let text_part = (encodings[0] == Encoding::QuotedPrintable).then(|| text.clone());
    let html_part = (encodings[1] == Encoding::QuotedPrintable).then(|| html.clone());
    let eml = message(head, body(text, encodings[0]), body(html, encodings[1]))?.formatted();
    let starts = body_starts(&eml, &boundary).ok_or("lettre wrote no parts")?;
    let place = |index: usize, apart: Option<String>| match apart {
        Some(text) => Placed::Apart(text),
        None => Placed::In(starts[index]..starts[index] + lengths[index]),
    };
    Ok(Assembled {
        text: place(0, text_part),
        html: place(1, html_part),
        eml,
    })
}

/// The same bytes as [`assemble`] for 7- and 8-bit bodies, with the HTML
/// written straight into the message by `write_html` (`html_len` bytes):
/// no copy of the HTML, no growing buffer. lettre encodes every header (its
/// own header types, in the order its builder writes them); the frame
/// around the bodies is written here, as lettre writes it.
pub fn assemble_spliced(
    head: Head<'_>,
    text: &str,
    text_encoding: Encoding,
    html_len: usize,
    html_encoding: Encoding,
    write_html: impl FnOnce(&mut Vec<u8>),
) -> Result<Assembled, String> {
    use lettre::message::header::{self as h, Header as _};
    use lettre::message::{Mailboxes, header::Headers};

    let mut headers = Headers::with_capacity(10);
    headers.insert_raw(h::From::from(Mailboxes::from(head.from.clone())).display());
    headers.insert_raw(h::To::from(Mailboxes::from(head.to)).display());
    headers.insert_raw(h::Subject::from(head.subject.to_string()).display());
    headers.insert_raw(
        h::Date::new(SystemTime::UNIX_EPOCH + Duration::from_secs(head.date.max(0) as u64))
            .display(),
    );
    headers.insert_raw(h::MessageId::from(head.message_id).display());
    headers.insert_raw(ListUnsubscribe(head.list_unsubscribe).display());
    headers.insert_raw(ListUnsubscribePost.display());
    if let Some(reply_to) = head.reply_to {
        headers.insert_raw(h::ReplyTo::from(Mailboxes::from(reply_to.clone())).display());
    }
    headers.insert_raw(h::MIME_VERSION_1_0.display());
    let content_type = h::ContentType::parse(&format!(
        "multipart/alternative; boundary=\"{}\"",
        head.boundary
    ))
    .map_err(|error| format!("cannot write the boundary: {error}"))?;
    headers.insert_raw(content_type.display());
    let part = |content_type: h::ContentType, encoding: Encoding| {
        let mut part = Headers::with_capacity(2);
        part.insert_raw(content_type.display());
        part.insert_raw(transfer_encoding(encoding).display());
        part.to_string()
    };
    let text_part = part(h::ContentType::TEXT_PLAIN, text_encoding);
    let html_part = part(h::ContentType::TEXT_HTML, html_encoding);
    let head_text = headers.to_string();
    let boundary = head.boundary.as_bytes();
    let mut eml = Vec::with_capacity(
        head_text.len() + text_part.len() + html_part.len() + text.len() + html_len + 128,
    );
    // Headers, a blank line, then each part: delimiter, part headers, a
    // blank line, the body; then the closing delimiter.
    let delimiter = |eml: &mut Vec<u8>, end: &[u8]| {
        eml.extend_from_slice(b"\r\n--");
        eml.extend_from_slice(boundary);
        eml.extend_from_slice(end);
    };
    eml.extend_from_slice(head_text.as_bytes());
    delimiter(&mut eml, b"\r\n");
    eml.extend_from_slice(text_part.as_bytes());
    eml.extend_from_slice(b"\r\n");
    let text_start = eml.len();
    eml.extend_from_slice(text.as_bytes());
    let text_range = text_start..eml.len();
    delimiter(&mut eml, b"\r\n");
    eml.extend_from_slice(html_part.as_bytes());
    eml.extend_from_slice(b"\r\n");
    let html_start = eml.len();
    write_html(&mut eml);
    let html_range = html_start..eml.len();
    delimiter(&mut eml, b"--\r\n");
    Ok(Assembled {
        eml,
        text: Placed::In(text_range),
        html: Placed::In(html_range),
    })
}

fn transfer_encoding(encoding: Encoding) -> ContentTransferEncoding {
    match encoding {
        Encoding::SevenBit => ContentTransferEncoding::SevenBit,
        Encoding::EightBit => ContentTransferEncoding::EightBit,
        Encoding::QuotedPrintable => ContentTransferEncoding::QuotedPrintable,
    }
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
