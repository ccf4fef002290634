//! Time as plain milliseconds since the Unix epoch. The clock lives in the server; here time
//! is only a value.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    pub fn plus_secs(self, secs: i64) -> Millis {
        Millis(self.0.saturating_add(secs.saturating_mul(1000)))
    }
    pub fn plus_millis(self, ms: i64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// ISO-8601 with milliseconds and `Z`, the format Placet clients parse.
    pub fn to_iso(self) -> String {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => "1970-01-01T00:00:00.000Z".to_owned(),
        }
    }

    /// Parses an RFC 3339 / ISO-8601 timestamp with an offset (`Z` or `+hh:mm`).
    pub fn parse_iso(s: &str) -> Option<Millis> {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|dt| Millis(dt.timestamp_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        let t = Millis(1_750_000_000_123);
        assert_eq!(t.to_iso(), "2025-06-15T15:06:40.123Z");
        assert_eq!(Millis::parse_iso(&t.to_iso()), Some(t));
        assert_eq!(Millis::parse_iso("not a date"), None);
        assert_eq!(Millis::parse_iso("2025-06-15T17:06:40.123+02:00"), Some(t));
    }
}
