//! HMAC signatures for what xsell hands out and must recognise later:
//! unsubscribe tokens and per-recipient offer codes. The key comes from the
//! environment variable named in `xsell.toml` (`[secrets] signing_key_env`),
//! never from a file.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::Config;
use crate::error::{Error, Result};

/// A signing key, read once from the environment.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

/// Used by `outbox` and previews when the variable is unset, so a fresh clone
/// works; sending over SMTP refuses it.
const DEVELOPMENT_KEY: &[u8] = b"xsell-development-key-not-for-real-mail";

impl SigningKey {
    pub fn new(bytes: impl Into<Vec<u8>>) -> SigningKey {
        SigningKey(bytes.into())
    }

    /// The key from the configured environment variable, or the development
    /// key (with `is_development() == true`) when it is not set.
    pub fn from_config(config: &Config) -> SigningKey {
        match std::env::var(&config.secrets.signing_key_env) {
            Ok(value) if !value.is_empty() => SigningKey(value.into_bytes()),
            _ => SigningKey(DEVELOPMENT_KEY.to_vec()),
        }
    }

    /// The key, refusing the development key (for real sends).
    pub fn require_real(config: &Config) -> Result<SigningKey> {
        let key = SigningKey::from_config(config);
        if key.is_development() {
            return Err(Error::usage(format!(
                "set the environment variable {} to a secret signing key: it signs unsubscribe links and offer codes",
                config.secrets.signing_key_env
            )));
        }
        Ok(key)
    }

    pub fn is_development(&self) -> bool {
        self.0 == DEVELOPMENT_KEY
    }

    /// HMAC-SHA256 of `parts` joined unambiguously (length-prefixed).
    pub fn sign(&self, parts: &[&str]) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// Constant-time check of a signature made by [`SigningKey::sign`], possibly truncated to `signature.len()` bytes.
    pub fn verify(&self, parts: &[&str], signature: &[u8]) -> bool {
        if signature.is_empty() || signature.len() > 32 {
            return false;
        }
        let expected = self.sign(parts);
        let mut difference = 0u8;
        for (a, b) in expected[..signature.len()].iter().zip(signature) {
            difference |= a ^ b;
        }
        difference == 0
    }
}

/// Whether two secrets (a key, a password, a code) are equal, compared
/// without stopping at the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_depend_on_key_and_every_part() {
        let key = SigningKey::new("secret");
        let signature = key.sign(&["unsubscribe", "C1"]);
        assert!(key.verify(&["unsubscribe", "C1"], &signature));
        assert!(key.verify(&["unsubscribe", "C1"], &signature[..10]));
        assert!(!key.verify(&["unsubscribe", "C2"], &signature));
        assert!(
            !key.verify(&["unsubscribeC", "1"], &signature),
            "parts are length-prefixed"
        );
        assert!(!SigningKey::new("other").verify(&["unsubscribe", "C1"], &signature));
        assert!(!key.verify(&["unsubscribe", "C1"], &[]));
    }
}
