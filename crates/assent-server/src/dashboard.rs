//! The dashboard's static assets, embedded in the binary.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../assets/index.html");

/// Serves the single-page dashboard for any non-API path.
pub fn serve(path: &str) -> Response {
    if path == "/" || !path.contains('.') {
        return (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            INDEX,
        )
            .into_response();
    }
    (StatusCode::NOT_FOUND, "not found").into_response()
}
