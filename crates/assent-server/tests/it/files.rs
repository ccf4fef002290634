//! Attachments: Placet's files API, linking files to messages, safe downloads, bounds,
//! ownership, deletion and the sweep.

use crate::common::*;
use assent_proto::events as ev;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// A file part of an upload form.
pub(crate) struct Part<'a> {
    pub filename: &'a str,
    pub mime: &'a str,
    pub bytes: Vec<u8>,
}

/// A `multipart/form-data` body: the text fields, then the file (or the file first).
pub(crate) fn form(
    fields: &[(&str, &str)],
    file: Option<Part<'_>>,
    file_first: bool,
) -> (String, Vec<u8>) {
    let boundary = "----assent-test-boundary-7d93";
    let field = |name: &str, value: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
        .into_bytes()
    };
    let mut texts = Vec::new();
    for (k, v) in fields {
        texts.extend(field(k, v));
    }
    let mut filepart = Vec::new();
    if let Some(f) = file {
        filepart.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                f.filename, f.mime
            )
            .into_bytes(),
        );
        filepart.extend(f.bytes);
        filepart.extend(b"\r\n");
    }
    let mut body = if file_first {
        [filepart, texts].concat()
    } else {
        [texts, filepart].concat()
    };
    body.extend(format!("--{boundary}--\r\n").into_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn authed(s: &Server, method: Method, path: &str, auth: &Auth) -> reqwest::RequestBuilder {
    let req = s.http.request(method, s.url(path));
    match auth {
        Auth::None => req,
        Auth::Key(k) => req.header("x-api-key", k),
        Auth::Bearer(t) => req.bearer_auth(t),
        Auth::Cookie(t) => req.header("cookie", format!("access_token={t}")),
    }
}

pub(crate) async fn send_form(
    s: &Server,
    path: &str,
    auth: &Auth,
    (ctype, body): (String, Vec<u8>),
) -> (u16, Value) {
    let res = authed(s, Method::POST, path, auth)
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub(crate) async fn store(
    s: &Server,
    t: &Tenant,
    path: &str,
    auth: &Auth,
    part: Part<'_>,
) -> Value {
    let (st, v) = send_form(
        s,
        path,
        auth,
        form(&[("channelId", &t.channel)], Some(part), false),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    v
}

fn png(name: &str) -> Part<'_> {
    Part {
        filename: name,
        mime: "image/png",
        bytes: PNG.to_vec(),
    }
}

async fn download(s: &Server, path: &str, auth: &Auth) -> reqwest::Response {
    authed(s, Method::GET, path, auth).send().await.unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The objects in the server's file directory.
fn objects(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir.join("files")) else {
        return out;
    };
    for entry in rd.flatten() {
        for f in std::fs::read_dir(entry.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(f.path().display().to_string());
        }
    }
    out
}

#[tokio::test]
async fn stored_files_link_to_messages_and_download_intact() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let a = store(&s, &t, "/api/v1/files/store", &t.key, png("shot.png")).await;
    assert_eq!(a["messageId"], Value::Null);
    assert_eq!(a["channelId"], t.channel);
    assert_eq!(
        (a["pluginType"].as_str(), a["size"].as_i64()),
        (Some("@uax/image"), Some(PNG.len() as i64))
    );
    assert_eq!(
        (a["filename"].as_str(), a["mimeType"].as_str()),
        (Some("shot.png"), Some("image/png"))
    );
    let b = store(
        &s,
        &t,
        "/api/v1/files/store",
        &t.key,
        Part {
            filename: "notes.bin",
            mime: "application/zip",
            bytes: vec![1, 2, 3],
        },
    )
    .await;
    assert_eq!(b["pluginType"], "@uax/file");

    // A message with only attachments is valid; they come back in the order given.
    let mut sio = s.sio_dashboard(&t.human).await;
    subscribe(&sio, &t.channel, None).await;
    let (st, m) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "attachmentIds": [b["id"], a["id"]]}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    let ids: Vec<_> = m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].clone())
        .collect();
    assert_eq!(ids, vec![b["id"].clone(), a["id"].clone()]);
    assert_eq!(m["attachments"][0]["messageId"], m["id"]);
    let live = sio.next_event(T).await.unwrap();
    assert_eq!(live.name, ev::MESSAGE_CREATED);
    let (_, agents) = s.get("/api/agents", &t.human).await;
    assert_eq!(
        agents[0]["lastMessage"], "📎 notes.bin",
        "a message of files is previewed by its first"
    );
    assert_eq!(
        live.data["attachments"].as_array().unwrap().len(),
        2,
        "live events carry the files"
    );

    // Every read carries them; has_attachments filters listings.
    s.say(&t, "plain").await;
    let (_, one) = s
        .get(
            &format!(
                "/api/v1/messages/{}?channel={}",
                m["id"].as_str().unwrap(),
                t.channel
            ),
            &t.key,
        )
        .await;
    assert_eq!(one["attachments"], m["attachments"]);
    let (_, all) = s
        .get(&format!("/api/v1/messages?channel={}", t.channel), &t.key)
        .await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    assert_eq!(all["data"][1]["attachments"].as_array().unwrap().len(), 2);
    let (_, with) = s
        .get(
            &format!(
                "/api/v1/messages?channel={}&has_attachments=true",
                t.channel
            ),
            &t.key,
        )
        .await;
    assert_eq!(with["data"].as_array().unwrap().len(), 1, "{with}");
    let (st, bad) = s
        .get(
            &format!(
                "/api/v1/messages?channel={}&has_attachments=maybe",
                t.channel
            ),
            &t.key,
        )
        .await;
    assert_eq!(
        (st.as_u16(), bad["errors"][0]["path"].as_str()),
        (400, Some("has_attachments"))
    );

    // Sent files cannot be sent again; unknown ids are named by their place.
    for (ids, path) in [
        (json!([a["id"]]), "attachmentIds[0]"),
        (
            json!([
                store(&s, &t, "/api/v1/files/store", &t.key, png("x.png")).await["id"],
                "cnope"
            ]),
            "attachmentIds[1]",
        ),
        (json!(["../etc"]), "attachmentIds[0]"),
    ] {
        let (st, e) = s
            .post(
                "/api/v1/messages",
                &t.key,
                json!({"channelId": t.channel, "text": "again", "attachmentIds": ids}),
            )
            .await;
        assert_eq!(
            (st.as_u16(), e["code"].as_str()),
            (400, Some("validation_failed")),
            "{e}"
        );
        assert_eq!(e["errors"][0]["path"], path, "{e}");
    }
    let (_, all) = s
        .get(&format!("/api/v1/messages?channel={}", t.channel), &t.key)
        .await;
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        2,
        "a refused message leaves nothing behind"
    );

    // The bytes come back exactly, for the agent and for the human.
    for (path, auth) in [
        (
            format!("/api/v1/files/{}/download", a["id"].as_str().unwrap()),
            &t.key,
        ),
        (
            format!("/api/files/{}/download", a["id"].as_str().unwrap()),
            &t.human,
        ),
    ] {
        let res = download(&s, &path, auth).await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-type"), "image/png");
        assert_eq!(header(&res, "content-length"), PNG.len().to_string());
        assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    }
    let (_, files) = s
        .get(&format!("/api/v1/files?channel={}", t.channel), &t.key)
        .await;
    assert_eq!(files["data"].as_array().unwrap().len(), 3, "{files}");
    let (st, e) = s.get("/api/v1/files", &t.key).await;
    assert_eq!(
        (st.as_u16(), e["errors"][0]["path"].as_str()),
        (400, Some("channel"))
    );
}

#[tokio::test]
async fn text_attachments_carry_their_text() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let (st, m) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "textAttachments": [
                {"content": "# Report\n\nAll green."},
                {"content": "a,b\n1,2\n", "filename": "data.csv", "mimeType": "text/csv"},
                {"content": "x".repeat(70_000), "filename": "big.txt", "mimeType": "text/plain"}
            ]}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    let files = m["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(
        (files[0]["filename"].as_str(), files[0]["mimeType"].as_str()),
        (Some("content.md"), Some("text/markdown"))
    );
    assert_eq!(files[0]["textContent"], "# Report\n\nAll green.");
    assert_eq!(files[1]["textContent"], "a,b\n1,2\n");
    assert!(
        files[2].get("textContent").is_none(),
        "over 64 KB: no inline text"
    );
    assert_eq!(files[2]["size"], 70_000);

    let (st, a) = s
        .post(
            "/api/v1/files/store-text",
            &t.key,
            json!({"channelId": t.channel, "content": "hello"}),
        )
        .await;
    assert_eq!(st, 201, "{a}");
    assert_eq!(
        (
            a["filename"].as_str(),
            a["textContent"].as_str(),
            a["messageId"].clone()
        ),
        (Some("content.md"), Some("hello"), Value::Null)
    );
    let (st, e) = s
        .post(
            "/api/v1/files/store-text",
            &t.key,
            json!({"channelId": t.channel}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), e["errors"][0]["path"].as_str()),
        (400, Some("content")),
        "{e}"
    );
    let (st, e) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "textAttachments": [{"content": ""}, 7]}),
        )
        .await;
    assert_eq!(st, 400);
    let paths: Vec<_> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        paths,
        ["textAttachments[0].content", "textAttachments[1]"],
        "{e}"
    );
}

#[tokio::test]
async fn uploads_create_messages_from_either_side() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut agent = s.sio_agent(&t.raw_key).await;
    subscribe(&agent, &t.channel, None).await;
    // The file may come before the channel in the form.
    let (st, up) = send_form(
        &s,
        "/api/v1/files/upload",
        &t.key,
        form(&[("channelId", &t.channel)], Some(png("a.png")), true),
    )
    .await;
    assert_eq!(st, 201, "{up}");
    assert_eq!(up["message"]["senderType"], "agent");
    assert_eq!(up["messageId"], up["message"]["id"]);
    assert_eq!(agent.next_event(T).await.unwrap().name, ev::MESSAGE_CREATED);

    let (st, up) = send_form(
        &s,
        "/api/files/upload",
        &t.human,
        form(
            &[("channelId", &t.channel), ("text", "here is the log")],
            Some(Part {
                filename: "run.log",
                mime: "text/plain",
                bytes: b"ok\n".to_vec(),
            }),
            false,
        ),
    )
    .await;
    assert_eq!(st, 201, "{up}");
    assert_eq!(
        (
            up["message"]["senderType"].as_str(),
            up["message"]["text"].as_str()
        ),
        (Some("user"), Some("here is the log"))
    );
    let e = agent.next_event(T).await.unwrap();
    assert_eq!(
        e.data["attachments"][0]["textContent"], "ok\n",
        "the agent hears the human's file"
    );

    // Human-stored files link through POST /api/messages too.
    let stored = store(&s, &t, "/api/files/store", &t.human, png("b.png")).await;
    assert_eq!(stored["uploadedBy"], "user");
    let (st, m) = s
        .post(
            "/api/messages",
            &t.human,
            json!({"channelId": t.channel, "attachmentIds": [stored["id"]]}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["attachments"][0]["id"], stored["id"]);

    // Malformed forms.
    for (body, code) in [
        (
            form(&[("channelId", &t.channel)], None, false),
            "invalid_upload",
        ),
        (
            ("application/json".to_owned(), b"{}".to_vec()),
            "invalid_upload",
        ),
        (form(&[], Some(png("c.png")), false), "validation_failed"),
        (
            (
                "multipart/form-data; boundary=zz".to_owned(),
                b"--zz\r\ngarbage".to_vec(),
            ),
            "invalid_upload",
        ),
    ] {
        let (st, e) = send_form(&s, "/api/v1/files/store", &t.key, body).await;
        assert_eq!((st, e["code"].as_str()), (400, Some(code)), "{e}");
    }
    eventually("refused uploads leave no object", || {
        objects(s.data_dir()).len() == 3
    })
    .await;
}

#[tokio::test]
async fn downloads_never_render_active_content() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let cases = [
        ("real.png", "image/png", PNG.to_vec(), "image/png", true),
        (
            "fake.png",
            "image/png",
            b"<html><script>alert(1)</script>".to_vec(),
            "image/png",
            false,
        ),
        (
            "x.svg",
            "image/svg+xml",
            b"<svg onload=alert(1)>".to_vec(),
            "application/octet-stream",
            false,
        ),
        (
            "page.html",
            "text/html",
            b"<script>alert(1)</script>".to_vec(),
            "application/octet-stream",
            false,
        ),
        (
            "a.txt",
            "text/plain",
            b"hi".to_vec(),
            "text/plain; charset=utf-8",
            true,
        ),
        (
            "doc.pdf",
            "application/pdf",
            b"%PDF-1.7 ...".to_vec(),
            "application/pdf",
            true,
        ),
        (
            "x.js",
            "application/javascript",
            b"alert(1)".to_vec(),
            "application/octet-stream",
            false,
        ),
    ];
    for (name, mime, bytes, served, inline) in cases {
        let a = store(
            &s,
            &t,
            "/api/files/store",
            &t.human,
            Part {
                filename: name,
                mime,
                bytes,
            },
        )
        .await;
        let path = format!("/api/files/{}/download", a["id"].as_str().unwrap());
        let res = download(&s, &path, &t.human).await;
        assert_eq!(header(&res, "content-type"), served, "{name}");
        assert!(
            header(&res, "content-disposition").starts_with(if inline {
                "inline;"
            } else {
                "attachment;"
            }),
            "{name}"
        );
        assert_eq!(header(&res, "x-content-type-options"), "nosniff");
        assert!(header(&res, "content-security-policy").contains("sandbox"));
        let forced = download(&s, &format!("{path}?download=1"), &t.human).await;
        assert!(
            header(&forced, "content-disposition").starts_with("attachment;"),
            "{name}"
        );
    }
    // Names cannot traverse paths or inject headers.
    let (st, a) = s
        .post(
            "/api/v1/files/store-text",
            &t.key,
            json!({"channelId": t.channel, "content": "x",
            "filename": "../../etc/pa\"ss\r\nwd.txt", "mimeType": "text/plain"}),
        )
        .await;
    assert_eq!(st, 201, "{a}");
    assert_eq!(a["filename"], "pa_sswd.txt");
    let res = download(
        &s,
        &format!("/api/files/{}/download", a["id"].as_str().unwrap()),
        &t.human,
    )
    .await;
    assert_eq!(
        header(&res, "content-disposition"),
        "inline; filename=\"pa_sswd.txt\"; filename*=UTF-8''pa_sswd.txt"
    );
    let (_, a) = s
        .post(
            "/api/v1/files/store-text",
            &t.key,
            json!({"channelId": t.channel, "content": "x", "filename": "résumé.md"}),
        )
        .await;
    let res = download(
        &s,
        &format!("/api/files/{}/download", a["id"].as_str().unwrap()),
        &t.human,
    )
    .await;
    assert_eq!(
        header(&res, "content-disposition"),
        "attachment; filename=\"r_sum_.md\"; filename*=UTF-8''r%C3%A9sum%C3%A9.md"
    );
}

#[tokio::test]
async fn files_are_private_to_their_owner() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let other = s.member_tenant("other@example.com").await;
    let a = store(&s, &t, "/api/v1/files/store", &t.key, png("mine.png")).await;
    let id = a["id"].as_str().unwrap();
    for (path, auth) in [
        (format!("/api/v1/files/{id}/download"), &other.key),
        (format!("/api/files/{id}/download"), &other.human),
        ("/api/files/cunknown/download".to_owned(), &t.human),
    ] {
        let (st, e) = s.get(&path, auth).await;
        assert_eq!(
            (st.as_u16(), e["code"].as_str()),
            (404, Some("attachment_not_found")),
            "{path}"
        );
    }
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/files/{id}"),
            &other.human,
            None,
        )
        .await;
    assert_eq!(st, 404, "foreign and unknown look the same");
    let (st, e) = send_form(
        &s,
        "/api/v1/files/store",
        &other.key,
        form(&[("channelId", &t.channel)], Some(png("x.png")), false),
    )
    .await;
    assert_eq!((st, e["code"].as_str()), (403, Some("not_your_agent")));
    let (st, e) = s
        .post(
            "/api/v1/messages",
            &other.key,
            json!({"channelId": other.channel, "attachmentIds": [id]}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), e["errors"][0]["path"].as_str()),
        (400, Some("attachmentIds[0]")),
        "{e}"
    );
    let (_, mine) = s.get("/api/files", &other.human).await;
    assert_eq!(mine["data"], json!([]));
    let (st, _) = s
        .get(&format!("/api/v1/files?channel={}", t.channel), &other.key)
        .await;
    assert_eq!(st, 403);
}

#[tokio::test]
async fn uploads_are_bounded_while_they_stream() {
    let s = Server::start_with(
        |c| c.max_upload_bytes = 64 * 1024,
        Arc::new(assent_server::clock::SystemClock),
    )
    .await;
    let t = s.tenant().await;
    // Within the form's slack, so only the streaming count can catch it.
    let big = Part {
        filename: "big.bin",
        mime: "application/octet-stream",
        bytes: vec![0u8; 200 * 1024],
    };
    let (st, e) = send_form(
        &s,
        "/api/v1/files/store",
        &t.key,
        form(&[("channelId", &t.channel)], Some(big), false),
    )
    .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (413, Some("payload_too_large")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("65536"), "{e}");
    // Declared too large: refused before reading.
    let huge = Part {
        filename: "huge.bin",
        mime: "application/octet-stream",
        bytes: vec![0u8; 700 * 1024],
    };
    let (st, _) = send_form(
        &s,
        "/api/v1/files/store",
        &t.key,
        form(&[("channelId", &t.channel)], Some(huge), false),
    )
    .await;
    assert_eq!(st, 413);
    let ok = Part {
        filename: "ok.bin",
        mime: "application/octet-stream",
        bytes: vec![0u8; 64 * 1024],
    };
    let (st, _) = send_form(
        &s,
        "/api/v1/files/store",
        &t.key,
        form(&[("channelId", &t.channel)], Some(ok), false),
    )
    .await;
    assert_eq!(st, 201, "exactly the limit is accepted");
    let (_, files) = s
        .get(&format!("/api/v1/files?channel={}", t.channel), &t.key)
        .await;
    assert_eq!(
        files["data"].as_array().unwrap().len(),
        1,
        "refused uploads are not visible"
    );
    assert_eq!(
        objects(s.data_dir()).len(),
        1,
        "and leave no object: {:?}",
        objects(s.data_dir())
    );
}

#[tokio::test]
async fn deleted_and_abandoned_files_lose_their_objects() {
    let (s, clock) = Server::start_manual().await;
    let t = s.tenant().await;
    let a = store(&s, &t, "/api/v1/files/store", &t.key, png("a.png")).await;
    let b = store(&s, &t, "/api/v1/files/store", &t.key, png("b.png")).await;
    let (_, m) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "text": "two", "attachmentIds": [a["id"], b["id"]]}),
        )
        .await;
    let unsent = store(&s, &t, "/api/v1/files/store", &t.key, png("later.png")).await;
    assert_eq!(objects(s.data_dir()).len(), 3);

    // Deleting one file takes it off its message, live.
    let mut sio = s.sio_dashboard(&t.human).await;
    subscribe(&sio, &t.channel, None).await;
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/files/{}", a["id"].as_str().unwrap()),
            &t.human,
            None,
        )
        .await;
    assert_eq!(st, 200);
    let e = sio.next_event(T).await.unwrap();
    assert_eq!(e.name, ev::MESSAGE_UPDATED);
    assert_eq!(e.data["attachments"].as_array().unwrap().len(), 1);
    // The sweep is woken at once; running it here as well is harmless.
    s.app.sweep_files().await.unwrap();
    assert_eq!(objects(s.data_dir()).len(), 2);

    // Deleting the message deletes the rest of its files.
    let mid = m["id"].as_str().unwrap();
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/messages/{mid}?channel={}", t.channel),
            &t.key,
            None,
        )
        .await;
    assert_eq!(st, 200);
    s.app.sweep_files().await.unwrap();
    assert_eq!(
        objects(s.data_dir()).len(),
        1,
        "only the unsent file is left"
    );
    let (st, _) = s
        .get(
            &format!("/api/v1/files/{}/download", b["id"].as_str().unwrap()),
            &t.key,
        )
        .await;
    assert_eq!(st, 404);

    // Unsent files go after ASSENT_ORPHAN_FILE_HOURS (24 h by default), not before.
    clock.advance_secs(23 * 3600);
    s.app.sweep_files().await.unwrap();
    assert_eq!(objects(s.data_dir()).len(), 1, "not yet");
    clock.advance_secs(2 * 3600);
    s.app.sweep_files().await.unwrap();
    assert!(objects(s.data_dir()).is_empty());
    let (st, _) = s
        .get(
            &format!("/api/v1/files/{}/download", unsent["id"].as_str().unwrap()),
            &t.key,
        )
        .await;
    assert_eq!(st, 404);

    // Deleting the agent dooms every file of it.
    store(&s, &t, "/api/v1/files/store", &t.key, png("c.png")).await;
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/agents/{}", t.channel),
            &t.key,
            None,
        )
        .await;
    assert_eq!(st, 200);
    s.app.sweep_files().await.unwrap();
    assert!(objects(s.data_dir()).is_empty());
}

#[tokio::test]
async fn modified_files_of_an_answer_are_checked_and_delivered() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let other = s.member_tenant("someone@example.com").await;
    let orig = store(&s, &t, "/api/v1/files/store", &t.key, png("draft.png")).await;
    let (st, m) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "attachmentIds": [orig["id"]],
            "review": {"type": "approval", "payload": {"question": "Ship this design?"}}}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    let oid = orig["id"].as_str().unwrap();
    let edited = store(&s, &t, "/api/files/store", &t.human, png("annotated.png")).await;
    let foreign = store(
        &s,
        &other,
        "/api/files/store",
        &other.human,
        png("theirs.png"),
    )
    .await;
    let respond = format!("/api/messages/{}/respond", m["id"].as_str().unwrap());
    let mut thread = s
        .raw(&format!("/ws/threads/{}", t.channel), Some(&t.raw_key))
        .await;
    thread.until("ready").await;
    let each = format!("modifiedFileIds.{oid}");
    for (bad, path) in [
        (json!("cnothere"), each.as_str()),
        (foreign["id"].clone(), each.as_str()),
        (json!(7), "modifiedFileIds"),
    ] {
        let (st, e) = s
            .post(
                &respond,
                &t.human,
                json!({"response": {"selectedOption": "approve"}, "modifiedFileIds": {oid: bad}}),
            )
            .await;
        assert_eq!(st, 400, "{e}");
        assert_eq!(e["errors"][0]["path"], path, "{e}");
    }
    let (st, done) = s
        .post(
            &respond,
            &t.human,
            json!({"response": {"selectedOption": "approve"}, "modifiedFileIds": {oid: edited["id"]}}),
        )
        .await;
    assert_eq!(st, 201, "{done}");
    let (_, r) = s
        .get(
            &format!(
                "/api/v1/reviews/{}?channel={}",
                m["id"].as_str().unwrap(),
                t.channel
            ),
            &t.key,
        )
        .await;
    assert_eq!(r["review"]["modifiedFileIds"][oid], edited["id"]);
    let frames = thread.until("review_responded").await;
    assert_eq!(frames.last().unwrap()["modifiedFileIds"][oid], edited["id"]);
    assert_eq!(r["attachments"][0]["id"], orig["id"]);
}

#[tokio::test]
async fn the_gallery_filters_and_pages() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let second = s.agent(&t.raw_key, "second").await;
    for i in 0..3 {
        store(
            &s,
            &t,
            "/api/v1/files/store",
            &t.key,
            Part {
                filename: &format!("img{i}.png"),
                mime: "image/png",
                bytes: PNG.to_vec(),
            },
        )
        .await;
    }
    let (_, up) = send_form(
        &s,
        "/api/v1/files/upload",
        &t.key,
        form(
            &[("channelId", &second)],
            Some(Part {
                filename: "Quarterly_Report.pdf",
                mime: "application/pdf",
                bytes: b"%PDF-1.4".to_vec(),
            }),
            false,
        ),
    )
    .await;
    let (_, all) = s.get("/api/files?limit=2", &t.human).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    assert_eq!(all["data"][0]["id"], up["id"], "newest first");
    assert_eq!(all["data"][0]["message"]["channelId"], second);
    assert_eq!(
        all["data"][1]["message"],
        Value::Null,
        "unsent files have no message"
    );
    let next = all["nextCursor"].as_str().unwrap();
    let (_, rest) = s
        .get(&format!("/api/files?limit=2&cursor={next}"), &t.human)
        .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 2);
    assert_eq!(rest["nextCursor"], Value::Null);
    let (_, images) = s
        .get(
            &format!("/api/files?type=image&agent={}", t.channel),
            &t.human,
        )
        .await;
    assert_eq!(images["data"].as_array().unwrap().len(), 3);
    let (_, found) = s.get("/api/files?search=quarterly", &t.human).await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    let (_, none) = s.get("/api/files?search=%25", &t.human).await;
    assert_eq!(none["data"], json!([]), "LIKE wildcards are literal");
}

#[tokio::test]
async fn a_file_the_human_sends_reaches_the_agents_webhook() {
    use crate::webhooks::{Receiver, private_server, set_webhook};
    let (s, _clock) = private_server().await;
    let t = s.tenant().await;
    let rx = Receiver::start().await;
    set_webhook(&s, &t, &rx.url("/hook"), json!({})).await;
    let (st, up) = send_form(
        &s,
        "/api/files/upload",
        &t.human,
        form(&[("channelId", &t.channel)], Some(png("screen.png")), false),
    )
    .await;
    assert_eq!(st, 201, "{up}");
    let hits = rx.wait_for(1, T).await;
    let body: Value = serde_json::from_str(&hits[0].body).unwrap();
    assert_eq!(body["event"], "message:created");
    assert_eq!(body["message"]["attachments"][0]["id"], up["id"]);
    assert_eq!(
        body["message"]["attachments"][0]["pluginType"],
        "@uax/image"
    );
}
