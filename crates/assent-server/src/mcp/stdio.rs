//! `assent mcp`: MCP over stdio (one JSON-RPC message per line) for hosts that only launch
//! local commands, forwarded to a running server's Streamable HTTP endpoint. Each message
//! becomes a POST to `/mcp` with the key; answers (a JSON body, or the events of an SSE
//! stream: progress, then the result) are written back one per line. Requests run
//! concurrently, so a cancellation reaches the server while a wait is parked.

use crate::config::McpArgs;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

struct Bridge {
    http: reqwest::Client,
    endpoint: String,
    key: String,
    /// `Mcp-Session-Id` and `MCP-Protocol-Version`, learned from the initialize answer.
    session: Mutex<(Option<String>, Option<String>)>,
    out: mpsc::UnboundedSender<String>,
}

/// Runs until stdin closes, then ends the session on the server.
pub async fn run(args: McpArgs) -> anyhow::Result<()> {
    let mut endpoint = format!("{}/mcp", args.url.trim_end_matches('/'));
    if let Some(ch) = args.channel.as_deref().filter(|c| !c.is_empty()) {
        endpoint.push_str(&format!("?channel={ch}"));
    }
    let (out, mut rx) = mpsc::unbounded_channel::<String>();
    let bridge = Arc::new(Bridge {
        http: reqwest::Client::builder().build()?,
        endpoint,
        key: args.api_key,
        session: Mutex::new((None, None)),
        out,
    });
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = rx.recv().await {
            if stdout
                .write_all(format!("{line}\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
            let _ = stdout.flush().await;
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut tasks = Vec::new();
    let mut listener = None;
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let b = bridge.clone();
        if bridge.session.lock().expect("session lock").0.is_none() {
            // The initialize exchange sets up the session: finish it first, then listen on
            // the session's own stream for what the server sends outside a request.
            b.forward(line).await;
            if bridge.session.lock().expect("session lock").0.is_some() {
                let l = bridge.clone();
                listener = Some(tokio::spawn(async move { l.listen().await }));
            }
        } else {
            tasks.push(tokio::spawn(async move { b.forward(line).await }));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    if let Some(l) = listener {
        l.abort();
        let _ = l.await;
    }
    bridge.close().await;
    drop(bridge);
    let _ = writer.await;
    Ok(())
}

impl Bridge {
    fn request(&self, method: reqwest::Method) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, &self.endpoint)
            .header("x-api-key", &self.key)
            .header("accept", "application/json, text/event-stream");
        let (sid, version) = self.session.lock().expect("session lock").clone();
        if let Some(sid) = sid {
            req = req.header("mcp-session-id", sid);
        }
        if let Some(v) = version {
            req = req.header("mcp-protocol-version", v);
        }
        req
    }

    /// Posts one message and writes back whatever answers it.
    async fn forward(&self, line: String) {
        let id = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("id").cloned());
        let sent = self
            .request(reqwest::Method::POST)
            .header("content-type", "application/json")
            .body(line)
            .send()
            .await;
        let res = match sent {
            Ok(r) => r,
            Err(e) => return self.fail(id, &format!("the server is unreachable: {e}")),
        };
        if let Some(sid) = res
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            self.session.lock().expect("session lock").0 = Some(sid.to_owned());
        }
        let status = res.status();
        let sse = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if status == reqwest::StatusCode::ACCEPTED {
            return; // a notification or response: nothing comes back
        }
        if !status.is_success() {
            let body = res.text().await.unwrap_or_default();
            return self.fail(id, &format!("the server answered {status}: {body}"));
        }
        if sse {
            self.relay_events(res).await;
        } else if let Ok(body) = res.text().await {
            self.emit(body);
        }
    }

    /// The session's standalone SSE stream (`GET /mcp`): server messages that belong to no
    /// request, e.g. notifications. Reopened while the session lives.
    async fn listen(&self) {
        for _ in 0..1_000 {
            match self.request(reqwest::Method::GET).send().await {
                Ok(res) if res.status().is_success() => self.relay_events(res).await,
                // No standalone stream on this server or session: nothing to listen to.
                Ok(_) => return,
                Err(_) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            }
        }
    }

    /// Writes each SSE event's `data` (a JSON-RPC message) as one line.
    async fn relay_events(&self, mut res: reqwest::Response) {
        let mut buf = String::new();
        while let Ok(Some(chunk)) = res.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let event: String = buf.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if !data.is_empty() {
                    self.emit(data.join("\n"));
                }
            }
        }
    }

    fn emit(&self, message: String) {
        let message = message.trim();
        if message.is_empty() {
            return;
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(message) {
            if let Some(pv) = v
                .pointer("/result/protocolVersion")
                .and_then(|p| p.as_str())
            {
                self.session.lock().expect("session lock").1 = Some(pv.to_owned());
            }
            let _ = self.out.send(v.to_string());
        }
    }

    /// A JSON-RPC error for a request that could not be forwarded.
    fn fail(&self, id: Option<serde_json::Value>, why: &str) {
        if let Some(id) = id {
            let err = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": why}});
            let _ = self.out.send(err.to_string());
        } else {
            eprintln!("assent mcp: {why}");
        }
    }

    async fn close(&self) {
        if self.session.lock().expect("session lock").0.is_some() {
            let _ = self.request(reqwest::Method::DELETE).send().await;
        }
    }
}
