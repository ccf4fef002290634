//! Files: multipart uploads streamed to the blob store, text files, downloads served so that
//! nothing active ever renders from the API's origin, listings and deletion. Agents and
//! humans share each handler through `Caller`.

use super::extract::{Caller, JsonBody, Q};
use super::{Ctx, Reply, created, ok};
use crate::app::hub::View;
use crate::app::{AppError, FilesQuery, IncomingFile, Received, TextFileInput, UploadError};
use crate::error::ApiError;
use crate::wire;
use assent_core::attachment::content_disposition;
use assent_core::model::SenderType;
use assent_proto as p;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Text fields of an upload form are small (`channelId`, `text`).
const MAX_FORM_FIELD_BYTES: u64 = 512 * 1024;

/// A parsed upload form: its text fields and the received file.
struct Form {
    fields: HashMap<String, String>,
    file: Received,
}

fn uploader(who: &Caller) -> SenderType {
    match who.view {
        View::Agent => SenderType::Agent,
        View::Dashboard => SenderType::User,
    }
}

fn multer_error(e: multer::Error) -> UploadError {
    use multer::Error as M;
    match e {
        M::StreamSizeExceeded { .. } | M::FieldSizeExceeded { .. } => UploadError::TooLarge,
        M::StreamReadFailed(inner) if crate::serve::BodyTimedOut::caused(inner.as_ref()) => {
            UploadError::TimedOut
        }
        e => UploadError::Broken(format!("Malformed multipart body: {e}")),
    }
}

fn upload_error(e: UploadError, max: u64) -> ApiError {
    match e {
        UploadError::TooLarge => AppError::UploadTooLarge { max_bytes: max }.into(),
        e => AppError::from(e).into(),
    }
}

/// Reads a `multipart/form-data` upload: text fields, and one `file` part streamed to the
/// blob store. When `channelId` comes before the file, ownership is checked before any byte
/// of it is stored.
async fn read_form(c: &Ctx, who: &Caller, req: Request) -> Result<Form, ApiError> {
    let max = c.app.max_upload_bytes();
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(ctype).map_err(|_| {
        AppError::InvalidUpload("Content-Type must be multipart/form-data with a boundary".into())
    })?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max + MAX_FORM_FIELD_BYTES) {
        return Err(AppError::UploadTooLarge { max_bytes: max }.into());
    }
    let limits = multer::SizeLimit::new().whole_stream(max + MAX_FORM_FIELD_BYTES);
    let mut form = multer::Multipart::with_constraints(
        req.into_body().into_data_stream(),
        boundary,
        multer::Constraints::new().size_limit(limits),
    );
    let mut fields = HashMap::new();
    let mut file: Option<Received> = None;
    let result = async {
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| upload_error(multer_error(e), max))?
        {
            let name = field.name().unwrap_or("").to_owned();
            if name != "file" {
                let text = read_text_field(field)
                    .await
                    .map_err(|e| upload_error(e, max))?;
                fields.insert(name, text);
                continue;
            }
            if file.is_some() {
                return Err(
                    AppError::InvalidUpload("Send one `file` part per upload".into()).into(),
                );
            }
            if let Some(ch) = fields.get("channelId") {
                c.app.upload_channel(who.user(), ch).await?;
            }
            let incoming = IncomingFile {
                filename: field.file_name().map(str::to_owned),
                mime_type: field.content_type().map(|m| m.to_string()),
                body: field.map(|r| r.map_err(multer_error)),
            };
            file = Some(c.app.receive_file(incoming).await?);
        }
        Ok::<(), ApiError>(())
    }
    .await;
    match (result, file) {
        (Ok(()), Some(file)) => Ok(Form { fields, file }),
        (Ok(()), None) => Err(AppError::InvalidUpload("The form has no `file` part".into()).into()),
        (Err(e), Some(file)) => {
            c.app.discard(file).await;
            Err(e)
        }
        (Err(e), None) => Err(e),
    }
}

async fn read_text_field(mut field: multer::Field<'_>) -> Result<String, UploadError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multer_error)? {
        buf.extend_from_slice(&chunk);
        if buf.len() as u64 > MAX_FORM_FIELD_BYTES {
            return Err(UploadError::Broken(format!(
                "A form field may hold at most {MAX_FORM_FIELD_BYTES} bytes"
            )));
        }
    }
    String::from_utf8(buf).map_err(|_| UploadError::Broken("A form field is not UTF-8".into()))
}

/// `POST …/files/store`: a file no message carries yet (201).
pub(super) async fn store(State(c): State<Ctx>, who: Caller, req: Request) -> Reply {
    let mut form = read_form(&c, &who, req).await?;
    let channel = form.fields.remove("channelId");
    let a = c
        .app
        .store_file(who.user(), channel, form.file, uploader(&who))
        .await?;
    Ok(created(&wire::attachment(&a)))
}

/// `POST …/files/upload`: a file and a message carrying it (201): the agent's for agents,
/// the human's for the dashboard (which, like any human message, reaches the agent's webhook).
pub(super) async fn upload(State(c): State<Ctx>, who: Caller, req: Request) -> Reply {
    let mut form = read_form(&c, &who, req).await?;
    let channel = form.fields.remove("channelId");
    let text = form.fields.remove("text");
    let (a, m) = c
        .app
        .upload_file(who.user(), channel, form.file, uploader(&who), text)
        .await?;
    Ok(created(&p::UploadRecord {
        attachment: wire::attachment(&a),
        message: who.message(&m),
    }))
}

/// `POST /api/v1/files/store-text`: `{channelId, content, filename?, mimeType?}` (201).
pub(super) async fn store_text(
    State(c): State<Ctx>,
    who: Caller,
    JsonBody(mut b): JsonBody<serde_json::Map<String, Value>>,
) -> Reply {
    let channel = match b.remove("channelId") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let input = TextFileInput {
        content: b.remove("content"),
        filename: b.remove("filename"),
        mime_type: b.remove("mimeType"),
    };
    let a = c.app.store_text(who.user(), channel, input).await?;
    Ok(created(&wire::attachment(&a)))
}

/// `GET …/files`: newest first. Agents name the channel (`?channel=`); the dashboard filters
/// by `agent`, `type` (a MIME prefix) and `search` (filename).
pub(super) async fn list(State(c): State<Ctx>, who: Caller, q: Q) -> Reply {
    let query = FilesQuery {
        channel: q.get("channel").or_else(|| q.get("agent")),
        mime_prefix: q.get("type"),
        search: q.get("search"),
        limit: q.get("limit"),
        cursor: q.get("cursor"),
    };
    let page = c
        .app
        .list_files(who.user(), query, who.view == View::Agent)
        .await?;
    Ok(ok(&wire::file_page(&page)))
}

/// `GET …/files/{id}/download`: the bytes, streamed. Only raster images whose bytes match,
/// PDF and plain text are `inline` (and never with `?download=1`); active types are sent as
/// `application/octet-stream` attachments. Always `nosniff` and a sandboxing CSP.
pub(super) async fn download(
    State(c): State<Ctx>,
    who: Caller,
    Path(id): Path<String>,
    q: Q,
) -> Reply {
    let (a, bytes) = c.app.open_file(who.user(), &id).await?;
    let delivery = a.delivery();
    let inline = delivery.inline && q.get("download").is_none_or(|v| v == "0" || v == "false");
    let body = Body::from_stream(bytes.map(|r| r.map_err(std::io::Error::other)));
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    let put = |h: &mut axum::http::HeaderMap, name, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    put(h, header::CONTENT_TYPE, delivery.content_type);
    put(h, header::CONTENT_LENGTH, a.size.to_string());
    put(
        h,
        header::CONTENT_DISPOSITION,
        content_disposition(&a.filename, inline),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    Ok(res)
}

/// `DELETE /api/files/{id}`: deletes the file (and takes it off its message).
pub(super) async fn delete(State(c): State<Ctx>, who: Caller, Path(id): Path<String>) -> Reply {
    c.app.delete_file(who.user(), &id).await?;
    Ok(ok(&json!({"deleted": true})))
}
