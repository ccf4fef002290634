//! Attachments: files stored beside messages (Placet's `Attachment`). The bytes live in a
//! blob store; the row holds what every reader needs. The rules on what a file may claim to
//! be, what its name may contain and how it may be served are here, once.

use crate::model::SenderType;
use crate::{ChannelId, MessageId, Millis};
use serde::{Deserialize, Serialize};

pub use crate::ids::AttachmentId;

/// Text attachments up to this size carry their text in `textContent` (Placet: 64 KB).
pub const MAX_INLINE_TEXT_BYTES: usize = 64 * 1024;

/// Longest stored filename, in characters.
pub const MAX_FILENAME_CHARS: usize = 255;

/// The MIME types whose text is inlined as `textContent` when small (Placet's list).
const INLINE_TEXT_TYPES: &[&str] = &["text/markdown", "text/plain", "text/html", "text/csv"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    /// `None` until a message links it ("stored" but not yet sent).
    pub message_id: Option<MessageId>,
    pub channel_id: ChannelId,
    pub filename: String,
    /// As declared by the uploader (normalised to lowercase `type/subtype`).
    pub mime_type: String,
    pub size: i64,
    /// Where the bytes are in the blob store.
    pub storage_key: String,
    /// What the first bytes say the file is, when they name a format we serve inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sniffed: Option<String>,
    /// The text of a small text attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_content: Option<String>,
    pub uploaded_by: SenderType,
    pub created_at: Millis,
}

impl Attachment {
    /// Placet's renderer name: `@uax/image` for `image/*`, else `@uax/file`.
    pub fn plugin_type(&self) -> &'static str {
        if self.mime_type.starts_with("image/") {
            "@uax/image"
        } else {
            "@uax/file"
        }
    }

    /// How a download of this file must be served.
    pub fn delivery(&self) -> Delivery {
        delivery(&self.mime_type, self.sniffed.as_deref())
    }
}

/// Whether `mime` is a text type whose small files carry `textContent`.
pub fn inlines_text(mime: &str) -> bool {
    INLINE_TEXT_TYPES.contains(&mime)
}

/// The headers a download gets: the type to send and whether a browser may show it in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub content_type: String,
    pub inline: bool,
}

/// Only raster images whose bytes really are that format, PDF and plain text are shown in
/// place; active content (HTML, SVG, XML, scripts, anything unknown) is never served under its
/// own type: it is a download of `application/octet-stream`.
pub fn delivery(declared: &str, sniffed: Option<&str>) -> Delivery {
    let inline = match declared {
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" => sniffed == Some(declared),
        "application/pdf" => sniffed == Some("application/pdf"),
        "text/plain" => true,
        _ => false,
    };
    let content_type = if inline {
        if declared == "text/plain" {
            "text/plain; charset=utf-8".to_owned()
        } else {
            declared.to_owned()
        }
    } else if is_passive(declared) {
        declared.to_owned()
    } else {
        "application/octet-stream".to_owned()
    };
    Delivery {
        content_type,
        inline,
    }
}

/// Types a browser will not run or render as a document even when told to: safe to name in a
/// `Content-Type` of an `attachment` download.
fn is_passive(mime: &str) -> bool {
    let (top, sub) = mime.split_once('/').unwrap_or((mime, ""));
    match top {
        "image" => !sub.contains("svg") && !sub.contains("xml"),
        "audio" | "video" | "font" => true,
        "text" => matches!(sub, "plain" | "csv" | "markdown" | "tab-separated-values"),
        "application" => {
            matches!(
                sub,
                "pdf" | "zip" | "gzip" | "x-tar" | "octet-stream" | "json" | "msword"
            ) || sub.starts_with("vnd.openxmlformats")
                || sub.starts_with("vnd.oasis")
        }
        _ => false,
    }
}

/// The format the first bytes of a file name, for the formats [`delivery`] serves in place.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
    ];
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    SIGNATURES
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, mime)| *mime)
}

/// A declared MIME type, normalised: lowercase `type/subtype` without parameters. Anything
/// that is not of that shape becomes `application/octet-stream`.
pub fn normalise_mime(declared: Option<&str>) -> String {
    let raw = declared
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    let lower = raw.to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match lower.split_once('/') {
        Some((top, sub)) if token(top) && token(sub) => lower,
        _ => "application/octet-stream".to_owned(),
    }
}

/// A filename safe to store, show and put in a header: the last path segment, without control
/// characters, quotes or backslashes, at most [`MAX_FILENAME_CHARS`]; `fallback` when nothing
/// is left.
pub fn sanitise_filename(raw: &str, fallback: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if matches!(c, '"' | ';' | '\\') {
                '_'
            } else {
                c
            }
        })
        .take(MAX_FILENAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// `Content-Disposition` for a download: an ASCII `filename` (anything else replaced) and the
/// exact name in RFC 5987 `filename*`.
pub fn content_disposition(filename: &str, inline: bool) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_raster_images_pdf_and_plain_text_are_inline() {
        let png = sniff(b"\x89PNG\r\n\x1a\n....");
        assert_eq!(png, Some("image/png"));
        assert!(delivery("image/png", png).inline);
        // An HTML page that says it is a PNG is a download, never rendered.
        let lie = sniff(b"<html><script>alert(1)</script>");
        assert_eq!(lie, None);
        let d = delivery("image/png", lie);
        assert!(!d.inline);
        assert_eq!(d.content_type, "image/png");
        for active in [
            "text/html",
            "image/svg+xml",
            "application/xml",
            "text/javascript",
        ] {
            let d = delivery(active, None);
            assert!(!d.inline, "{active}");
            assert_eq!(d.content_type, "application/octet-stream", "{active}");
        }
        assert!(delivery("application/pdf", sniff(b"%PDF-1.7")).inline);
        assert!(!delivery("application/pdf", None).inline);
        let text = delivery("text/plain", None);
        assert_eq!(
            (text.inline, text.content_type.as_str()),
            (true, "text/plain; charset=utf-8")
        );
        assert_eq!(delivery("text/csv", None).content_type, "text/csv");
        assert_eq!(
            sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some("image/webp"),
            "webp container"
        );
    }

    #[test]
    fn filenames_cannot_traverse_or_inject() {
        assert_eq!(sanitise_filename("../../etc/passwd", "file"), "passwd");
        assert_eq!(sanitise_filename("C:\\x\\evil.exe", "file"), "evil.exe");
        assert_eq!(
            sanitise_filename("a\r\nSet-Cookie: x", "file"),
            "aSet-Cookie: x"
        );
        assert_eq!(sanitise_filename("say \"hi\".txt", "file"), "say _hi_.txt");
        assert_eq!(sanitise_filename("..", "file"), "file");
        assert_eq!(sanitise_filename("", "content.md"), "content.md");
        assert_eq!(sanitise_filename(".env", "file"), "env");
        assert_eq!(
            sanitise_filename(&"é".repeat(400), "f").chars().count(),
            255
        );
        let cd = content_disposition("résumé \"1\".pdf", false);
        assert_eq!(
            cd,
            "attachment; filename=\"r_sum_ _1_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.pdf"
        );
    }

    #[test]
    fn mime_types_are_normalised() {
        assert_eq!(
            normalise_mime(Some("Text/Markdown; charset=utf-8")),
            "text/markdown"
        );
        assert_eq!(normalise_mime(Some("nonsense")), "application/octet-stream");
        assert_eq!(
            normalise_mime(Some("a/b\r\nX: y")),
            "application/octet-stream"
        );
        assert_eq!(normalise_mime(None), "application/octet-stream");
        assert!(inlines_text("text/csv") && !inlines_text("application/json"));
    }
}
