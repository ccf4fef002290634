//! Identifiers. Ids are opaque strings (Placet uses cuids); ours are `c` + 24 lowercase
//! base-36 characters: a millisecond timestamp prefix (so ids sort roughly by creation) and
//! random bits. Newtypes exist so that a channel id is never passed where a user id is meant.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A new unique id, `c` + 24 base-36 chars.
pub fn new_id(now_ms: i64) -> String {
    let mut out = String::with_capacity(25);
    out.push('c');
    let mut ts = now_ms.max(0) as u64;
    let mut ts_chars = [b'0'; 9];
    for slot in ts_chars.iter_mut().rev() {
        *slot = ALPHABET[(ts % 36) as usize];
        ts /= 36;
    }
    out.extend(ts_chars.iter().map(|&b| b as char));
    let mut rng = rand::thread_rng();
    for _ in 0..15 {
        out.push(ALPHABET[rng.gen_range(0..36)] as char);
    }
    out
}

/// Max length accepted for any id coming from outside.
pub const MAX_ID_LEN: usize = 128;

/// True when `s` could be one of our ids (or a Placet cuid): non-empty, bounded, and made of
/// URL-safe characters only. Anything else cannot name an existing row.
pub fn is_plausible_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! id_type {
    ($name:ident) => {
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses an id from untrusted input.
            pub fn parse(s: &str) -> Option<Self> {
                is_plausible_id(s).then(|| Self(s.to_owned()))
            }
            /// Wraps an id read back from our own store.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }
            pub fn generate(now_ms: i64) -> Self {
                Self(new_id(now_ms))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(ChannelId);
id_type!(UserId);
id_type!(MessageId);
id_type!(AttachmentId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_sortable() {
        let a = new_id(1_000);
        let b = new_id(2_000);
        assert_eq!(a.len(), 25);
        assert!(a < b);
        assert_ne!(new_id(5), new_id(5));
        assert!(is_plausible_id(&a));
    }

    #[test]
    fn rejects_implausible_ids() {
        assert!(ChannelId::parse("").is_none());
        assert!(ChannelId::parse("a b").is_none());
        assert!(ChannelId::parse("../etc").is_none());
        assert!(ChannelId::parse(&"x".repeat(129)).is_none());
        assert!(ChannelId::parse("clxyz456").is_some());
    }
}
