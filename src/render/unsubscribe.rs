//! Unsubscribe links: a per-recipient token signed with the workspace's
//! signing key, so the unsubscribe endpoint can trust the customer id in the
//! link without a database lookup, and nobody can unsubscribe someone else.
//!
//! A token is `<customer>.<campaign>.<signature>`, each part base64url
//! (no padding), the signature being the first 16 bytes of
//! HMAC-SHA256("unsubscribe", customer id, campaign id). Every character is
//! URL-safe, so it goes into `unsubscribe.url` as is.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::config::Unsubscribe;
use crate::signing::SigningKey;

const SIGNATURE_BYTES: usize = 16;

/// The token for one customer and campaign.
pub fn token(key: &SigningKey, customer_id: &str, campaign_id: &str) -> String {
    let signature = key.sign(&["unsubscribe", customer_id, campaign_id]);
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(customer_id),
        URL_SAFE_NO_PAD.encode(campaign_id),
        URL_SAFE_NO_PAD.encode(&signature[..SIGNATURE_BYTES])
    )
}

/// The (customer id, campaign id) a token was made for, if its signature holds.
pub fn verify(key: &SigningKey, token: &str) -> Option<(String, String)> {
    let mut parts = token.split('.');
    let (Some(customer), Some(campaign), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok();
    let customer = String::from_utf8(decode(customer)?).ok()?;
    let campaign = String::from_utf8(decode(campaign)?).ok()?;
    let signature = decode(signature)?;
    (signature.len() == SIGNATURE_BYTES
        && key.verify(&["unsubscribe", &customer, &campaign], &signature))
    .then_some((customer, campaign))
}

/// The token of a per-message envelope sender (VERP, `bounces+{token}@…`):
/// the customer id and 8 bytes of HMAC-SHA256("bounce", customer id), short
/// enough for an address's local part.
pub fn bounce_token(key: &SigningKey, customer_id: &str) -> String {
    let signature = key.sign(&["bounce", customer_id]);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(customer_id),
        URL_SAFE_NO_PAD.encode(&signature[..8])
    )
}

/// The customer id of a bounce token, if its signature holds.
pub fn verify_bounce(key: &SigningKey, token: &str) -> Option<String> {
    let (customer, signature) = token.split_once('.')?;
    let customer = String::from_utf8(URL_SAFE_NO_PAD.decode(customer).ok()?).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    (signature.len() == 8 && key.verify(&["bounce", &customer], &signature)).then_some(customer)
}

/// The https link of `config` with the token in place of `{token}`.
pub fn url(config: &Unsubscribe, token: &str) -> String {
    config.url.replace("{token}", token)
}

/// The `mailto:` alternative, when the workspace configures an address.
pub fn mailto(config: &Unsubscribe, token: &str) -> Option<String> {
    config
        .mailto
        .as_ref()
        .map(|address| format!("mailto:{address}?subject=unsubscribe%20{token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_with_its_key_and_untouched() {
        let key = SigningKey::new("secret");
        let token = token(&key, "C000001", "post-purchase-completion");
        assert_eq!(
            token,
            "QzAwMDAwMQ.cG9zdC1wdXJjaGFzZS1jb21wbGV0aW9u.".to_string()
                + &URL_SAFE_NO_PAD.encode(
                    &key.sign(&["unsubscribe", "C000001", "post-purchase-completion"])[..16]
                )
        );
        assert_eq!(
            verify(&key, &token),
            Some((
                "C000001".to_string(),
                "post-purchase-completion".to_string()
            ))
        );
        assert_eq!(verify(&SigningKey::new("other"), &token), None);
        let forged = token.replacen("QzAwMDAwMQ", &URL_SAFE_NO_PAD.encode("C000002"), 1);
        assert_eq!(verify(&key, &forged), None);
        assert_eq!(verify(&key, "not-a-token"), None);
        assert_eq!(verify(&key, &format!("{token}.x")), None);
    }

    #[test]
    fn odd_customer_ids_stay_url_safe() {
        let key = SigningKey::new("secret");
        let token = token(&key, "a&b=c/d?e f", "x");
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "{token}"
        );
        assert_eq!(
            verify(&key, &token).map(|(customer, _)| customer),
            Some("a&b=c/d?e f".to_string())
        );
    }
}
