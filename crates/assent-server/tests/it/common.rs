use assent_sdk::sio::SocketIoClient;
use assent_server::app::App;
use assent_server::clock::{Clock, ManualClock, SystemClock};
use assent_server::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

use assent_proto::events as ev;
use tokio_util::sync::CancellationToken;

pub(crate) const ADMIN_EMAIL: &str = "owner@example.com";
pub(crate) const ADMIN_PASSWORD: &str = "owner-password-1";
pub(crate) const T: Duration = Duration::from_secs(5);

pub(crate) struct Server {
    pub base: String,
    pub app: Arc<App>,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// The test's own PostgreSQL database, with `ASSENT_IT_DATABASE=postgres`.
    pg: Option<PgDb>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) async fn start() -> Server {
        Self::start_with(|_| {}, Arc::new(SystemClock)).await
    }

    pub(crate) async fn start_manual() -> (Server, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        (Self::start_with(|_| {}, clock.clone()).await, clock)
    }

    pub(crate) async fn start_with(
        tweak: impl FnOnce(&mut Config),
        clock: Arc<dyn Clock>,
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults();
        config.data_dir = dir.path().to_path_buf();
        config.admin_email = ADMIN_EMAIL.into();
        config.admin_password = Some(ADMIN_PASSWORD.into());
        tweak(&mut config);
        // The whole suite also runs on PostgreSQL: every server gets its own database.
        let pg = if config.database_url.is_none() && on_postgres() {
            let db = PgDb::create().await;
            config.database_url = db.as_ref().map(|d| d.url.clone());
            db
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = tokio::spawn(assent_server::run_with(
            config,
            listener,
            shutdown.clone(),
            clock,
            Some(tx),
        ));
        let app = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .expect("server start")
            .expect("server ready");
        Server {
            base,
            app,
            http: reqwest::Client::new(),
            shutdown,
            handle: Some(handle),
            pg,
            _dir: dir,
        }
    }

    /// A server on a fresh PostgreSQL database of its own (dropped with the server); `None`
    /// when PostgreSQL tests are switched off.
    pub(crate) async fn start_on_postgres() -> Option<Server> {
        let db = PgDb::create().await?;
        let url = db.url.clone();
        let mut s = Self::start_with(|c| c.database_url = Some(url), Arc::new(SystemClock)).await;
        s.pg = Some(db);
        Some(s)
    }

    /// Stops the server gracefully and waits for it.
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
        if let Some(db) = self.pg.take() {
            db.finish().await;
        }
    }

    /// The server's data directory (its SQLite file and `files/`).
    pub(crate) fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request; returns status and JSON body (`Null` for an empty body).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        req = match auth {
            Auth::None => req,
            Auth::Key(k) => req.header("x-api-key", k),
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::Cookie(t) => req.header("cookie", format!("access_token={t}")),
        };
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, v)
    }

    pub(crate) async fn get(&self, path: &str, auth: &Auth) -> (StatusCode, Value) {
        self.call(Method::GET, path, auth, None).await
    }
    pub(crate) async fn post(&self, path: &str, auth: &Auth, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, auth, Some(body)).await
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> String {
        let (s, v) = self
            .post(
                "/api/auth/login",
                &Auth::None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(s, 200, "login failed: {v}");
        v["token"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn owner(&self) -> Auth {
        Auth::Bearer(self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await)
    }

    /// A new member with a usable account (password already changed); returns its session.
    pub(crate) async fn member(&self, owner: &Auth, email: &str) -> Auth {
        let (s, v) = self
            .post(
                "/api/users",
                owner,
                json!({"email": email, "displayName": "Member", "password": "initial-pass-1"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let t = self.login(email, "initial-pass-1").await;
        let (s, v) = self
            .post(
                "/api/auth/change-password",
                &Auth::Bearer(t),
                json!({"currentPassword": "initial-pass-1", "newPassword": "member-pass-2"}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        Auth::Bearer(self.login(email, "member-pass-2").await)
    }

    pub(crate) async fn key(&self, human: &Auth) -> String {
        let (s, v) = self
            .post("/api/api-keys", human, json!({"label": "test"}))
            .await;
        assert_eq!(s, 201, "{v}");
        v["key"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn agent(&self, key: &str, name: &str) -> String {
        let (s, v) = self
            .post(
                "/api/v1/agents",
                &Auth::Key(key.into()),
                json!({"name": name}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// Owner session, an API key of theirs and one agent.
    pub(crate) async fn tenant(&self) -> Tenant {
        let human = self.owner().await;
        let key = self.key(&human).await;
        let channel = self.agent(&key, "bot").await;
        Tenant {
            human,
            key: Auth::Key(key.clone()),
            raw_key: key,
            channel,
        }
    }

    pub(crate) async fn member_tenant(&self, email: &str) -> Tenant {
        let owner = self.owner().await;
        let human = self.member(&owner, email).await;
        let key = self.key(&human).await;
        let channel = self.agent(&key, "member-bot").await;
        Tenant {
            human,
            key: Auth::Key(key.clone()),
            raw_key: key,
            channel,
        }
    }

    pub(crate) async fn say(&self, t: &Tenant, text: &str) -> Value {
        let (s, v) = self
            .post(
                "/api/v1/messages",
                &t.key,
                json!({"channelId": t.channel, "text": text}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v
    }

    pub(crate) async fn sio_agent(&self, raw_key: &str) -> SocketIoClient {
        SocketIoClient::connect(&self.base, "/ws", json!({"apiKey": raw_key}))
            .await
            .expect("socket connects")
    }

    pub(crate) async fn sio_dashboard(&self, human: &Auth) -> SocketIoClient {
        let (s, v) = self.post("/api/auth/ws-ticket", human, json!({})).await;
        assert_eq!(s, 200, "{v}");
        SocketIoClient::connect(&self.base, "/ws", json!({"token": v["ticket"]}))
            .await
            .expect("socket connects")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(db) = self.pg.take() {
            // Drop is synchronous: drop the database from a thread of its own.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(db.finish())
            })
            .join();
        }
    }
}

/// Waits until `cond` holds (checked every 10 ms, for at most 10 s): a wait on observable
/// state, instead of a sleep that is too short on a loaded machine and too long elsewhere.
pub(crate) async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A loopback port free at the time of asking (for a process the test starts).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (at most 30 s) until the server at `base` answers `/health` with 200.
pub(crate) async fn wait_healthy(base: &str) {
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = http.get(format!("{base}/health")).send().await;
        if r.is_ok_and(|r| r.status() == 200) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{base} did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `ASSENT_IT_DATABASE=postgres`: servers started by the tests use PostgreSQL.
#[allow(clippy::disallowed_methods)] // the test database comes from the environment
pub(crate) fn on_postgres() -> bool {
    std::env::var("ASSENT_IT_DATABASE").is_ok_and(|v| v == "postgres")
}

#[derive(Clone, Debug)]
pub(crate) enum Auth {
    None,
    Key(String),
    Bearer(String),
    Cookie(String),
}

pub(crate) struct Tenant {
    pub human: Auth,
    pub key: Auth,
    pub raw_key: String,
    pub channel: String,
}

pub(crate) async fn subscribe(c: &SocketIoClient, channel: &str, last_seq: Option<i64>) -> Value {
    let data = match last_seq {
        None => json!(channel),
        Some(s) => json!({"channelId": channel, "lastSeq": s}),
    };
    c.emit_with_ack(ev::SUBSCRIBE, data, T)
        .await
        .expect("subscribe ack")
}

/// A raw WebSocket client for `/ws/...` endpoints.
pub(crate) struct Raw {
    pub ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

#[derive(Debug)]
pub(crate) enum RawEvent {
    Frame(Value),
    Closed(Option<u16>),
}

impl Server {
    pub(crate) async fn ticket(&self, human: &Auth) -> String {
        let (s, v) = self.post("/api/auth/ws-ticket", human, json!({})).await;
        assert_eq!(s, 200, "{v}");
        v["ticket"].as_str().unwrap().to_owned()
    }

    /// Opens `path` (e.g. `/ws/threads/<id>?ticket=…`), optionally with an API key header.
    pub(crate) async fn raw(&self, path: &str, api_key: Option<&str>) -> Raw {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}{}", self.base.replacen("http://", "ws://", 1), path);
        let mut req = url.into_client_request().unwrap();
        if let Some(k) = api_key {
            req.headers_mut().insert("x-api-key", k.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("websocket handshake");
        Raw { ws }
    }
}

impl Raw {
    pub(crate) async fn next(&mut self, timeout: Duration) -> Option<RawEvent> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            match tokio::time::timeout(timeout, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) => return Some(RawEvent::Closed(None)),
                Ok(Some(Err(_))) => return Some(RawEvent::Closed(None)),
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Some(RawEvent::Frame(serde_json::from_str(t.as_str()).unwrap()));
                }
                Ok(Some(Ok(Message::Close(f)))) => {
                    return Some(RawEvent::Closed(f.map(|f| u16::from(f.code))));
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next text message as is (for protocols other than the thread stream's JSON).
    pub(crate) async fn ws_text(&mut self) -> Option<String> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            match tokio::time::timeout(T, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return Some(t.as_str().to_owned()),
                Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) | Err(_) => return None,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next frame; panics on close or timeout.
    pub(crate) async fn frame(&mut self) -> Value {
        match self.next(T).await {
            Some(RawEvent::Frame(v)) => v,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The close code the server closed with.
    pub(crate) async fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.next(T).await {
                Some(RawEvent::Closed(c)) => return c,
                Some(RawEvent::Frame(_)) => continue,
                None => panic!("no close within the timeout"),
            }
        }
    }

    /// Frames until `event_type` is seen (inclusive).
    pub(crate) async fn until(&mut self, event_type: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let f = self.frame().await;
            let done = f["event_type"] == event_type;
            out.push(f);
            if done {
                return out;
            }
        }
    }

    pub(crate) async fn send(&mut self, v: Value) {
        use futures_util::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::text(v.to_string()))
            .await
            .unwrap();
    }
}

/// A fresh PostgreSQL database for one test, dropped by `finish`.
pub(crate) struct PgDb {
    admin: String,
    name: String,
    pub url: String,
}

impl PgDb {
    /// `None` when PostgreSQL tests are switched off (`ASSENT_SKIP_PG=1`).
    #[allow(clippy::disallowed_methods)] // the test database comes from the environment
    pub(crate) async fn create() -> Option<PgDb> {
        use sqlx::Connection;
        if std::env::var("ASSENT_SKIP_PG").is_ok_and(|v| v == "1") {
            return None;
        }
        let admin = std::env::var("ASSENT_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("assent_it_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL reachable (set ASSENT_SKIP_PG=1 to skip)");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        Some(PgDb { admin, name, url })
    }

    pub(crate) async fn finish(self) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.admin).await.unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
}
