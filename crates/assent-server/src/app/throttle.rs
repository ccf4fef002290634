//! Login throttling: exponential back-off per account, per client address and per
//! (account, address) pair. Pure: the caller passes `now`.
//!
//! Every attempt is charged *before* the password is checked (so a burst of concurrent
//! guesses cannot all pass the check before the first failure is recorded) and refunded on
//! success. Past a key's free attempts, each further one must wait `BASE_DELAY × 2^(n−free)`
//! (capped at [`MAX_DELAY`]) after the previous one; earlier attempts get `429` with the wait.
//! The check runs before any lookup, identically for accounts that exist and for those that
//! do not, so neither the answer nor its timing tells them apart.
//!
//! Free attempts: 5 per (account, address) — a user mistyping from their own machine —, 20
//! per address — one source guessing many accounts —, 100 per account — many sources
//! guessing one account, where a lower figure would let anyone lock the owner out. A key is
//! forgotten [`FORGET_AFTER`] after its last failure. The table is bounded: past
//! [`MAX_KEYS`] entries, forgotten ones are dropped first, then the least-charged ones.

use assent_core::Millis;
use std::collections::HashMap;
use std::net::IpAddr;

const BASE_DELAY_MS: i64 = 1_000;
pub const MAX_DELAY_MS: i64 = 15 * 60_000;
const FORGET_AFTER_MS: i64 = 60 * 60_000;
const MAX_KEYS: usize = 100_000;

pub const FREE_PER_PAIR: u32 = 5;
pub const FREE_PER_IP: u32 = 20;
pub const FREE_PER_ACCOUNT: u32 = 100;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, IpAddr),
    Ip(IpAddr),
    Account(String),
}

impl Key {
    fn free(&self) -> u32 {
        match self {
            Key::Pair(..) => FREE_PER_PAIR,
            Key::Ip(_) => FREE_PER_IP,
            Key::Account(_) => FREE_PER_ACCOUNT,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Strikes {
    failures: u32,
    last: Millis,
}

/// Refused: try again in this many milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryIn(pub i64);

impl RetryIn {
    /// Whole seconds for `Retry-After`, at least 1.
    pub fn secs(self) -> i64 {
        ((self.0 + 999) / 1000).max(1)
    }
}

/// An attempt that was charged; pass it back with the outcome.
#[derive(Debug)]
pub struct Attempt {
    keys: Vec<Key>,
}

#[derive(Default)]
pub struct LoginThrottle {
    strikes: HashMap<Key, Strikes>,
}

fn keys(account: &str, ip: Option<IpAddr>) -> Vec<Key> {
    let mut k = vec![Key::Account(account.to_owned())];
    if let Some(ip) = ip {
        k.push(Key::Ip(ip));
        k.push(Key::Pair(account.to_owned(), ip));
    }
    k
}

/// The wait `s` imposes on a new attempt at `now`, if any.
fn wait(key: &Key, s: &Strikes, now: Millis) -> Option<i64> {
    let over = s.failures.checked_sub(key.free())?;
    let delay = BASE_DELAY_MS
        .saturating_mul(1i64 << over.min(20))
        .min(MAX_DELAY_MS);
    let left = s.last.0 + delay - now.0;
    (left > 0).then_some(left)
}

impl LoginThrottle {
    /// Charges an attempt on `account` (normalised email) from `ip`, or refuses it.
    pub fn begin(
        &mut self,
        account: &str,
        ip: Option<IpAddr>,
        now: Millis,
    ) -> Result<Attempt, RetryIn> {
        let keys = keys(account, ip);
        let longest = keys
            .iter()
            .filter_map(|k| {
                let s = self.strikes.get(k)?;
                if now.0 - s.last.0 > FORGET_AFTER_MS {
                    return None;
                }
                wait(k, s, now)
            })
            .max();
        if let Some(ms) = longest {
            return Err(RetryIn(ms));
        }
        if self.strikes.len() + keys.len() > MAX_KEYS {
            self.shrink(now);
        }
        for k in &keys {
            let s = self.strikes.entry(k.clone()).or_insert(Strikes {
                failures: 0,
                last: now,
            });
            if now.0 - s.last.0 > FORGET_AFTER_MS {
                s.failures = 0;
            }
            s.failures = s.failures.saturating_add(1);
            s.last = now;
        }
        Ok(Attempt { keys })
    }

    /// The password was right: the account and the pair start afresh; the address keeps
    /// its other failures (one good login must not wash a guessing source clean).
    pub fn succeeded(&mut self, attempt: Attempt) {
        for k in attempt.keys {
            match k {
                Key::Ip(_) => {
                    if let Some(s) = self.strikes.get_mut(&k) {
                        s.failures = s.failures.saturating_sub(1);
                    }
                }
                other => {
                    self.strikes.remove(&other);
                }
            }
        }
    }

    fn shrink(&mut self, now: Millis) {
        self.strikes
            .retain(|_, s| now.0 - s.last.0 <= FORGET_AFTER_MS);
        if self.strikes.len() > MAX_KEYS / 2 {
            // Keep the half with the most failures, the most recent among equals.
            let mut ranked: Vec<(u32, i64)> = self
                .strikes
                .values()
                .map(|s| (s.failures, s.last.0))
                .collect();
            let mid = ranked.len() / 2;
            let (_, &mut cut, _) = ranked.select_nth_unstable(mid);
            self.strikes.retain(|_, s| (s.failures, s.last.0) >= cut);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.strikes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));

    fn ip(n: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 0, n)))
    }

    /// Fails `n` attempts at `now`; returns how many were refused.
    fn fail(t: &mut LoginThrottle, account: &str, ip: Option<IpAddr>, n: u32, now: i64) -> u32 {
        (0..n)
            .filter(|_| t.begin(account, ip, Millis(now)).is_err())
            .count() as u32
    }

    #[test]
    fn a_pair_backs_off_exponentially_after_five_failures() {
        let mut t = LoginThrottle::default();
        assert_eq!(fail(&mut t, "a@x", IP, 5, 0), 0, "five free attempts");
        // The sixth waits 1 s after the fifth, the seventh 2 s after the sixth, then 4 s…
        assert_eq!(t.begin("a@x", IP, Millis(500)).unwrap_err(), RetryIn(500));
        let mut now = 1_000;
        for delay in [2_000, 4_000, 8_000, 16_000] {
            assert!(t.begin("a@x", IP, Millis(now)).is_ok(), "allowed at {now}");
            let refused = t.begin("a@x", IP, Millis(now + delay - 1)).unwrap_err();
            assert_eq!(refused, RetryIn(1));
            now += delay;
        }
        assert_eq!(RetryIn(1).secs(), 1);
        assert_eq!(RetryIn(1_001).secs(), 2);
    }

    #[test]
    fn the_delay_is_capped_and_forgotten_after_an_hour() {
        let mut t = LoginThrottle::default();
        let mut now = 0;
        let mut last_wait = 0;
        for _ in 0..40 {
            // An attacker who retries the moment each wait ends.
            assert!(t.begin("a@x", IP, Millis(now)).is_ok());
            let RetryIn(ms) = match t.begin("a@x", IP, Millis(now)) {
                Ok(_) => continue,
                Err(w) => w,
            };
            assert!(ms <= MAX_DELAY_MS && ms >= last_wait);
            last_wait = ms;
            now += ms;
        }
        assert_eq!(last_wait, MAX_DELAY_MS);
        assert!(
            t.begin("a@x", IP, Millis(now + FORGET_AFTER_MS + 1))
                .is_ok()
        );
    }

    #[test]
    fn success_clears_the_account_but_not_the_address() {
        let mut t = LoginThrottle::default();
        fail(&mut t, "a@x", IP, 4, 0);
        let ok = t.begin("a@x", IP, Millis(0)).unwrap();
        t.succeeded(ok);
        assert_eq!(fail(&mut t, "a@x", IP, 5, 0), 0, "the pair starts afresh");
        // The address has 9 charged failures of its 20; other accounts from it share them.
        let others: u32 = (0..11)
            .map(|i| fail(&mut t, &format!("b{i}@x"), IP, 1, 0))
            .sum();
        assert_eq!(others, 0);
        assert_eq!(
            fail(&mut t, "c@x", IP, 1, 0),
            1,
            "the address is out of free attempts"
        );
    }

    #[test]
    fn one_address_guessing_many_accounts_is_slowed() {
        let mut t = LoginThrottle::default();
        let refused: u32 = (0..30)
            .map(|i| fail(&mut t, &format!("u{i}@x"), IP, 1, 0))
            .sum();
        assert_eq!(refused, 10, "20 free attempts per address");
        assert!(
            t.begin("fresh@x", ip(2), Millis(0)).is_ok(),
            "other addresses are not affected"
        );
    }

    #[test]
    fn many_addresses_on_one_account_are_slowed_and_unknown_accounts_alike() {
        let mut t = LoginThrottle::default();
        let refused: u32 = (0..=255u8)
            .map(|n| fail(&mut t, "owner@x", ip(n), 1, 0))
            .sum();
        assert_eq!(refused, 256 - FREE_PER_ACCOUNT);
        // Nothing in the throttle depends on whether the account exists: a name nobody has
        // is charged and refused exactly the same way.
        let mut u = LoginThrottle::default();
        assert_eq!(fail(&mut u, "nobody@x", IP, 8, 0), 3);
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut t = LoginThrottle::default();
        for i in 0..(MAX_KEYS as u32) {
            let _ = t.begin(&format!("u{i}@x"), None, Millis(i as i64));
        }
        assert!(t.len() <= MAX_KEYS, "{}", t.len());
        assert!(
            t.len() >= MAX_KEYS / 4,
            "recent entries are kept: {}",
            t.len()
        );
        let last = format!("u{}@x", MAX_KEYS - 1);
        assert!(t.strikes.contains_key(&Key::Account(last)));
    }
}
