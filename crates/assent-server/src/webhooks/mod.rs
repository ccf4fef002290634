//! The outbound webhook client: `Sender` sends a claimed delivery signed (Standard Webhooks:
//! `webhook-id`, `webhook-timestamp`, `webhook-signature`), and `next_step` turns the result
//! into the delivery's next step (delivered, retry at, failed). The loop that claims and
//! records deliveries is `jobs::webhooks`.
//!
//! Egress guard: every host is resolved by [`GuardedResolver`], which refuses the request
//! when any address is loopback, private, link-local, CGNAT, IPv4-mapped, metadata or
//! otherwise not globally routable, and hands the connector exactly the addresses it checked
//! (so DNS cannot rebind between check and connect). IP literals are checked before sending.
//! Redirects are never followed; proxies from the environment are ignored.

mod guard;

use crate::config::Schedule;
use assent_core::Millis;
use assent_core::model::WebhookTarget;
use assent_store::{AttemptOutcome, ClaimedDelivery};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

pub use guard::{GuardedResolver, blocked_reason};

/// How the worker delivers.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub schedule: Schedule,
    pub timeout: Duration,
    pub concurrency: usize,
    pub allow_private: bool,
}

/// Longest wait a `Retry-After` may ask for; longer answers are capped to it.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);
/// Bytes of a failed response's body kept in the attempt log.
const ERROR_SNIPPET: usize = 200;

/// The signature header value: `v1,` + base64(HMAC-SHA256(secret, `id.timestamp.body`)).
/// `secret` is `whsec_` + base64, as Standard Webhooks serialises it.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// What one HTTP attempt produced.
#[derive(Debug, Default)]
pub struct Sent {
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    pub error: Option<String>,
    /// Not worth retrying (refused by the guard, no URL, disabled endpoint).
    pub permanent: bool,
}

/// Decides what follows an attempt. `attempts_before` attempts were made before this one;
/// `jitter` in [-1, 1] scales the ±10 % jitter of scheduled delays.
pub fn next_step(
    d: &ClaimedDelivery,
    sent: &Sent,
    schedule: &Schedule,
    now: Millis,
    jitter: f64,
) -> AttemptOutcome {
    match sent.status {
        Some(s) if (200..300).contains(&s) => return AttemptOutcome::Delivered,
        Some(410) if d.target == WebhookTarget::Agent => {
            return AttemptOutcome::FailedAndDisable {
                reason: "the endpoint answered 410 Gone".into(),
            };
        }
        Some(410) => return AttemptOutcome::Failed,
        _ => {}
    }
    let done = d.attempts + 1;
    if sent.permanent || done >= d.max_attempts {
        return AttemptOutcome::Failed;
    }
    let delay = match sent.retry_after {
        Some(ra) => ra.clamp(Duration::from_secs(1), MAX_RETRY_AFTER),
        None => {
            let steps = &schedule.0;
            let base = steps[(done as usize).min(steps.len() - 1)];
            base.mul_f64(1.0 + 0.1 * jitter.clamp(-1.0, 1.0))
        }
    };
    AttemptOutcome::Retry {
        at: Millis(now.0 + delay.as_millis() as i64),
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP date.
fn retry_after(v: &str, now: Millis) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let ms = at.timestamp_millis() - now.0;
    Some(Duration::from_millis(ms.max(0) as u64))
}

/// The sending half: an HTTP client that follows no redirect and resolves through the guard.
pub struct Sender {
    client: reqwest::Client,
    pub settings: WebhookSettings,
}

impl Sender {
    pub fn new(settings: WebhookSettings) -> anyhow::Result<Sender> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: settings.allow_private,
            }))
            .user_agent(concat!("Assent-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender { client, settings })
    }

    /// Sends one attempt of `d`, signed with `secret`, to `url`.
    pub async fn send(&self, d: &ClaimedDelivery, url: &str, secret: &str, now: Millis) -> Sent {
        let refuse = |why: String| Sent {
            error: Some(why),
            permanent: true,
            ..Sent::default()
        };
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => return refuse("not an http(s) URL".into()),
        };
        if !self.settings.allow_private
            && let Some(reason) = guard::literal_host_blocked(&parsed)
        {
            return refuse(format!("refused by the egress guard: {reason}"));
        }
        let method = match d.method.as_str() {
            "PUT" => reqwest::Method::PUT,
            "PATCH" => reqwest::Method::PATCH,
            _ => reqwest::Method::POST,
        };
        // Real time, not the app's clock: the receiver checks it against its own.
        let timestamp = crate::clock::Clock::now(&crate::clock::SystemClock).0 / 1000;
        let mut req = with_target_headers(self.client.request(method, parsed), d)
            .header("content-type", "application/json")
            .header("webhook-id", &d.id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(sig) = sign(secret, &d.id, timestamp, &d.body) {
            req = req.header("webhook-signature", sig);
        }
        match req.body(d.body.clone()).send().await {
            Ok(res) => answered(res, now).await,
            Err(e) => {
                let refused = guard::refused_by_guard(&e);
                Sent {
                    error: Some(describe(&e, self.settings.timeout, refused)),
                    permanent: refused,
                    ..Sent::default()
                }
            }
        }
    }
}

/// The agent's credentials and headers go to the agent's own URL only; a callback carries
/// its own headers; a message URL gets none.
fn with_target_headers(
    mut req: reqwest::RequestBuilder,
    d: &ClaimedDelivery,
) -> reqwest::RequestBuilder {
    let custom = match d.target {
        WebhookTarget::Agent => {
            if let Some(auth) = &d.agent.auth {
                req = match (&auth.username, &auth.password, &auth.token) {
                    (Some(u), Some(p), _) => req.basic_auth(u, Some(p)),
                    (_, _, Some(t)) => req.bearer_auth(t),
                    _ => req,
                };
            }
            d.agent.headers.as_ref()
        }
        WebhookTarget::Callback => d.extra_headers.as_ref(),
        WebhookTarget::Message => None,
    };
    if let Some(Value::Object(map)) = custom {
        for (k, v) in map {
            if let Some(v) = v.as_str() {
                req = req.header(k.as_str(), v);
            }
        }
    }
    req
}

/// What an answer says: its status, a `Retry-After`, and for a non-2xx the start of its body.
async fn answered(res: reqwest::Response, now: Millis) -> Sent {
    let status = res.status().as_u16();
    let ra = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, now));
    let mut error = None;
    if !(200..300).contains(&status) {
        let snippet: String = body_prefix(res).await.chars().take(ERROR_SNIPPET).collect();
        error = Some(if snippet.trim().is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {}", snippet.trim())
        });
    }
    Sent {
        status: Some(status),
        retry_after: ra,
        error,
        permanent: false,
    }
}

/// Bytes of a failed response's body read at all: a receiver answering an error with a huge
/// (or endless) body costs this much, not the body's size. The rest is never read.
const ERROR_BODY_READ: usize = 4 * 1024;

async fn body_prefix(mut res: reqwest::Response) -> String {
    let mut buf = Vec::with_capacity(ERROR_BODY_READ);
    while buf.len() < ERROR_BODY_READ {
        match res.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c[..c.len().min(ERROR_BODY_READ - buf.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A short, human-readable reason for a transport error (with its innermost cause).
fn describe(e: &reqwest::Error, timeout: Duration, refused: bool) -> String {
    if e.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    if refused {
        format!("refused by the egress guard: {msg}")
    } else {
        format!("connection failed: {msg}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assent_core::{ChannelId, MessageId};
    use assent_store::AgentEndpoint;

    fn delivery(target: WebhookTarget, attempts: i64, max: i64) -> ClaimedDelivery {
        ClaimedDelivery {
            id: "msg_1".into(),
            channel_id: ChannelId::from_trusted("c".into()),
            message_id: MessageId::from_trusted("m".into()),
            event: assent_proto::events::REVIEW_RESPONDED.into(),
            target,
            url: "https://example.com/hook".into(),
            method: "POST".into(),
            extra_headers: None,
            body: "{}".into(),
            attempts,
            max_attempts: max,
            agent: AgentEndpoint {
                url: Some("https://example.com/hook".into()),
                headers: None,
                auth: None,
                secret: None,
                disabled_reason: None,
            },
        }
    }

    fn schedule() -> Schedule {
        crate::config::parse_schedule("0s,5s,5m,30m,2h,5h,10h,10h").unwrap()
    }

    fn status(s: u16) -> Sent {
        Sent {
            status: Some(s),
            ..Sent::default()
        }
    }

    #[test]
    fn the_schedule_is_followed_with_bounded_jitter() {
        let now = Millis(1_000_000);
        let expected = [
            5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
        ];
        for (before, base) in expected.iter().enumerate() {
            for j in [-1.0, 0.0, 1.0] {
                let d = delivery(WebhookTarget::Agent, before as i64, 8);
                let AttemptOutcome::Retry { at } = next_step(&d, &status(500), &schedule(), now, j)
                else {
                    panic!("attempt {} should be retried", before + 1)
                };
                let delay = (at.0 - now.0) as f64;
                let want = *base as f64 * (1.0 + 0.1 * j);
                assert!(
                    (delay - want).abs() < 1.0,
                    "attempt {before}: {delay} vs {want}"
                );
            }
        }
        // The eighth attempt is the last.
        let d = delivery(WebhookTarget::Agent, 7, 8);
        assert_eq!(
            next_step(&d, &status(500), &schedule(), now, 0.0),
            AttemptOutcome::Failed
        );
    }

    #[test]
    fn outcomes_by_status() {
        let now = Millis(0);
        let d = delivery(WebhookTarget::Agent, 0, 8);
        assert_eq!(
            next_step(&d, &status(204), &schedule(), now, 0.0),
            AttemptOutcome::Delivered
        );
        assert!(matches!(
            next_step(&d, &status(410), &schedule(), now, 0.0),
            AttemptOutcome::FailedAndDisable { .. }
        ));
        let m = delivery(WebhookTarget::Message, 0, 8);
        assert_eq!(
            next_step(&m, &status(410), &schedule(), now, 0.0),
            AttemptOutcome::Failed
        );
        for s in [301, 302, 400, 429, 500, 503] {
            assert!(matches!(
                next_step(&d, &status(s), &schedule(), now, 0.0),
                AttemptOutcome::Retry { .. }
            ));
        }
        let refused = Sent {
            permanent: true,
            ..Sent::default()
        };
        assert_eq!(
            next_step(&d, &refused, &schedule(), now, 0.0),
            AttemptOutcome::Failed
        );
    }

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        let now = Millis(0);
        let d = delivery(WebhookTarget::Agent, 0, 8);
        let with = |secs| Sent {
            status: Some(429),
            retry_after: Some(Duration::from_secs(secs)),
            ..Sent::default()
        };
        let at = |s: Sent| match next_step(&d, &s, &schedule(), now, 1.0) {
            AttemptOutcome::Retry { at } => at.0,
            o => panic!("{o:?}"),
        };
        assert_eq!(at(with(120)), 120_000);
        assert_eq!(at(with(0)), 1_000);
        assert_eq!(at(with(10 * 86_400)), MAX_RETRY_AFTER.as_millis() as i64);
        assert_eq!(retry_after("30", now).unwrap(), Duration::from_secs(30));
        let date = retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now).unwrap();
        assert_eq!(date, Duration::from_secs(60));
        assert!(retry_after("soon", now).is_none());
    }

    #[test]
    fn signatures_are_standard_webhooks_v1() {
        // The example of the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(sign("whsec_not base64!", "id", 1, "{}").is_none());
    }
}
