//! DKIM signatures (RFC 6376: rsa-sha256, relaxed/relaxed) over the final
//! bytes of a message.
//!
//! lettre can sign too, but stamps the signature with the wall clock
//! (`t=`); here the time is the message's `now`, so a signed message is as
//! reproducible as an unsigned one, and the fast and straightforward paths
//! sign the very same bytes. The RSA signature is ring's (the TLS stack's
//! crypto, several times faster than a pure-Rust RSA); its blinding uses OS
//! randomness, which protects the key and does not change the signature
//! (PKCS#1 v1.5 signatures are deterministic).

use std::path::Path;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rsa::KeyPair;
use ring::signature::RSA_PKCS1_SHA256;
use sha2::{Digest, Sha256};

/// Headers signed when present, in this order.
const SIGNED_HEADERS: &[&str] = &[
    "from",
    "reply-to",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-unsubscribe",
    "list-unsubscribe-post",
];

/// A domain's DKIM key, ready to sign.
#[derive(Debug, Clone)]
pub struct DkimSigner {
    domain: String,
    selector: String,
    key: Arc<KeyPair>,
}

impl DkimSigner {
    /// From a PEM RSA private key (PKCS#1 `BEGIN RSA PRIVATE KEY` or PKCS#8 `BEGIN PRIVATE KEY`).
    pub fn from_pem(domain: &str, selector: &str, pem: &str) -> Result<DkimSigner, String> {
        let der = |label: &str| -> Option<Vec<u8>> {
            let begin = format!("-----BEGIN {label}-----");
            let end = format!("-----END {label}-----");
            let body = pem.split_once(&begin)?.1.split_once(&end)?.0;
            let base64: String = body.split_whitespace().collect();
            BASE64.decode(base64).ok()
        };
        let key = if let Some(der) = der("RSA PRIVATE KEY") {
            KeyPair::from_der(&der)
        } else if let Some(der) = der("PRIVATE KEY") {
            KeyPair::from_pkcs8(&der)
        } else {
            return Err("not an RSA private key in PEM form (`BEGIN RSA PRIVATE KEY` or `BEGIN PRIVATE KEY`)".to_string());
        }
        .map_err(|error| format!("not a usable RSA private key ({error})"))?;
        Ok(DkimSigner {
            domain: domain.to_string(),
            selector: selector.to_string(),
            key: Arc::new(key),
        })
    }

    /// Reads the key file named in `[dkim]`.
    pub fn from_file(domain: &str, selector: &str, path: &Path) -> Result<DkimSigner, String> {
        let pem = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the DKIM key {}: {error}", path.display()))?;
        DkimSigner::from_pem(domain, selector, &pem)
            .map_err(|error| format!("{}: {error}", path.display()))
    }

    /// `message` (CRLF, headers then a blank line then the body) with a
    /// `DKIM-Signature` header in front, stamped `t=now`.
    pub fn sign(&self, message: &[u8], now: i64) -> Result<Vec<u8>, String> {
        let split = find(message, b"\r\n\r\n")
            .ok_or("the message has no blank line between headers and body")?;
        let (head, body) = (&message[..split + 2], &message[split + 4..]);
        let headers = parse_headers(head);
        let body_hash = BASE64.encode(Sha256::digest(canonical_body(body)));

        let mut signed = Vec::new();
        let mut hashed = Vec::new();
        for name in SIGNED_HEADERS {
            if let Some((_, value)) = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                signed.push(*name);
                canonical_header(name, value, &mut hashed);
                hashed.extend_from_slice(b"\r\n");
            }
        }
        let unsigned = format!(
            "v=1; a=rsa-sha256; c=relaxed/relaxed; d={}; s={};\r\n\tt={now}; h={};\r\n\tbh={body_hash};\r\n\tb=",
            self.domain,
            self.selector,
            signed.join(":")
        );
        canonical_header("dkim-signature", unsigned.as_bytes(), &mut hashed);
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                &hashed,
                &mut signature,
            )
            .map_err(|_| "DKIM signing failed".to_string())?;
        let signature = BASE64.encode(signature);
        let mut out = Vec::with_capacity(message.len() + 512);
        out.extend_from_slice(b"DKIM-Signature: ");
        out.extend_from_slice(unsigned.as_bytes());
        for (i, chunk) in signature.as_bytes().chunks(72).enumerate() {
            if i > 0 {
                out.extend_from_slice(b"\r\n\t ");
            }
            out.extend_from_slice(chunk);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(message);
        Ok(out)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// (name, raw value with its folding) of each header line.
fn parse_headers(head: &[u8]) -> Vec<(&str, &[u8])> {
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    let mut start = 0;
    let mut index = 0;
    while index + 1 < head.len() {
        let line_end = head[index] == b'\r' && head[index + 1] == b'\n';
        let continues = head
            .get(index + 2)
            .is_some_and(|b| *b == b' ' || *b == b'\t');
        if line_end && !continues {
            let line = &head[start..index];
            if let Some(colon) = line.iter().position(|b| *b == b':') {
                let name = std::str::from_utf8(&line[..colon])
                    .unwrap_or_default()
                    .trim();
                headers.push((name, &line[colon + 1..]));
            }
            start = index + 2;
            index += 2;
        } else {
            index += 1;
        }
    }
    headers
}

/// RFC 6376 §3.4.2: lowercase name, unfolded value, whitespace runs as one
/// space, none around the colon or at the end.
fn canonical_header(name: &str, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(name.to_ascii_lowercase().as_bytes());
    out.push(b':');
    let mut pending_space = false;
    let mut wrote = false;
    for &byte in value {
        match byte {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => pending_space = wrote,
            _ => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(byte);
                wrote = true;
            }
        }
    }
}

/// RFC 6376 §3.4.4: whitespace runs as one space, none at line ends, no
/// empty lines at the end, and a final CRLF if there is any content.
fn canonical_body(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut blank_run = 0;
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut canonical = Vec::with_capacity(line.len());
        let mut pending_space = false;
        for &byte in line {
            if byte == b' ' || byte == b'\t' {
                pending_space = true;
            } else {
                if pending_space {
                    canonical.push(b' ');
                    pending_space = false;
                }
                canonical.push(byte);
            }
        }
        if canonical.is_empty() {
            blank_run += 1;
            continue;
        }
        for _ in 0..blank_run {
            out.extend_from_slice(b"\r\n");
        }
        blank_run = 0;
        out.extend_from_slice(&canonical);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_canonicalization_follows_the_rfc_example() {
        // RFC 6376 §3.4.5.
        assert_eq!(
            canonical_body(b" C \r\nD \t E\r\n\r\n\r\n"),
            b" C\r\nD E\r\n".to_vec()
        );
        assert_eq!(canonical_body(b""), b"".to_vec());
        assert_eq!(canonical_body(b"\r\n\r\n"), b"".to_vec());
    }

    #[test]
    fn header_canonicalization_follows_the_rfc_example() {
        let mut out = Vec::new();
        canonical_header("A", b" X\r\n", &mut out);
        out.extend_from_slice(b"\r\n");
        canonical_header("B", b" Y\t\r\n\tZ  ", &mut out);
        assert_eq!(out, b"a:X\r\nb:Y Z".to_vec());
    }

    #[test]
    fn headers_are_split_with_their_folded_lines() {
        let head = b"From: a@b.example\r\nSubject: one\r\n two\r\nTo: c@d.example\r\n";
        let headers = parse_headers(head);
        assert_eq!(headers.len(), 3);
        assert_eq!(headers[1], ("Subject", &b" one\r\n two"[..]));
    }
}
