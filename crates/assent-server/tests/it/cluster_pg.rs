//! Cluster mode while PostgreSQL restarts: a PostgreSQL server of the test's own (so that it
//! can be stopped hard and started again), two nodes and a Redis. Writes during the outage
//! get 503, never a 2xx that did not commit; afterwards the nodes carry on by themselves.

use crate::cluster::Redis;
use crate::common::*;
use assent_proto::events as ev;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A throwaway PostgreSQL cluster (initdb into a temporary directory, run as `postgres`).
struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    /// `None` when the PostgreSQL server binaries are not installed, or PostgreSQL tests
    /// are switched off.
    #[allow(clippy::disallowed_methods)] // the switch comes from the environment, as PgDb's
    fn start() -> Option<OwnPostgres> {
        if std::env::var("ASSENT_SKIP_PG").is_ok_and(|v| v == "1") {
            return None;
        }
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("initdb").exists())?;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let pg = OwnPostgres { bin, dir, port };
        Command::new("chown")
            .args(["-R", "postgres"])
            .arg(pg.dir.path())
            .status()
            .ok()?;
        let data = pg.data();
        let ok = pg
            .as_postgres(&pg.bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&data)
            .status()
            .ok()?
            .success();
        assert!(ok, "initdb failed");
        pg.ctl("start");
        Some(pg)
    }
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    /// `cmd` as the `postgres` user when we are root (the server refuses to run as root).
    fn as_postgres(&self, cmd: &std::path::Path) -> Command {
        let mut c = if unsafe_is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(cmd);
            c
        } else {
            Command::new(cmd)
        };
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c
    }
    fn ctl(&self, what: &str) {
        let mut c = self.as_postgres(&self.bin.join("pg_ctl"));
        c.args(["-D"])
            .arg(self.data())
            .args(["-w", "-m", "immediate"]);
        if what == "start" {
            let opts = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on",
                self.port,
                self.dir.path().display()
            );
            c.args(["-o", &opts, "-l"]).arg(self.dir.path().join("log"));
        }
        assert!(c.arg(what).status().unwrap().success(), "pg_ctl {what}");
    }
    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self
            .as_postgres(&self.bin.join("pg_ctl"))
            .args(["-D"])
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .status();
    }
}

fn unsafe_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[tokio::test]
async fn a_postgresql_restart_costs_503s_never_a_false_2xx() {
    let Some(pg) = OwnPostgres::start() else {
        eprintln!("skipped: no PostgreSQL server binaries");
        return;
    };
    let redis = Redis::start().await;
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let (url, r) = (pg.url("postgres"), redis.url());
        nodes.push(
            Server::start_with(
                move |c| {
                    c.database_url = Some(url);
                    c.redis_url = Some(r);
                },
                Arc::new(assent_server::clock::SystemClock),
            )
            .await,
        );
    }
    let t = nodes[0].tenant().await;
    let mut sub = nodes[1].sio_agent(&t.raw_key).await;
    subscribe(&sub, &t.channel, None).await;

    // An agent posts steadily for 6 s, retrying each message (same clientId) until a 2xx.
    let poster = {
        let (http, base, key, ch) = (
            nodes[0].http.clone(),
            nodes[0].base.clone(),
            t.raw_key.clone(),
            t.channel.clone(),
        );
        tokio::spawn(async move {
            let (mut acked, mut statuses) = (Vec::new(), Vec::new());
            let end = Instant::now() + Duration::from_secs(6);
            let mut i = 0;
            while Instant::now() < end || i < 10 {
                let body =
                    json!({"channelId": ch, "text": format!("m{i}"), "clientId": format!("c{i}")});
                let r = http
                    .post(format!("{base}/api/v1/messages"))
                    .header("x-api-key", &key)
                    .json(&body)
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await
                    .unwrap();
                let st = r.status().as_u16();
                statuses.push(st);
                if r.status().is_success() {
                    let v: Value = r.json().await.unwrap();
                    acked.push(v["seq"].as_i64().unwrap());
                    i += 1;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (acked, statuses)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.ctl("stop");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (st, body) = nodes[1].get("/health", &Auth::None).await;
    assert_eq!(st, 503, "{body}");
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    pg.ctl("start");
    let (acked, statuses) = poster.await.unwrap();

    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 201 | 503)),
        "only 2xx and 503: {statuses:?}"
    );
    assert!(statuses.contains(&503), "the outage was not noticed");
    let n = acked.len() as i64;
    let mut seqs = acked.clone();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "an acknowledged message was lost or doubled"
    );
    // The subscriber on the other node has every message once, in order.
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while got.len() < acked.len() && Instant::now() < deadline {
        for e in sub.drain(Duration::from_millis(200)).await {
            if e.name == ev::MESSAGE_CREATED {
                got.push(e.data["seq"].as_i64().unwrap());
            }
        }
    }
    assert_eq!(got, (1..=n).collect::<Vec<_>>());
    for node in nodes {
        node.stop().await;
    }
}
