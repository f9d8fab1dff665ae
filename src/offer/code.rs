//! Per-recipient offer codes: short, readable, stable across reruns, and
//! verifiable later without a database of issued codes.
//!
//! A code looks like `PPC-7K2M-QX4R-9WHB`:
//!
//! - `PPC` — a prefix from the campaign id's initials (`post-purchase-completion`),
//!   so people at the till can tell campaigns apart; it is not secret.
//! - `7K2MQX4R` — 40 bits of HMAC(key, campaign id, customer id): the *owner*
//!   part. `xsell offer verify` recomputes it for every customer of every
//!   campaign with unique codes in the workspace (a few million HMACs, in
//!   parallel) and so finds whose code it is. Forging one means guessing 40
//!   bits against the secret key.
//! - `9WHB` — 20 bits of HMAC(key, campaign id, customer id, occurrence key):
//!   the *moment* part, so each moment gets its own code (a customer's second
//!   post-purchase mail does not repeat the first code). It can only be
//!   checked by someone who knows the occurrence key (from the plan or the
//!   ledger), since past moments are not enumerable.
//!
//! The body uses Crockford's base 32 (no I, L, O or U); reading accepts
//! lower case, spaces, dashes, and I/L for 1 and O for 0.

use crate::signing::SigningKey;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const OWNER_CHARS: usize = 8;
const MOMENT_CHARS: usize = 4;
const BODY_CHARS: usize = OWNER_CHARS + MOMENT_CHARS;

/// The readable prefix of a campaign's codes: the initials of the words of
/// its id (`tier-reached` → `TR`, `usage-milestone-20-workouts` → `UM2W`),
/// or the first three letters of a one-word id (`reactivation` → `REA`).
pub fn prefix(campaign_id: &str) -> String {
    let words: Vec<&str> = campaign_id
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let prefix: String = match words.as_slice() {
        [] => "X".to_string(),
        [word] => word.chars().take(3).collect(),
        words => words
            .iter()
            .filter_map(|w| w.chars().next())
            .take(4)
            .collect(),
    };
    prefix.to_ascii_uppercase()
}

/// The code of one recipient for one moment of one campaign.
pub fn unique_code(
    key: &SigningKey,
    campaign_id: &str,
    customer_id: &str,
    occurrence_key: &str,
) -> String {
    let owner = encode(&owner_mac(key, campaign_id, customer_id), OWNER_CHARS);
    let moment = encode(
        &moment_mac(key, campaign_id, customer_id, occurrence_key),
        MOMENT_CHARS,
    );
    format!(
        "{}-{}-{}-{}",
        prefix(campaign_id),
        &owner[..4],
        &owner[4..],
        moment
    )
}

fn owner_mac(key: &SigningKey, campaign_id: &str, customer_id: &str) -> [u8; 32] {
    key.sign(&["offer-code/owner", campaign_id, customer_id])
}

fn moment_mac(
    key: &SigningKey,
    campaign_id: &str,
    customer_id: &str,
    occurrence_key: &str,
) -> [u8; 32] {
    key.sign(&[
        "offer-code/moment",
        campaign_id,
        customer_id,
        occurrence_key,
    ])
}

/// The first `chars` × 5 bits of `bytes`, in the alphabet.
fn encode(bytes: &[u8], chars: usize) -> String {
    (0..chars)
        .map(|i| ALPHABET[bits_at(bytes, i * 5) as usize] as char)
        .collect()
}

/// The 5 bits of `bytes` starting at bit `start` (most significant first).
fn bits_at(bytes: &[u8], start: usize) -> u8 {
    let mut value = 0u8;
    for bit in start..start + 5 {
        let set = bytes[bit / 8] >> (7 - bit % 8) & 1;
        value = value << 1 | set;
    }
    value
}

/// A code as typed, split into its parts and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCode {
    pub prefix: String,
    owner: String,
    moment: String,
}

/// Reads a code as a person may type it; `None` when it cannot be one of ours.
pub fn parse(text: &str) -> Option<ParsedCode> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.len() <= BODY_CHARS || !compact.is_ascii() {
        return None;
    }
    let (prefix, body) = compact.split_at(compact.len() - BODY_CHARS);
    let body: String = body
        .chars()
        .map(|c| match c {
            'I' | 'L' => Some('1'),
            'O' => Some('0'),
            c if ALPHABET.contains(&(c as u8)) => Some(c),
            _ => None,
        })
        .collect::<Option<String>>()?;
    if !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(ParsedCode {
        prefix: prefix.to_string(),
        owner: body[..OWNER_CHARS].to_string(),
        moment: body[OWNER_CHARS..].to_string(),
    })
}

impl ParsedCode {
    /// Whether the owner part is the one of (campaign, customer).
    pub fn owned_by(&self, key: &SigningKey, campaign_id: &str, customer_id: &str) -> bool {
        crate::signing::constant_time_eq(
            encode(&owner_mac(key, campaign_id, customer_id), OWNER_CHARS).as_bytes(),
            self.owner.as_bytes(),
        )
    }

    /// Whether the moment part is the one of this occurrence (owner checked separately).
    pub fn for_occurrence(
        &self,
        key: &SigningKey,
        campaign_id: &str,
        customer_id: &str,
        occurrence_key: &str,
    ) -> bool {
        crate::signing::constant_time_eq(
            encode(
                &moment_mac(key, campaign_id, customer_id, occurrence_key),
                MOMENT_CHARS,
            )
            .as_bytes(),
            self.moment.as_bytes(),
        )
    }

    /// The code written the canonical way (`PPC-7K2M-QX4R-9WHB`).
    pub fn canonical(&self) -> String {
        format!(
            "{}-{}-{}-{}",
            self.prefix,
            &self.owner[..4],
            &self.owner[4..],
            self.moment
        )
    }
}

/// Whose code it is: every (campaign, customer) among the candidates whose
/// owner part matches. Campaigns whose prefix is the code's are tried first;
/// the others only when none of those match (a campaign may have been renamed).
pub fn find_owners<'a>(
    key: &SigningKey,
    code: &ParsedCode,
    campaigns: &[&'a str],
    customers: &[&'a str],
) -> Vec<(&'a str, &'a str)> {
    use rayon::prelude::*;
    let search = |campaigns: Vec<&'a str>| -> Vec<(&'a str, &'a str)> {
        campaigns
            .into_iter()
            .flat_map(|campaign| {
                customers
                    .par_iter()
                    .filter(|customer| code.owned_by(key, campaign, customer))
                    .map(|customer| (campaign, *customer))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let (same_prefix, others): (Vec<&str>, Vec<&str>) =
        campaigns.iter().partition(|c| prefix(c) == code.prefix);
    let found = search(same_prefix);
    if found.is_empty() {
        search(others)
    } else {
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::new("test-secret")
    }

    #[test]
    fn prefixes_from_campaign_ids() {
        assert_eq!(prefix("post-purchase-completion"), "PPC");
        assert_eq!(prefix("usage-milestone-20-workouts"), "UM2W");
        assert_eq!(prefix("reactivation"), "REA");
        assert_eq!(prefix("tier_reached"), "TR");
        assert_eq!(prefix("--"), "X");
    }

    #[test]
    fn codes_are_stable_short_and_readable() {
        let code = unique_code(&key(), "post-purchase-completion", "C000123", "order:O1");
        assert_eq!(
            code,
            unique_code(&key(), "post-purchase-completion", "C000123", "order:O1")
        );
        assert_eq!(code.len(), "PPC-XXXX-XXXX-XXXX".len());
        assert!(code.starts_with("PPC-"));
        assert!(
            code[4..]
                .chars()
                .all(|c| c == '-' || ALPHABET.contains(&(c as u8)))
        );
        assert!(!code[4..].contains(['I', 'L', 'O', 'U']));
        // Pinned to a value computed independently (Python's hmac, RFC 2104):
        // the derivation must never change, or issued codes stop verifying.
        assert_eq!(
            unique_code(&SigningKey::new("k"), "c", "u", "o"),
            "C-K2AR-CCJN-FPFP"
        );
    }

    #[test]
    fn each_part_depends_on_what_it_binds() {
        let base = unique_code(&key(), "camp", "C1", "order:O1");
        let other_moment = unique_code(&key(), "camp", "C1", "order:O2");
        let other_customer = unique_code(&key(), "camp", "C2", "order:O1");
        let other_key = unique_code(&SigningKey::new("other"), "camp", "C1", "order:O1");
        assert_eq!(base[..14], other_moment[..14], "same owner part");
        assert_ne!(base[14..], other_moment[14..], "different moment part");
        assert_ne!(base[5..14], other_customer[5..14]);
        assert_ne!(base, other_key);
    }

    #[test]
    fn verification_finds_the_owner_and_checks_the_moment() {
        let customers: Vec<String> = (0..2_000).map(|i| format!("C{i:06}")).collect();
        let customers: Vec<&str> = customers.iter().map(String::as_str).collect();
        let campaigns = ["post-purchase-completion", "reactivation"];
        let code = unique_code(&key(), "reactivation", "C001234", "inactive:2026-11-16");
        let parsed = parse(&code).unwrap();
        assert_eq!(parsed.canonical(), code);
        assert_eq!(
            find_owners(&key(), &parsed, &campaigns, &customers),
            [("reactivation", "C001234")]
        );
        assert!(parsed.for_occurrence(&key(), "reactivation", "C001234", "inactive:2026-11-16"));
        assert!(!parsed.for_occurrence(&key(), "reactivation", "C001234", "inactive:2026-08-01"));
        // Typed sloppily: lower case, no dashes, O for 0 and l for 1.
        let sloppy = code
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        assert_eq!(parse(&sloppy).unwrap(), parsed);
        // Another key, or a changed character: nobody's.
        assert_eq!(
            find_owners(&SigningKey::new("x"), &parsed, &campaigns, &customers),
            []
        );
        let mut tampered = code.clone().into_bytes();
        let last = tampered.len() - 6;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = parse(std::str::from_utf8(&tampered).unwrap()).unwrap();
        assert_eq!(find_owners(&key(), &tampered, &campaigns, &customers), []);
    }

    #[test]
    fn a_renamed_prefix_still_verifies_and_junk_does_not_parse() {
        let code = unique_code(
            &key(),
            "tier-reached",
            "C1",
            "tier:gold:2026-11-10T02:58:22Z",
        );
        let renamed = format!("ZZ{}", &code[2..]);
        let parsed = parse(&renamed).unwrap();
        assert_eq!(
            find_owners(&key(), &parsed, &["tier-reached"], &["C0", "C1"]),
            [("tier-reached", "C1")]
        );
        assert_eq!(parse("SPRING20"), None);
        assert_eq!(
            parse("PPC-7K2M-QX4R-9WHU"),
            None,
            "U is not in the alphabet"
        );
        assert_eq!(parse("P€C-7K2M-QX4R-9WHB"), None);
    }
}
