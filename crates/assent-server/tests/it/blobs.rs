//! Files through the real binary, in a process of its own: on an S3-compatible server
//! (`moto_server` from PyPI, on loopback), and with its memory watched while a large file
//! streams through.

use crate::common::free_port;
use crate::files::{Part, form};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_http(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(url).await.is_err() {
        assert!(Instant::now() < deadline, "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `assent serve` on a free port with a fresh data directory and `env`.
async fn assent(env: &[(&str, String)], dir: &std::path::Path) -> (Proc, String) {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_assent"));
    cmd.args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir)
        .env("ASSENT_ADMIN_EMAIL", "admin@example.com")
        .env("ASSENT_ADMIN_PASSWORD", "admin-password-1")
        .env("ASSENT_LOG", "warn")
        .env_remove("ASSENT_DATABASE_URL")
        .stdout(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = Proc(cmd.spawn().expect("the assent binary starts"));
    let base = format!("http://127.0.0.1:{port}");
    wait_http(&format!("{base}/health")).await;
    (child, base)
}

/// Logs in, creates a key and an agent: `(api key, channel id)`.
async fn tenant(http: &reqwest::Client, base: &str) -> (String, String) {
    let login: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": "admin@example.com", "password": "admin-password-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let key: Value = http
        .post(format!("{base}/api/api-keys"))
        .bearer_auth(token)
        .json(&json!({"label": "blobs"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["key"].as_str().unwrap().to_owned();
    let agent: Value = http
        .post(format!("{base}/api/v1/agents"))
        .header("x-api-key", &key)
        .json(&json!({"name": "files"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (key, agent["id"].as_str().unwrap().to_owned())
}

async fn upload(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    channel: &str,
    bytes: Vec<u8>,
) -> Value {
    let (ctype, body) = form(
        &[("channelId", channel)],
        Some(Part {
            filename: "big.bin",
            mime: "application/octet-stream",
            bytes,
        }),
        false,
    );
    let res = http
        .post(format!("{base}/api/v1/files/store"))
        .header("x-api-key", key)
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn download(http: &reqwest::Client, base: &str, key: &str, id: &str) -> Vec<u8> {
    let res = http
        .get(format!("{base}/api/v1/files/{id}/download"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.bytes().await.unwrap().to_vec()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// `moto_server` on a free port, or `None` when it is not installed and not required.
fn moto() -> Option<(Proc, String)> {
    #[allow(clippy::disallowed_methods)] // CI says whether S3 tests may be skipped
    let required = std::env::var("ASSENT_REQUIRE_S3").is_ok_and(|v| v == "1");
    let port = free_port();
    match Command::new("moto_server")
        .args(["-p", &port.to_string(), "-H", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => Some((Proc(child), format!("http://127.0.0.1:{port}"))),
        Err(e) => {
            assert!(
                !required,
                "ASSENT_REQUIRE_S3=1 but moto_server cannot start: {e}"
            );
            eprintln!(
                "skipping the S3 test: moto_server is not installed (pip install 'moto[server]')"
            );
            None
        }
    }
}

async fn bucket_keys(http: &reqwest::Client, s3: &str) -> String {
    http.get(format!("{s3}/assent-it?list-type=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn files_live_in_an_s3_bucket_when_configured() {
    let Some((_moto, s3)) = moto() else { return };
    wait_http(&s3).await;
    let http = reqwest::Client::new();
    let made = http.put(format!("{s3}/assent-it")).send().await.unwrap();
    assert!(made.status().is_success(), "bucket: {}", made.status());
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("ASSENT_STORAGE_URL", "s3://assent-it/node-a".to_owned()),
        ("AWS_ENDPOINT_URL", s3.clone()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    let (_node, base) = assent(&env, dir.path()).await;
    let (key, channel) = tenant(&http, &base).await;
    // Larger than one 5 MiB part: a real multipart upload.
    let bytes = pattern(12 * 1024 * 1024 + 7);
    let a = upload(&http, &base, &key, &channel, bytes.clone()).await;
    let id = a["id"].as_str().unwrap().to_owned();
    assert!(
        download(&http, &base, &key, &id).await == bytes,
        "the bytes come back intact"
    );
    let listing = bucket_keys(&http, &s3).await;
    assert!(listing.contains(&format!("node-a/{id}/blob")), "{listing}");
    assert!(!dir.path().join("files").exists(), "nothing on local disk");

    // Deleting the file deletes its object (the sweep is woken at once).
    let res = http
        .post(format!("{base}/api/v1/messages"))
        .header("x-api-key", &key)
        .json(&json!({"channelId": channel, "attachmentIds": [id]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let m: Value = res.json().await.unwrap();
    let res = http
        .delete(format!(
            "{base}/api/v1/messages/{}?channel={channel}",
            m["id"].as_str().unwrap()
        ))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while bucket_keys(&http, &s3).await.contains(&id) {
        assert!(Instant::now() < deadline, "the object outlived its message");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A missing bucket is a clear start-up error, not a server that fails later.
    let dir = tempfile::tempdir().unwrap();
    let mut env = env.clone();
    env[0].1 = "s3://no-such-bucket".to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_assent"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a server on a missing bucket kept running");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("file storage"), "{err}");
}

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_large_upload_streams_through_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (node, base) = assent(&[], dir.path()).await;
    let http = reqwest::Client::new();
    let (key, channel) = tenant(&http, &base).await;
    // Warm up allocator and buffers with a small file first.
    let small = upload(&http, &base, &key, &channel, pattern(1024 * 1024)).await;
    download(&http, &base, &key, small["id"].as_str().unwrap()).await;
    let before = peak_rss_kib(node.0.id());
    let bytes = pattern(96 * 1024 * 1024);
    let a = upload(&http, &base, &key, &channel, bytes.clone()).await;
    assert_eq!(a["size"], 96 * 1024 * 1024);
    assert!(download(&http, &base, &key, a["id"].as_str().unwrap()).await == bytes);
    let growth_mib = (peak_rss_kib(node.0.id()).saturating_sub(before)) / 1024;
    assert!(
        growth_mib < 24,
        "a 96 MiB file raised the server's peak RSS by {growth_mib} MiB: it is being buffered"
    );
}
