//! Rendering: (campaign, customer, moment, lists, offer) → the message a
//! mail client shows well and a spam filter trusts — subject, preheader,
//! HTML, plain text and the final MIME bytes.
//!
//! Pure: no clock (`now` comes in), no I/O once the [`Renderer`] is built
//! (templates and the DKIM key are read by [`Renderer::load`]).
//!
//! Templates are MJML with Tera inside (`templates/*.mjml`), components in
//! `templates/components/` (see [`templates`]), filters in [`filters`]. The
//! pipeline per message: context ([`context`]) → subject and preheader →
//! Tera → mrml ([`mjml`]) → line breaks → html2text ([`text`]) → lettre
//! ([`mime`]) → DKIM ([`dkim`]). The fast path ([`skeleton`]) runs mrml and
//! html2text once per message shape instead of once per message, with the
//! same output.
//!
//! # The template context
//!
//! What designers write against (`{{ … }}` in templates, subject and
//! preheader). Texts from the catalog or the customer are single-line and
//! HTML-escaped in templates; prices and dates are already formatted for the
//! customer; `none` marks what does not apply.
//!
//! | name | what |
//! |---|---|
//! | `shop.name`, `shop.website`, `shop.postal_address` | from `xsell.toml` |
//! | `campaign.id`, `campaign.name` | |
//! | `customer.first_name` (may be empty), `.email`, `.id`, `.locale` (`fr-FR`), `.language` (`fr`), `.timezone`, `.tier`, `.currency`, `.tags` | |
//! | `trigger.kind` | `post_purchase`, `browse`, … or none for a newsletter |
//! | `trigger.at` | when the moment happened, as a date |
//! | `trigger.product`, `trigger.products` | the products the moment is about (the first, all), as product cards see them |
//! | `trigger.category` | browse, new arrival |
//! | `trigger.order.id`, `.date`, `.items` | post-purchase |
//! | `trigger.views` | browse: how many views |
//! | `trigger.metric.name`, `.value`, `.threshold` (formatted), `.count` (number) | usage milestone |
//! | `trigger.tier` | tier reached |
//! | `trigger.days` | inactive: days since the last order |
//! | `lists.<name>.products`, `.count`, `.name` | every list of the campaign, possibly empty |
//! | `offer.percent` (number), `.amount`, `.min_order` (formatted), `.code`, `.expires_at` (date), `.applies_to` (list name or `all`) | or `offer` is none |
//! | `unsubscribe_url` | signed, per recipient |
//! | `subject`, `preheader` | as rendered from the campaign |
//! | `today`, `year` | `now` in the customer's time zone and language |
//!
//! A product (in lists and the trigger): `id`, `name`, `url` (with the
//! campaign's UTM parameters), `image_url`, `category`, `manufacturer`,
//! `rating` (`4.8`, or none without reviews), `rating_count` (number),
//! `reviews` (the count written for the customer: `1,204`), `stars`
//! (`★★★★½`), `reason` (why it was picked), and `price`: `original`,
//! `current` (what they pay), `discounted` and `saving` (or none), `percent`
//! (the offer's percentage; none for an amount off), `has_discount`.

pub mod check;
pub mod context;
pub mod dkim;
pub mod filters;
pub mod format;
pub mod landing;
pub mod locate;
pub mod merge_tags;
pub mod mime;
pub mod mjml;
mod renderer;
pub mod sample;
pub mod skeleton;
pub mod templates;
pub mod text;
pub mod tracking;
pub mod unsubscribe;

use std::fmt;

pub use renderer::Renderer;

use crate::campaign::Campaign;
use crate::config::Config;
use crate::data::{CustomerIx, Store};
use crate::diagnostic::Diagnostic;
use crate::offer::PricedOffer;
use crate::recommend::ResolvedList;
use crate::signing::SigningKey;
use crate::trigger::Occurrence;

/// Everything one message is made from.
#[derive(Clone, Copy)]
pub struct MessageInput<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub campaign: &'a Campaign,
    pub customer: CustomerIx,
    /// The moment; a newsletter has none (its Message-ID then depends on
    /// `now`, so pass an occurrence keyed by the scheduled run to keep it
    /// stable across retries).
    pub occurrence: Option<&'a Occurrence>,
    pub lists: &'a [ResolvedList],
    pub offer: Option<&'a PricedOffer>,
    /// Unix seconds: the Date header, the DKIM timestamp, `today`.
    pub now: i64,
    /// Signs the unsubscribe token and makes the MIME boundary unguessable.
    pub key: &'a SigningKey,
}

/// One rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMessage {
    pub subject: String,
    pub preheader: String,
    /// With angle brackets.
    pub message_id: String,
    /// The whole message, ready for SMTP or an `.eml` file.
    pub eml: Vec<u8>,
    html: mime::Placed,
    text: mime::Placed,
}

impl RenderedMessage {
    /// The HTML part as sent (CRLF line ends).
    pub fn html(&self) -> &str {
        self.html.text(&self.eml)
    }

    /// The plain-text part as sent (CRLF line ends).
    pub fn text(&self) -> &str {
        self.text.text(&self.eml)
    }
}

/// Why a message could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// A template, or the campaign's subject or preheader, failed for this message.
    Template(Diagnostic),
    /// Something about the recipient or the setup (an invalid address…).
    Message(String),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Template(diagnostic) => write!(f, "{diagnostic}"),
            RenderError::Message(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for RenderError {}

impl From<RenderError> for crate::error::Error {
    fn from(error: RenderError) -> Self {
        match error {
            RenderError::Template(diagnostic) => crate::error::Error::Files(diagnostic.into()),
            RenderError::Message(message) => crate::error::Error::Usage(message),
        }
    }
}
