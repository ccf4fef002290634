//! `files`: streams one large file up and back down through `/api/v1/files`, and samples
//! the server's resident memory meanwhile. Neither side holds the file in memory: the
//! generator produces the multipart body on the fly and counts the download as it arrives.

use super::{Cli, Setup, channel, proc_stats, setup};
use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CHUNK: usize = 256 * 1024;
const BOUNDARY: &str = "assent-bench-files-boundary";

/// Samples the server's RSS every 10 ms until stopped; returns the peak in KiB.
fn sample_rss(pid: Option<u32>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            if let Some((_, rss)) = pid.and_then(proc_stats) {
                peak = peak.max(rss);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        peak
    })
}

/// A multipart body of `size` bytes of file content, generated as it is sent.
fn body(channel: &str, size: u64) -> (reqwest::Body, u64) {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"channelId\"\r\n\r\n{channel}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let total = head.len() as u64 + size + tail.len() as u64;
    let block = bytes::Bytes::from((0..CHUNK).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    let chunks = size.div_ceil(CHUNK as u64);
    let parts = futures_util::stream::iter(0..chunks).map(move |i| {
        let n = (size - i * CHUNK as u64).min(CHUNK as u64) as usize;
        Ok::<_, std::io::Error>(block.slice(..n))
    });
    let stream = futures_util::stream::once(async move { Ok(bytes::Bytes::from(head)) })
        .chain(parts)
        .chain(futures_util::stream::once(async move {
            Ok(bytes::Bytes::from(tail))
        }));
    (reqwest::Body::wrap_stream(stream), total)
}

async fn upload(s: &Setup, channel: &str, size: u64) -> Result<String> {
    let (body, len) = body(channel, size);
    let res = s
        .api
        .http
        .post(format!("{}/api/v1/files/store", s.api.base))
        .header("x-api-key", &s.key)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("content-length", len)
        .body(body)
        .send()
        .await?;
    let st = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    if st.as_u16() != 201 {
        bail!("upload → {st}: {v}");
    }
    Ok(v["id"].as_str().context("no file id")?.to_owned())
}

async fn download(s: &Setup, id: &str) -> Result<u64> {
    let res = s
        .api
        .http
        .get(format!("{}/api/v1/files/{id}/download", s.api.base))
        .header("x-api-key", &s.key)
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("download → {}", res.status());
    }
    let mut n = 0u64;
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream.next().await {
        n += chunk?.len() as u64;
    }
    Ok(n)
}

/// Runs `f` while sampling RSS: (seconds, peak RSS in KiB).
async fn timed<T>(
    pid: Option<u32>,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<(T, f64, u64)> {
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_rss(pid, stop.clone());
    let t = Instant::now();
    let out = f.await;
    let secs = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.await.unwrap_or(0);
    Ok((out?, secs, peak))
}

pub(crate) async fn files(cli: &Cli, size_mb: u64, rounds: usize) -> Result<Value> {
    let s = setup(cli).await?;
    let ch = channel(&s, "bench-files").await?;
    let size = size_mb * 1024 * 1024;
    let mib = |kib: u64| kib as f64 / 1024.0;
    let errors = AtomicU64::new(0);
    // A small file first: buffers and allocator warmed up before the baseline.
    let warm = upload(&s, &ch, 1024 * 1024).await?;
    download(&s, &warm).await?;
    let baseline = cli
        .server_pid
        .and_then(proc_stats)
        .map_or(0, |(_, rss)| rss);
    let mut runs = Vec::new();
    for _ in 0..rounds {
        let (id, up_s, up_peak) = timed(cli.server_pid, upload(&s, &ch, size)).await?;
        let (got, down_s, down_peak) = timed(cli.server_pid, download(&s, &id)).await?;
        if got != size {
            errors.fetch_add(1, Ordering::Relaxed);
        }
        runs.push(json!({
            "upload_mb_s": size_mb as f64 / up_s,
            "download_mb_s": size_mb as f64 / down_s,
            "rss_growth_upload_mib": mib(up_peak.saturating_sub(baseline)),
            "rss_growth_download_mib": mib(down_peak.saturating_sub(baseline)),
        }));
    }
    let median = |k: &str| {
        let mut v: Vec<f64> = runs.iter().filter_map(|r| r[k].as_f64()).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    Ok(json!({
        "scenario": "files",
        "size_mb": size_mb,
        "rounds": rounds,
        "errors": errors.load(Ordering::Relaxed),
        "upload_mb_s": median("upload_mb_s"),
        "download_mb_s": median("download_mb_s"),
        "rss_baseline_mib": mib(baseline),
        "rss_growth_upload_mib": median("rss_growth_upload_mib"),
        "rss_growth_download_mib": median("rss_growth_download_mib"),
        "runs": runs,
    }))
}
