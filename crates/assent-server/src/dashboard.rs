//! The dashboard's static assets (`crates/assent-server/assets/`) and, under `/client/`, the
//! JS client's sources (`clients/js/src/`, served as they are: one copy, no sync step),
//! embedded in release builds (debug builds read them from disk, so editing them needs no
//! rebuild). Any non-API path that is not a file gets `index.html` (the single-page app
//! routes itself).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct Assets;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../clients/js/src/"]
struct Client;

/// A file of either folder: `/client/…` from the JS client, the rest from the dashboard.
fn asset(file: &str) -> Option<rust_embed::EmbeddedFile> {
    match file.strip_prefix("client/") {
        Some(rest) => Client::get(rest),
        None => Assets::get(file),
    }
}

const SECURITY_HEADERS: [(header::HeaderName, &str); 3] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    // Agent-written content is rendered by our own sanitiser; the policy is a second wall:
    // no inline script, no foreign origins.
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
];

/// Serves a dashboard path.
pub(crate) fn serve(path: &str) -> Response {
    let file = path.trim_start_matches('/');
    let (name, asset) = match asset(file).filter(|_| !file.is_empty()) {
        Some(a) => (file.to_owned(), a),
        None if !file.contains('.') || file.ends_with(".html") => match Assets::get("index.html") {
            Some(a) => ("index.html".to_owned(), a),
            None => return (StatusCode::NOT_FOUND, "dashboard assets missing").into_response(),
        },
        None => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    let mime = mime_guess::from_path(&name).first_or_octet_stream();
    let mime = if mime.type_() == "text" || mime.subtype() == "javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    let cache = if name == "index.html" {
        "no-cache"
    } else {
        "public, max-age=300"
    };
    let mut res = (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, cache.to_owned()),
        ],
        asset.data.into_owned(),
    )
        .into_response();
    for (k, v) in SECURITY_HEADERS {
        res.headers_mut()
            .insert(k, header::HeaderValue::from_static(v));
    }
    res
}
