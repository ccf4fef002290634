//! Plugins: the manifests (Placet's `GET /api/v1/plugins[/:name]` and the dashboard's), and
//! each plugin's frame: its `render.html` after Assent's bridge, served with a CSP that
//! sandboxes it (opaque origin, scripts only, no network) wherever it is opened.

use super::extract::Caller;
use super::{Ctx, Reply, ok};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

const BRIDGE: &str = include_str!("../plugins/bridge.js");

/// The frame's policy: inline scripts and styles of the plugin only, images from `data:` and
/// `blob:` URLs, no requests, no forms, no framing but by the dashboard, and a sandbox even
/// when the document is opened on its own.
const FRAME_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
     img-src data: blob:; font-src data:; media-src data: blob:; form-action 'none'; base-uri 'none'; \
     frame-ancestors 'self'; sandbox allow-scripts";

pub(super) async fn list(State(c): State<Ctx>, _who: Caller) -> Reply {
    let all: Vec<_> = c.app.plugins().all().map(|p| &p.manifest).collect();
    Ok(ok(&all))
}

pub(super) async fn get(State(c): State<Ctx>, _who: Caller, Path(name): Path<String>) -> Reply {
    Ok(ok(&c.app.plugin(&name)?.manifest))
}

/// `GET /plugins/{name}/frame#<context>`: no credential (nothing in it is private; the
/// context travels in the fragment, which is never sent).
pub(super) async fn frame(State(c): State<Ctx>, Path(name): Path<String>) -> Reply {
    let p = c.app.plugin(&name)?;
    let doc = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>html,body{{margin:0;background:transparent;font-family:system-ui,-apple-system,sans-serif}}\
         html.dark{{color-scheme:dark}}</style><script>{BRIDGE}</script></head><body>\n{}\n</body></html>\n",
        p.html
    );
    let mut res = (StatusCode::OK, doc).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FRAME_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}
