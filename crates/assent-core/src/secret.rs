//! Secrets: API keys, session tokens and tickets. Raw values are shown once and stored only
//! as SHA-256 hex digests.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// `hp_` + 48 lowercase hex chars (24 random bytes), as Placet.
pub fn new_api_key() -> String {
    format!("hp_{}", random_hex(24))
}

/// True when `raw` has the exact shape of an API key.
pub fn is_api_key_shape(raw: &str) -> bool {
    raw.len() == 51
        && raw.starts_with("hp_")
        && raw[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The agent key a request carries: `x-api-key`, or (as Placet's older docs show)
/// `Authorization: Bearer hp_…`. Anything that does not start with `hp_` is no key.
pub fn agent_key<'a>(
    x_api_key: Option<&'a str>,
    authorization: Option<&'a str>,
) -> Option<&'a str> {
    let bearer = authorization.and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    });
    x_api_key
        .or(bearer)
        .map(str::trim)
        .filter(|k| k.starts_with("hp_"))
}

/// First 11 characters, shown in listings (`hp_a3f8abc1`).
pub fn key_prefix(raw: &str) -> String {
    raw.chars().take(11).collect()
}

/// An opaque bearer token for sessions (`as_…`) or tickets (`wt_…`).
pub fn new_token(prefix: &str) -> String {
    format!("{prefix}{}", random_hex(32))
}

/// What a stored secret reads as wherever it is shown (webhook credentials and header
/// values); sent back on an update, it keeps the stored value.
pub const MASKED: &str = "***";

/// Compares two secrets in time independent of where they differ (the lengths may leak).
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn sha256_hex(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A human-typeable random password for the generated first owner.
pub fn generate_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_keys_come_from_either_header() {
        let k = "hp_abc";
        assert_eq!(agent_key(Some(k), None), Some(k));
        assert_eq!(agent_key(None, Some("Bearer hp_abc")), Some(k));
        assert_eq!(agent_key(None, Some("bearer  hp_abc ")), Some(k));
        assert_eq!(
            agent_key(Some(k), Some("Bearer hp_other")),
            Some(k),
            "x-api-key first"
        );
        assert_eq!(
            agent_key(None, Some("Bearer as_session")),
            None,
            "a session is no key"
        );
        assert_eq!(agent_key(None, None), None);
    }

    #[test]
    fn api_keys_have_placet_shape() {
        let k = new_api_key();
        assert!(is_api_key_shape(&k), "{k}");
        assert_eq!(key_prefix(&k).len(), 11);
        assert!(!is_api_key_shape("hp_123"));
        assert!(!is_api_key_shape(&format!("hp_{}", "G".repeat(48))));
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
