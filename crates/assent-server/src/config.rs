//! The one configuration struct: defaults → environment → command-line flags, validated at
//! start-up. `assent default-config` prints every setting from this definition.

use clap::{Args, CommandFactory, Parser, Subcommand};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "assent",
    version,
    about = "Assent: a self-hosted human-in-the-loop gateway for AI agents"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve(Box<Config>),
    /// Print every setting with its flag, environment variable, default and documentation.
    DefaultConfig,
    /// Speak MCP on stdin/stdout for hosts that launch local commands, forwarding to a
    /// running server's `/mcp`.
    Mcp(McpArgs),
}

/// `assent mcp`: the stdio bridge to a server's MCP endpoint.
#[derive(Args, Clone)]
pub struct McpArgs {
    /// The Assent server to forward to, e.g. `https://assent.example.com`.
    #[arg(long, env = "ASSENT_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The agent's API key (`hp_…`).
    #[arg(long, env = "ASSENT_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// The `channelId` of tools that are not given one.
    #[arg(long, env = "ASSENT_DEFAULT_CHANNEL")]
    pub channel: Option<String>,
}

impl std::fmt::Debug for McpArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpArgs")
            .field("url", &self.url)
            .field("api_key", &"***")
            .field("channel", &self.channel)
            .finish()
    }
}

#[derive(Args, Clone)]
pub struct Config {
    /// Address to listen on (HTTP API, Socket.IO, raw WebSockets and the dashboard).
    #[arg(long, env = "ASSENT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory for the SQLite file, uploads and generated secrets.
    #[arg(long, env = "ASSENT_DATA_DIR", default_value = "./assent-data")]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite://…` (default: sqlite://<data-dir>/assent.db) or `postgres://…`.
    #[arg(long, env = "ASSENT_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Where attachments' bytes are kept: `file:///absolute/dir` or `s3://bucket/prefix` (any
    /// S3-compatible store, configured with `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_REGION`). Unset: `file://<data-dir>/files`. Several
    /// nodes must share one S3 bucket.
    #[arg(long, env = "ASSENT_STORAGE_URL")]
    pub storage_url: Option<String>,

    /// Largest accepted file upload in bytes, checked while it streams in (larger → 413).
    #[arg(long, env = "ASSENT_MAX_UPLOAD_BYTES", default_value_t = 104_857_600)]
    pub max_upload_bytes: u64,

    /// Hours a stored file that no message carries is kept before it is deleted. An upload
    /// must complete within this time.
    #[arg(long, env = "ASSENT_ORPHAN_FILE_HOURS", default_value_t = 24)]
    pub orphan_file_hours: u64,

    /// A directory of plugins (one folder each: `plugin.json` + `render.html`), read at
    /// start-up besides `<data-dir>/plugins/`. Invalid plugins are skipped with a log line.
    #[arg(long, env = "ASSENT_PLUGINS_DIR")]
    pub plugins_dir: Option<PathBuf>,

    /// Redis URL for cluster mode: several nodes on one PostgreSQL database act as one
    /// gateway, Redis carrying events between them (`redis://host:6379`). Needs a PostgreSQL
    /// `--database-url`. Unset: a single node.
    #[arg(long, env = "ASSENT_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Namespace of the cluster's Redis channel, so that clusters sharing one Redis never
    /// hear each other. Unset: `assent:<database name>`.
    #[arg(long, env = "ASSENT_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,

    /// Email of the first owner account, used only when no user exists yet.
    #[arg(long, env = "ASSENT_ADMIN_EMAIL", default_value = "admin@assent.local")]
    pub admin_email: String,

    /// Password of the first owner account. Unset: a random one is generated and printed once
    /// (and must be changed at first login).
    #[arg(long, env = "ASSENT_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Let webhooks reach loopback and private addresses (tests and local setups only).
    #[arg(long, env = "ASSENT_ALLOW_PRIVATE_WEBHOOKS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_private_webhooks: bool,

    /// Webhook retry schedule: the delay before each attempt (the first is usually 0), in
    /// `ms`, `s`, `m` or `h`. Its length is the number of attempts; each delay gets ±10 % jitter.
    #[arg(long, env = "ASSENT_WEBHOOK_RETRY_SCHEDULE", default_value = "0s,5s,5m,30m,2h,5h,10h,10h", value_parser = parse_schedule)]
    pub webhook_retry_schedule: Schedule,

    /// Webhook request timeout in milliseconds (no answer by then: the attempt failed).
    #[arg(long, env = "ASSENT_WEBHOOK_TIMEOUT_MS", default_value_t = 15_000)]
    pub webhook_timeout_ms: u64,

    /// Webhook requests in flight at once (per node).
    #[arg(long, env = "ASSENT_WEBHOOK_CONCURRENCY", default_value_t = 64)]
    pub webhook_concurrency: usize,

    /// Seconds without a heartbeat after which an agent is marked offline.
    #[arg(long, env = "ASSENT_AGENT_OFFLINE_AFTER_SECS", default_value_t = 300)]
    pub agent_offline_after_secs: u64,

    /// Lifetime of a dashboard session in hours (sliding: refresh extends it).
    #[arg(long, env = "ASSENT_SESSION_TTL_HOURS", default_value_t = 168)]
    pub session_ttl_hours: u64,

    /// Events kept per channel for resume; older ones are pruned and a client that asks for
    /// them gets `sync:reset`.
    #[arg(long, env = "ASSENT_EVENT_RETENTION", default_value_t = 10_000)]
    pub event_retention: i64,

    /// Default lifetime of a review in seconds when the agent sets none.
    #[arg(long, env = "ASSENT_REVIEW_DEFAULT_SECS", default_value_t = 86_400)]
    pub review_default_secs: u64,

    /// Longest lifetime of a review in seconds; longer requests are capped to it.
    #[arg(long, env = "ASSENT_REVIEW_MAX_SECS", default_value_t = 129_600)]
    pub review_max_secs: u64,

    /// Longest (and default) `timeout` of `GET /api/v1/reviews/:id/wait`, in milliseconds.
    #[arg(long, env = "ASSENT_REVIEW_WAIT_MAX_MS", default_value_t = 30_000)]
    pub review_wait_max_ms: u64,

    /// Seconds after which an idle streaming draft is aborted.
    #[arg(long, env = "ASSENT_DRAFT_IDLE_SECS", default_value_t = 300)]
    pub draft_idle_secs: u64,

    /// Largest accepted request body in bytes (larger → 413).
    #[arg(long, env = "ASSENT_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,

    /// Mark the session cookie `Secure` (set this behind HTTPS).
    #[arg(long, env = "ASSENT_SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set)]
    pub secure_cookies: bool,

    /// Log format: `auto` (JSON unless stdout is a terminal), `json` or `pretty`.
    #[arg(long, env = "ASSENT_LOG_FORMAT", default_value = "auto", value_parser = ["auto", "json", "pretty"])]
    pub log_format: String,

    /// Log filter in `tracing` syntax.
    #[arg(long, env = "ASSENT_LOG", default_value = "info")]
    pub log: String,

    /// Database writer threads on PostgreSQL (SQLite always uses one).
    #[arg(long, env = "ASSENT_DB_WRITERS", default_value_t = 4)]
    pub db_writers: usize,

    /// Read connections in the database pool.
    #[arg(long, env = "ASSENT_DB_READ_POOL", default_value_t = 8)]
    pub db_read_pool: u32,

    /// Seconds a client has to send a request's headers, counted from the connection's start
    /// or from the previous response: it is also how long an idle keep-alive connection stays
    /// open. Slower clients are disconnected.
    #[arg(long, env = "ASSENT_HEADER_READ_TIMEOUT_SECS", default_value_t = 20)]
    pub header_read_timeout_secs: u64,

    /// Seconds a client has to send a request's whole body once its headers are in (→ 408).
    #[arg(long, env = "ASSENT_BODY_READ_TIMEOUT_SECS", default_value_t = 30)]
    pub body_read_timeout_secs: u64,

    /// Open TCP connections allowed from one source address (HTTP, Socket.IO and WebSockets
    /// together); further ones are closed at accept. 0: no cap. Behind a reverse proxy every
    /// client shares the proxy's address: raise it or set it to 0 there.
    #[arg(long, env = "ASSENT_MAX_CONNECTIONS_PER_IP", default_value_t = 512)]
    pub max_connections_per_ip: usize,

    /// Realtime connections (Socket.IO and raw WebSockets together) one API key or one
    /// session may hold open; more are refused (`too_many_sockets`). 0: no cap.
    #[arg(
        long,
        env = "ASSENT_MAX_SOCKETS_PER_CREDENTIAL",
        default_value_t = 1_000
    )]
    pub max_sockets_per_credential: usize,

    /// Take the client address for login throttling from the last `X-Forwarded-For` entry
    /// (set this only behind a reverse proxy that sets that header).
    #[arg(long, env = "ASSENT_TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,

    /// Bearer token that `GET /metrics` requires (`Authorization: Bearer <token>`). Unset:
    /// `/metrics` is not served on the main address, only on `--metrics-addr` if given.
    #[arg(long, env = "ASSENT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// A separate address serving only `GET /metrics` (e.g. 127.0.0.1:9090 for a local
    /// Prometheus). Off by default. It also requires the metrics token when one is set.
    #[arg(long, env = "ASSENT_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

impl Config {
    /// The configuration with every default, as `assent serve` with no flags and no
    /// environment would see it. Tests start from this.
    pub fn defaults() -> Config {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: Config,
        }
        Wrapper::parse_from(["assent"]).config
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("assent.db").display()),
        }
    }

    /// The blob store URL, with the default filled in.
    pub fn storage_url(&self) -> String {
        match &self.storage_url {
            Some(u) => u.clone(),
            None => {
                let dir = std::path::absolute(self.data_dir.join("files"))
                    .unwrap_or_else(|_| self.data_dir.join("files"));
                format!("file://{}", dir.display())
            }
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.orphan_file_hours == 0 {
            return Err("--orphan-file-hours must be at least 1".into());
        }
        let url = self.database_url();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err("--database-url must start with sqlite:// or postgres://".into());
        }
        if self.redis_url.is_some() && url.starts_with("sqlite:") {
            return Err("--redis-url (cluster mode) needs a PostgreSQL --database-url: nodes share the database, and SQLite is one process's file".into());
        }
        if let Some(r) = &self.redis_url
            && !(r.starts_with("redis://") || r.starts_with("rediss://"))
        {
            return Err("--redis-url must start with redis:// or rediss://".into());
        }
        if self.event_retention < 100 {
            return Err("--event-retention must be at least 100".into());
        }
        if self.max_body_bytes < 1024 {
            return Err("--max-body-bytes must be at least 1024".into());
        }
        if self.review_default_secs == 0 || self.review_default_secs > self.review_max_secs {
            return Err(
                "--review-default-secs must be positive and at most --review-max-secs".into(),
            );
        }
        if self.review_wait_max_ms == 0 {
            return Err("--review-wait-max-ms must be positive".into());
        }
        if self.webhook_timeout_ms == 0 || self.webhook_concurrency == 0 {
            return Err("--webhook-timeout-ms and --webhook-concurrency must be positive".into());
        }
        if self.header_read_timeout_secs == 0 || self.body_read_timeout_secs == 0 {
            return Err(
                "--header-read-timeout-secs and --body-read-timeout-secs must be positive".into(),
            );
        }
        if self.metrics_token.as_deref().is_some_and(|t| t.len() < 16) {
            return Err("--metrics-token must be at least 16 characters".into());
        }
        if self.agent_offline_after_secs == 0 || self.session_ttl_hours == 0 {
            return Err("durations must be positive".into());
        }
        Ok(())
    }
}

/// A webhook retry schedule: the delay before each attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule(pub Vec<std::time::Duration>);

/// Parses `0s,5s,5m,30m,2h` (units `ms`, `s`, `m`, `h`; 1 to 50 steps, each at most 7 days).
pub fn parse_schedule(s: &str) -> Result<Schedule, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let p = part.trim();
        let (num, mult) = if let Some(n) = p.strip_suffix("ms") {
            (n, 1)
        } else if let Some(n) = p.strip_suffix('s') {
            (n, 1_000)
        } else if let Some(n) = p.strip_suffix('m') {
            (n, 60_000)
        } else if let Some(n) = p.strip_suffix('h') {
            (n, 3_600_000)
        } else {
            return Err(format!("{p:?}: give a unit (ms, s, m or h)"));
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{p:?}: not a whole number"))?;
        let ms = n.saturating_mul(mult);
        if ms > 7 * 86_400_000 {
            return Err(format!("{p:?}: at most 7 days per step"));
        }
        out.push(std::time::Duration::from_millis(ms));
    }
    if out.is_empty() || out.len() > 50 {
        return Err("1 to 50 steps".into());
    }
    Ok(Schedule(out))
}

fn redact_url(url: &str) -> String {
    // postgres://user:secret@host → postgres://user:***@host
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url()))
            .field("storage_url", &self.storage_url())
            .field("plugins_dir", &self.plugins_dir)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("orphan_file_hours", &self.orphan_file_hours)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("admin_email", &self.admin_email)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .field("allow_private_webhooks", &self.allow_private_webhooks)
            .field("webhook_retry_schedule", &self.webhook_retry_schedule)
            .field("webhook_timeout_ms", &self.webhook_timeout_ms)
            .field("agent_offline_after_secs", &self.agent_offline_after_secs)
            .field("session_ttl_hours", &self.session_ttl_hours)
            .field("event_retention", &self.event_retention)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("secure_cookies", &self.secure_cookies)
            .field("log_format", &self.log_format)
            .field("db_writers", &self.db_writers)
            .field("header_read_timeout_secs", &self.header_read_timeout_secs)
            .field("body_read_timeout_secs", &self.body_read_timeout_secs)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field(
                "max_sockets_per_credential",
                &self.max_sockets_per_credential,
            )
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("metrics_addr", &self.metrics_addr)
            .finish()
    }
}

/// Text of `assent default-config`: every setting of `Config`, from its definition.
pub fn describe_defaults() -> String {
    let cmd = Cli::command();
    let serve = cmd
        .find_subcommand("serve")
        .expect("the serve command exists");
    let mut out =
        String::from("# Assent settings: flag / environment variable, default, meaning.\n\n");
    for arg in serve.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "help" {
            continue;
        }
        let env = arg
            .get_env()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        let default = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(",");
        let default = if default.is_empty() {
            "(unset)".to_owned()
        } else {
            default
        };
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "--{long} / {env}\n    default: {default}\n    {help}\n\n"
        ));
    }
    out.push_str(&fixed_limits());
    out
}

/// The limits that are not settings, as `assent default-config` lists them after the settings.
fn fixed_limits() -> String {
    use crate::app;
    use assent_core::validate::MAX_JSON_DEPTH;
    let rows: Vec<(String, &str)> = vec![
        (
            format!("{MAX_JSON_DEPTH} levels of nesting in a JSON body"),
            "400 invalid_json",
        ),
        (
            format!(
                "{} streaming drafts open per channel, {} per user",
                app::MAX_OPEN_DRAFTS_PER_CHANNEL,
                app::MAX_OPEN_DRAFTS_PER_USER
            ),
            "400 too_many_open_streams",
        ),
        (
            format!("{} files per message", app::MAX_ATTACHMENTS),
            "400 validation_failed",
        ),
        (
            format!(
                "{} KiB of text inlined as textContent (markdown, plain, HTML, CSV files)",
                assent_core::attachment::MAX_INLINE_TEXT_BYTES >> 10
            ),
            "larger text files are downloads only",
        ),
        (
            format!("{} agents per user", app::MAX_AGENTS_PER_USER),
            "400 too_many_agents",
        ),
        (
            format!("{} API keys per user", app::MAX_API_KEYS_PER_USER),
            "400 too_many_api_keys",
        ),
        (
            format!("{} sessions per user", app::MAX_SESSIONS_PER_USER),
            "a new login revokes the oldest",
        ),
        (
            format!("{} channels per socket", app::hub::MAX_SUBSCRIPTIONS),
            "ack error too_many_subscriptions",
        ),
        (
            format!(
                "{} MiB waiting for one socket (Socket.IO over WebSocket, raw WebSockets)",
                crate::threads::MAX_QUEUED_BYTES >> 20
            ),
            "closed as a slow consumer",
        ),
        (
            format!(
                "{} failed logins per account and address, {} per address, {} per account",
                app::throttle::FREE_PER_PAIR,
                app::throttle::FREE_PER_IP,
                app::throttle::FREE_PER_ACCOUNT
            ),
            "each further attempt waits 1 s, doubling up to the cap below; 429 too_many_attempts",
        ),
        (
            format!(
                "{} min longest login back-off",
                app::throttle::MAX_DELAY_MS / 60_000
            ),
            "429 with Retry-After",
        ),
        (
            "one password hash per core, 64 waiting".into(),
            "429 server_busy",
        ),
        ("100 reviews per listing page".into(), "X-Next-Cursor"),
    ];
    let mut out =
        String::from("# Fixed limits (not settings): limit, and what happens past it.\n\n");
    for (limit, past) in rows {
        out.push_str(&format!("{limit}\n    past it: {past}\n\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_cli_contract() {
        let c = Config::defaults();
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./assent-data"));
        assert_eq!(c.database_url(), "sqlite://./assent-data/assent.db");
        assert!(c.redis_url.is_none());
        assert!(!c.allow_private_webhooks);
        assert!(c.validate().is_ok());
        let secs: Vec<u64> = c
            .webhook_retry_schedule
            .0
            .iter()
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(secs, [0, 5, 300, 1800, 7200, 18000, 36000, 36000]);
        assert_eq!(c.webhook_timeout_ms, 15_000);
    }

    #[test]
    fn schedules_parse_units_and_refuse_nonsense() {
        let s = parse_schedule("0ms, 250ms,2s,1m,1h").unwrap();
        let ms: Vec<u128> = s.0.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [0, 250, 2_000, 60_000, 3_600_000]);
        for bad in ["", "5", "5d", "-1s", "1.5s", "200h", "s"] {
            assert!(parse_schedule(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut c = Config::defaults();
        c.admin_password = Some("hunter22".into());
        c.database_url = Some("postgres://bob:s3cret@db/x".into());
        c.metrics_token = Some("metrics-token-0123456789".into());
        let d = format!("{c:?}");
        assert!(
            !d.contains("hunter22") && !d.contains("s3cret") && !d.contains("metrics-token-"),
            "{d}"
        );
        assert!(d.contains("postgres://bob:***@db/x"));
    }

    #[test]
    fn default_config_lists_every_setting() {
        let text = describe_defaults();
        for name in [
            "ASSENT_ADDR",
            "ASSENT_DATA_DIR",
            "ASSENT_DATABASE_URL",
            "ASSENT_REDIS_URL",
            "ASSENT_ADMIN_EMAIL",
            "ASSENT_ADMIN_PASSWORD",
            "ASSENT_ALLOW_PRIVATE_WEBHOOKS",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
        assert!(text.contains("default: 127.0.0.1:8080"));
        for limit in [
            "ASSENT_MAX_CONNECTIONS_PER_IP",
            "ASSENT_HEADER_READ_TIMEOUT_SECS",
            "ASSENT_METRICS_TOKEN",
            "too_many_open_streams",
            "too_many_agents",
            "too_many_subscriptions",
            "too_many_attempts",
        ] {
            assert!(text.contains(limit), "{limit} missing from:\n{text}");
        }
    }
}
