//! Landing links (`{{ more_url }}`): a per-message token signed with the
//! workspace's key, so `xsell listen` can open the page of one message —
//! its products and more from the same lists — without a login or a
//! database lookup to trust the link, and nobody can open another
//! customer's page by changing an id.
//!
//! A token is `<customer>.<campaign>.<occurrence>.<signature>`, each part
//! base64url (no padding), the signature the first 16 bytes of
//! HMAC-SHA256("landing", customer id, campaign id, occurrence key).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::signing::SigningKey;

const SIGNATURE_BYTES: usize = 16;

/// The message a landing token was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    pub customer: String,
    pub campaign: String,
    /// The moment's key, as in the ledger (`order:O123`, `newsletter:…`).
    pub occurrence: String,
}

pub fn token(key: &SigningKey, message: &MessageRef) -> String {
    let signature = key.sign(&[
        "landing",
        &message.customer,
        &message.campaign,
        &message.occurrence,
    ]);
    format!(
        "{}.{}.{}.{}",
        URL_SAFE_NO_PAD.encode(&message.customer),
        URL_SAFE_NO_PAD.encode(&message.campaign),
        URL_SAFE_NO_PAD.encode(&message.occurrence),
        URL_SAFE_NO_PAD.encode(&signature[..SIGNATURE_BYTES])
    )
}

/// The message of a token, if its signature holds.
pub fn verify(key: &SigningKey, token: &str) -> Option<MessageRef> {
    let mut parts = token.split('.');
    let (Some(customer), Some(campaign), Some(occurrence), Some(signature), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let text = |part: &str| String::from_utf8(URL_SAFE_NO_PAD.decode(part).ok()?).ok();
    let message = MessageRef {
        customer: text(customer)?,
        campaign: text(campaign)?,
        occurrence: text(occurrence)?,
    };
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    (signature.len() == SIGNATURE_BYTES
        && key.verify(
            &[
                "landing",
                &message.customer,
                &message.campaign,
                &message.occurrence,
            ],
            &signature,
        ))
    .then_some(message)
}

/// `landing_url` (with `{token}`) for one message; empty when the
/// workspace has no landing URL.
pub fn url(landing_url: &str, key: &SigningKey, message: &MessageRef) -> String {
    if landing_url.is_empty() {
        return String::new();
    }
    landing_url.replace("{token}", &token(key, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> MessageRef {
        MessageRef {
            customer: "C0042".into(),
            campaign: "post-purchase".into(),
            occurrence: "order:O1.2".into(),
        }
    }

    #[test]
    fn a_token_opens_its_message_only() {
        let key = SigningKey::new(b"k".to_vec());
        let token = token(&key, &message());
        assert_eq!(verify(&key, &token), Some(message()));
        assert_eq!(verify(&SigningKey::new(b"other".to_vec()), &token), None);
        // Another customer with the same signature is refused.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode("C0043");
        parts[0] = &forged;
        assert_eq!(verify(&key, &parts.join(".")), None);
        assert_eq!(verify(&key, "a.b.c"), None);
        assert_eq!(verify(&key, ""), None);
    }
}
