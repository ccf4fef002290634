//! Attachments: receiving a file (streamed to the blob store, bounded, sniffed), recording
//! it unsent or with a message, text attachments, downloads, listings, deletion, and the
//! sweep that deletes the objects of deleted and abandoned files.

use super::{App, AppError, Missing};
use crate::files::{BlobStream, Blobs};
use assent_core::attachment::{self as att, Attachment, AttachmentId};
use assent_core::model::{Message, SenderType};
use assent_core::validate::Checker;
use assent_core::{ChannelId, Millis, UserId};
use assent_store::{FileFilter, FilePage, NewMessage};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

/// How files are kept (a projection of `Config`).
#[derive(Clone, Debug)]
pub struct FileSettings {
    pub blobs: Blobs,
    /// Largest accepted file, checked while it streams in.
    pub max_upload_bytes: u64,
    /// Stored files that no message carries are deleted after this long.
    pub unsent_ttl_secs: i64,
}

/// Why the bytes of an upload stopped coming (mapped from the edge's own errors).
#[derive(Debug)]
pub enum UploadError {
    TooLarge,
    TimedOut,
    Broken(String),
}

/// A file arriving from an edge: what the client said it is, and its bytes.
pub struct IncomingFile<S> {
    pub filename: Option<String>,
    pub mime_type: Option<String>,
    pub body: S,
}

/// A file whose bytes are complete in the blob store but that no row claims yet. Record it
/// (`store_file`, `upload_file`) or `discard` it.
#[derive(Debug)]
pub struct Received {
    id: AttachmentId,
    key: String,
    filename: String,
    mime_type: String,
    size: i64,
    sniffed: Option<String>,
    text_content: Option<String>,
}

/// A `textAttachments` entry or a `store-text` body, unvalidated.
#[derive(Debug, Default)]
pub struct TextFileInput {
    pub content: Option<Value>,
    pub filename: Option<Value>,
    pub mime_type: Option<Value>,
}

/// Query of a file listing, unvalidated.
#[derive(Debug, Default)]
pub struct FilesQuery {
    pub channel: Option<String>,
    pub mime_prefix: Option<String>,
    pub search: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// Longest text of one text attachment (the JSON body limit applies as well).
const MAX_TEXT_FILE_BYTES: usize = 1024 * 1024;

fn storage_key(id: &AttachmentId) -> String {
    format!("{id}/blob")
}

/// What a file's first bytes and small text say, gathered while it streams.
#[derive(Default)]
struct Head(Vec<u8>);

impl Head {
    fn see(&mut self, chunk: &[u8]) {
        let room = (att::MAX_INLINE_TEXT_BYTES + 1).saturating_sub(self.0.len());
        self.0.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn text(&self, mime: &str, size: i64) -> Option<String> {
        let small = size as usize <= att::MAX_INLINE_TEXT_BYTES;
        (small && att::inlines_text(mime))
            .then(|| String::from_utf8(self.0.clone()).ok())
            .flatten()
    }
}

impl From<UploadError> for AppError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::TooLarge => AppError::Internal("unreachable: sized by receive".into()),
            UploadError::TimedOut => AppError::UploadTimedOut,
            UploadError::Broken(why) => AppError::InvalidUpload(why),
        }
    }
}

fn storage_failed(e: crate::files::BlobError) -> AppError {
    AppError::Storage(e.to_string())
}

impl App {
    fn blobs(&self) -> &Blobs {
        &self.settings.files.blobs
    }

    /// Largest accepted file, in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.settings.files.max_upload_bytes
    }

    /// Streams a file into the blob store, refusing it past the upload limit. Nothing is
    /// visible until it is recorded; an upload cut short leaves only an entry the sweep
    /// clears.
    pub async fn receive_file<S>(&self, file: IncomingFile<S>) -> Result<Received, AppError>
    where
        S: Stream<Item = Result<Bytes, UploadError>> + Unpin + Send,
    {
        let max = self.settings.files.max_upload_bytes;
        let id = AttachmentId::generate(self.now().0);
        let key = storage_key(&id);
        let due = Millis(self.now().0 + self.settings.files.unsent_ttl_secs * 1000);
        self.store.begin_upload(&key, due).await?;
        let mut writer = self.blobs().writer(&key).await.map_err(storage_failed)?;
        let (mut head, mut size, mut body) = (Head::default(), 0u64, file.body);
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    writer.abort().await;
                    return Err(match e {
                        UploadError::TooLarge => AppError::UploadTooLarge { max_bytes: max },
                        e => e.into(),
                    });
                }
            };
            size += chunk.len() as u64;
            if size > max {
                writer.abort().await;
                return Err(AppError::UploadTooLarge { max_bytes: max });
            }
            head.see(&chunk);
            writer.write(chunk).await.map_err(storage_failed)?;
        }
        writer.finish().await.map_err(storage_failed)?;
        let mime_type = att::normalise_mime(file.mime_type.as_deref());
        let filename = att::sanitise_filename(file.filename.as_deref().unwrap_or(""), "file");
        Ok(Received {
            text_content: head.text(&mime_type, size as i64),
            sniffed: att::sniff(&head.0).map(str::to_owned),
            id,
            key,
            filename,
            mime_type,
            size: size as i64,
        })
    }

    /// Deletes a received file that will not be recorded (its request failed).
    pub async fn discard(&self, r: Received) {
        if let Err(e) = self.blobs().delete(&r.key).await {
            tracing::warn!(error = %e, key = %r.key, "could not delete an unrecorded upload; the sweep will");
        }
    }

    /// The channel a file goes to, checked before its bytes are read when the form names it
    /// first.
    pub async fn upload_channel(&self, user: &UserId, raw: &str) -> Result<ChannelId, AppError> {
        Ok(self.owned_channel(user, raw).await?.0)
    }

    fn attachment(&self, r: Received, channel: ChannelId, by: SenderType) -> Attachment {
        Attachment {
            id: r.id,
            message_id: None,
            channel_id: channel,
            filename: r.filename,
            mime_type: r.mime_type,
            size: r.size,
            storage_key: r.key,
            sniffed: r.sniffed,
            text_content: r.text_content,
            uploaded_by: by,
            created_at: self.now(),
        }
    }

    /// Records a received file that no message carries yet (`/files/store`).
    pub async fn store_file(
        &self,
        user: &UserId,
        channel: Option<String>,
        r: Received,
        by: SenderType,
    ) -> Result<Attachment, AppError> {
        let channel = match self.file_channel(user, channel).await {
            Ok(c) => c,
            Err(e) => {
                self.discard(r).await;
                return Err(e);
            }
        };
        let a = self.attachment(r, channel, by);
        Ok(self.store.add_attachment(a).await?)
    }

    /// Records a received file with a new message carrying it (`/files/upload`): an agent
    /// message for `SenderType::Agent`, the user's own otherwise.
    pub async fn upload_file(
        &self,
        user: &UserId,
        channel: Option<String>,
        r: Received,
        by: SenderType,
        text: Option<String>,
    ) -> Result<(Attachment, Message), AppError> {
        let mut c = Checker::new();
        let text = c.opt_text("text", text, assent_core::validate::MAX_TEXT_CHARS);
        let checked = match c.finish() {
            Ok(()) => self.file_channel(user, channel).await,
            Err(e) => Err(e.into()),
        };
        let channel = match checked {
            Ok(c) => c,
            Err(e) => {
                self.discard(r).await;
                return Err(e);
            }
        };
        let info = self.owned_channel(user, channel.as_str()).await?.1;
        let a = self.attachment(r, channel.clone(), by);
        let sender_id = match by {
            SenderType::Agent => channel.to_string(),
            SenderType::User => user.to_string(),
        };
        let text = text.filter(|t| !t.trim().is_empty());
        let new = NewMessage::with_files(channel, by, sender_id, text, vec![a]);
        let name = (by == SenderType::Agent).then_some(info.name);
        let (m, _) = self.create(new, name).await?;
        let a = m.attachments.first().cloned().ok_or_else(|| {
            AppError::Internal("a message created with a file carries none".into())
        })?;
        Ok((a, m))
    }

    async fn file_channel(
        &self,
        user: &UserId,
        raw: Option<String>,
    ) -> Result<ChannelId, AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channelId", raw);
        c.finish()?;
        Ok(self.owned_channel(user, channel.as_str()).await?.0)
    }

    /// `POST /files/store-text`: a text file, stored unsent.
    pub async fn store_text(
        &self,
        user: &UserId,
        channel: Option<String>,
        input: TextFileInput,
    ) -> Result<Attachment, AppError> {
        let mut c = Checker::new();
        let channel_id = c.channel_id("channelId", channel);
        let text = check_text_file(&mut c, "", input);
        c.finish()?;
        let (channel_id, _) = self.owned_channel(user, channel_id.as_str()).await?;
        let Some(text) = text else {
            return Err(
                assent_core::ValidationError::single("content", "content is required").into(),
            );
        };
        let a = self.put_text(channel_id, text, SenderType::Agent).await?;
        Ok(self.store.add_attachment(a).await?)
    }

    /// `textAttachments` of a message: each checked (paths `textAttachments[i].…`).
    pub(super) fn check_text_files(
        c: &mut Checker,
        list: Option<Vec<Value>>,
    ) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for (i, v) in list.unwrap_or_default().into_iter().enumerate() {
            let path = format!("textAttachments[{i}]");
            let Value::Object(mut o) = v else {
                c.fail(path, "must be an object {content, filename?, mimeType?}");
                continue;
            };
            let input = TextFileInput {
                content: o.remove("content"),
                filename: o.remove("filename"),
                mime_type: o.remove("mimeType"),
            };
            out.extend(check_text_file(c, &format!("{path}."), input));
        }
        out
    }

    /// Writes text files' objects; their rows are inserted with the message.
    pub(super) async fn put_texts(
        &self,
        files: Vec<(String, String, String)>,
        by: SenderType,
        channel: &ChannelId,
    ) -> Result<Vec<Attachment>, AppError> {
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            out.push(self.put_text(channel.clone(), f, by).await?);
        }
        Ok(out)
    }

    async fn put_text(
        &self,
        channel: ChannelId,
        (content, filename, mime_type): (String, String, String),
        by: SenderType,
    ) -> Result<Attachment, AppError> {
        let id = AttachmentId::generate(self.now().0);
        let key = storage_key(&id);
        let due = Millis(self.now().0 + self.settings.files.unsent_ttl_secs * 1000);
        self.store.begin_upload(&key, due).await?;
        let size = content.len() as i64;
        let bytes = Bytes::from(content);
        self.blobs()
            .put(&key, bytes.clone())
            .await
            .map_err(storage_failed)?;
        let mut head = Head::default();
        head.see(&bytes);
        let r = Received {
            text_content: head.text(&mime_type, size),
            sniffed: att::sniff(&head.0).map(str::to_owned),
            id,
            key,
            filename,
            mime_type,
            size,
        };
        Ok(self.attachment(r, channel, by))
    }
}

/// One text file: `content` (non-empty string), `filename` (default `content.md`) and
/// `mimeType` (default `text/markdown`). `prefix` is the path of the object (`""` or
/// `textAttachments[i].`).
fn check_text_file(
    c: &mut Checker,
    prefix: &str,
    input: TextFileInput,
) -> Option<(String, String, String)> {
    let mut string = |name: &str, v: Option<Value>| match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            c.fail(format!("{prefix}{name}"), "must be a string");
            None
        }
    };
    let content = string("content", input.content);
    let filename = string("filename", input.filename);
    let mime = string("mimeType", input.mime_type);
    match &content {
        None => c.fail(format!("{prefix}content"), "content is required"),
        Some(s) if s.is_empty() => c.fail(format!("{prefix}content"), "must not be empty"),
        Some(s) if s.len() > MAX_TEXT_FILE_BYTES => c.fail(
            format!("{prefix}content"),
            format!("must be at most {MAX_TEXT_FILE_BYTES} bytes"),
        ),
        Some(_) => {}
    }
    let filename = att::sanitise_filename(filename.as_deref().unwrap_or(""), "content.md");
    let mime = att::normalise_mime(Some(mime.as_deref().unwrap_or("text/markdown")));
    Some((content?, filename, mime))
}

impl App {
    /// A file of the user's, with its bytes.
    pub async fn open_file(
        &self,
        user: &UserId,
        id: &str,
    ) -> Result<(Attachment, BlobStream), AppError> {
        let a = self.owned_file(user, id).await?;
        let bytes = self
            .blobs()
            .read(&a.storage_key)
            .await
            .map_err(storage_failed)?;
        match bytes {
            Some(b) => Ok((a, b)),
            None => {
                tracing::error!(attachment = %a.id, key = %a.storage_key, "a recorded file has no object");
                Err(AppError::NotFound(Missing::Attachment))
            }
        }
    }

    /// An attachment of one of the user's agents; foreign and unknown look the same.
    async fn owned_file(&self, user: &UserId, id: &str) -> Result<Attachment, AppError> {
        let missing = || AppError::NotFound(Missing::Attachment);
        let id = AttachmentId::parse(id).ok_or_else(missing)?;
        match self.store.attachment(&id).await? {
            Some((a, owner)) if &owner == user => Ok(a),
            _ => Err(missing()),
        }
    }

    /// A user's files, newest first. `channel` is required for agents (`?channel=`).
    pub async fn list_files(
        &self,
        user: &UserId,
        q: FilesQuery,
        channel_required: bool,
    ) -> Result<FilePage, AppError> {
        let mut c = Checker::new();
        let channel = match (q.channel.filter(|s| !s.is_empty()), channel_required) {
            (None, true) => Some(c.channel_id("channel", None)),
            (raw, _) => raw.map(|r| c.channel_id("channel", Some(r))),
        };
        let limit = super::messages::page_limit(&mut c, q.limit.as_deref().map(str::trim), 50);
        let cursor = q.cursor.filter(|s| !s.is_empty()).map(|s| {
            AttachmentId::parse(&s).unwrap_or_else(|| {
                c.fail("cursor", "is not a file id");
                AttachmentId::from_trusted(String::new())
            })
        });
        let search = c.opt_text("search", q.search.filter(|s| !s.is_empty()), 200);
        let mime_prefix = c.opt_text("type", q.mime_prefix.filter(|s| !s.is_empty()), 100);
        c.finish()?;
        let channel = match channel {
            Some(ch) => Some(self.owned_channel(user, ch.as_str()).await?.0),
            None => None,
        };
        let filter = FileFilter {
            channel,
            mime_prefix,
            search,
            limit,
            cursor,
        };
        Ok(self.store.list_files(user, filter).await?)
    }

    /// Deletes one of the user's files (and takes it off its message).
    pub async fn delete_file(&self, user: &UserId, id: &str) -> Result<(), AppError> {
        let a = self.owned_file(user, id).await?;
        self.store
            .delete_attachment(&a.id, self.now())
            .await?
            .ok_or(AppError::NotFound(Missing::Attachment))?;
        self.files_doomed();
        Ok(())
    }

    /// `modifiedFileIds` values must be files of the answering user.
    pub(super) async fn check_modified_files(
        &self,
        user: &UserId,
        map: Option<&serde_json::Map<String, Value>>,
    ) -> Result<(), AppError> {
        let Some(m) = map else {
            return Ok(());
        };
        let mut c = Checker::new();
        let mut ids = Vec::new();
        for (orig, new) in m {
            match new.as_str().and_then(AttachmentId::parse) {
                Some(id) => ids.push((orig, id)),
                None => c.fail(format!("modifiedFileIds.{orig}"), "must be a file id"),
            }
        }
        c.finish()?;
        let mut c = Checker::new();
        let wanted: Vec<_> = ids.iter().map(|(_, id)| id.clone()).collect();
        let owned = self.store.owned_attachments(user, &wanted).await?;
        for (orig, id) in &ids {
            if !owned.contains(id) {
                c.fail(
                    format!("modifiedFileIds.{orig}"),
                    "is not one of your files",
                );
            }
        }
        Ok(c.finish()?)
    }

    /// Drops unsent files past their time, then deletes the objects due for deletion.
    /// Returns how many objects were deleted.
    pub async fn sweep_files(&self) -> Result<u64, AppError> {
        let now = self.now();
        let before = Millis(now.0 - self.settings.files.unsent_ttl_secs * 1000);
        self.store.drop_unsent_files(before, now).await?;
        let mut deleted = 0;
        loop {
            let keys = self.store.doomed_files(now, 200).await?;
            if keys.is_empty() {
                return Ok(deleted);
            }
            let mut gone = Vec::with_capacity(keys.len());
            for k in keys {
                match self.blobs().delete(&k).await {
                    Ok(()) => gone.push(k),
                    Err(e) => {
                        tracing::warn!(error = %e, key = %k, "could not delete a file; will retry")
                    }
                }
            }
            if gone.is_empty() {
                return Ok(deleted);
            }
            deleted += gone.len() as u64;
            self.store.forget_doomed(gone).await?;
        }
    }
}
