//! Attachments: file rows, linking them to messages, reading them with their messages, and
//! the list of blob-store objects due for deletion (`doomed_files`).

use crate::db::{self, Conn, Row};
use crate::rows::FromRow;
use crate::{Store, StoreError, rows};
use assent_core::attachment::{Attachment, AttachmentId};
use assent_core::model::Message;
use assent_core::{ChannelId, Millis, UserId, ValidationError};

const COLS: &str = "id, channel_id, message_id, filename, mime_type, size, storage_key, sniffed, \
    text_content, uploaded_by, created_at";

impl FromRow for Attachment {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(Attachment {
            id: row.get("id")?,
            message_id: row.get("message_id")?,
            channel_id: row.get("channel_id")?,
            filename: row.get("filename")?,
            mime_type: row.get("mime_type")?,
            size: row.get("size")?,
            storage_key: row.get("storage_key")?,
            sniffed: row.get("sniffed")?,
            text_content: row.get("text_content")?,
            uploaded_by: row.get("uploaded_by")?,
            created_at: row.get("created_at")?,
        })
    }
}

/// A file of the gallery: the attachment, its owner, and when its message was sent.
#[derive(Clone, Debug)]
pub struct FileEntry {
    pub attachment: Attachment,
    pub message_created_at: Option<Millis>,
}

/// `GET /api/files` filters (one user's files across their agents).
#[derive(Clone, Debug, Default)]
pub struct FileFilter {
    pub channel: Option<ChannelId>,
    /// A MIME prefix such as `image` or `image/png`.
    pub mime_prefix: Option<String>,
    /// Filename contains (case-insensitive).
    pub search: Option<String>,
    pub limit: i64,
    /// Older than this attachment (newest-first paging).
    pub cursor: Option<AttachmentId>,
}

#[derive(Clone, Debug)]
pub struct FilePage {
    pub data: Vec<FileEntry>,
    pub next_cursor: Option<String>,
}

/// Decodes message rows (selected with `rows::MESSAGE_COLS`) and reads the attachments of
/// those that have any, in one query.
pub(crate) async fn messages(exec: &mut Conn, found: &[Row]) -> Result<Vec<Message>, StoreError> {
    let mut out = found
        .iter()
        .map(Message::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let mut wanted = Vec::new();
    for (row, m) in found.iter().zip(&out) {
        if row.get::<i64>("attachment_count")? > 0 {
            wanted.push(m.id.as_str().to_owned());
        }
    }
    if wanted.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT {COLS} FROM attachments WHERE message_id IN ({}) ORDER BY position, id",
        rows::in_list(wanted.len())
    );
    let mut q = db::query(&sql);
    for id in &wanted {
        q = q.bind(id);
    }
    for row in q.fetch_all(exec).await? {
        let a = Attachment::from_row(&row)?;
        if let Some(m) = out
            .iter_mut()
            .find(|m| Some(&m.id) == a.message_id.as_ref())
        {
            m.attachments.push(a);
        }
    }
    Ok(out)
}

/// One message row, decoded with its attachments.
pub(crate) async fn message(
    exec: &mut Conn,
    row: Option<Row>,
) -> Result<Option<Message>, StoreError> {
    match row {
        None => Ok(None),
        Some(row) => Ok(messages(exec, std::slice::from_ref(&row)).await?.pop()),
    }
}

/// The stored files `ids` names, checked before anything is written: each must be a file of
/// `channel` that no message carries yet, listed once. A refusal names the id by its place in
/// `attachmentIds`.
pub(crate) async fn attachable(
    conn: &mut Conn,
    channel: &ChannelId,
    ids: &[AttachmentId],
) -> Result<Vec<Attachment>, StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let row = db::query(&format!("SELECT {COLS} FROM attachments WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        let a = row.as_ref().map(Attachment::from_row).transpose()?;
        let problem = match &a {
            Some(a) if &a.channel_id != channel => "is not a file of this channel",
            Some(a) if a.message_id.is_some() => "is already attached to a message",
            Some(_) if ids[..i].contains(id) => "is listed twice",
            Some(_) => "",
            None => "is not a file of this channel",
        };
        if !problem.is_empty() {
            return Err(ValidationError::single(format!("attachmentIds[{i}]"), problem).into());
        }
        found.extend(a);
    }
    Ok(found)
}

/// Links checked files to a new message and inserts the ones it brings, in order. Returns
/// the attachments as the message carries them.
pub(crate) async fn link(
    conn: &mut Conn,
    message: &Message,
    mut linked: Vec<Attachment>,
    files: Vec<Attachment>,
) -> Result<Vec<Attachment>, StoreError> {
    for (pos, a) in linked.iter_mut().enumerate() {
        db::query("UPDATE attachments SET message_id = $2, position = $3 WHERE id = $1")
            .bind(a.id.as_str())
            .bind(message.id.as_str())
            .bind(pos as i64)
            .execute(&mut *conn)
            .await?;
        a.message_id = Some(message.id.clone());
    }
    for mut a in files {
        a.message_id = Some(message.id.clone());
        insert(conn, &a, linked.len() as i64).await?;
        linked.push(a);
    }
    Ok(linked)
}

/// Inserts a row whose object is complete, and drops the object's upload-in-progress entry.
async fn insert(conn: &mut Conn, a: &Attachment, position: i64) -> Result<(), StoreError> {
    let r = db::query(
        "INSERT INTO attachments (id, channel_id, message_id, position, filename, mime_type, size, \
         storage_key, sniffed, text_content, uploaded_by, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 WHERE EXISTS \
         (SELECT 1 FROM channels WHERE id = $2)",
    )
    .bind(a.id.as_str())
    .bind(a.channel_id.as_str())
    .bind(a.message_id.as_ref().map(|m| m.as_str().to_owned()))
    .bind(position)
    .bind(&a.filename)
    .bind(&a.mime_type)
    .bind(a.size)
    .bind(&a.storage_key)
    .bind(&a.sniffed)
    .bind(&a.text_content)
    .bind(a.uploaded_by.as_str())
    .bind(a.created_at.0)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    db::query("DELETE FROM doomed_files WHERE storage_key = $1")
        .bind(&a.storage_key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks the objects of the attachments `filter` selects (an SQL condition on `attachments`
/// with one parameter, `$1`) for deletion now, before their rows go.
pub(crate) async fn doom_where(
    conn: &mut Conn,
    filter: &str,
    arg: &str,
    now: Millis,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO doomed_files (storage_key, due_at) SELECT storage_key, $2 FROM attachments \
         WHERE {filter} ON CONFLICT (storage_key) DO UPDATE SET due_at = excluded.due_at"
    );
    db::query(&sql)
        .bind(arg)
        .bind(now.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn like_prefix(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// Notes that an upload to `key` started: if no row ever claims it, the sweep deletes the
    /// object after `due_at`.
    pub async fn begin_upload(&self, key: &str, due_at: Millis) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write("files", async move |conn, _| {
            db::query(
                "INSERT INTO doomed_files (storage_key, due_at) VALUES ($1, $2) \
                         ON CONFLICT (storage_key) DO NOTHING",
            )
            .bind(&key)
            .bind(due_at.0)
            .execute(conn)
            .await?;
            Ok(())
        })
        .await
    }

    /// Records a complete upload that no message carries yet.
    pub async fn add_attachment(&self, a: Attachment) -> Result<Attachment, StoreError> {
        let key = a.channel_id.to_string();
        self.write(&key, async move |conn, _| {
            insert(conn, &a, 0).await?;
            Ok(a)
        })
        .await
    }

    /// An attachment and the user who owns its channel.
    pub async fn attachment(
        &self,
        id: &AttachmentId,
    ) -> Result<Option<(Attachment, UserId)>, StoreError> {
        let sql = format!(
            "SELECT a.{}, c.owner_id FROM attachments a JOIN channels c ON c.id = a.channel_id \
             WHERE a.id = $1",
            COLS.replace(", ", ", a.")
        );
        let row = db::query(&sql)
            .bind(id.as_str())
            .fetch_optional(&mut self.read().await?)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((Attachment::from_row(&r)?, r.get("owner_id")?))),
        }
    }

    /// Which of `ids` are attachments of `owner`'s agents.
    pub async fn owned_attachments(
        &self,
        owner: &UserId,
        ids: &[AttachmentId],
    ) -> Result<Vec<AttachmentId>, StoreError> {
        let mut out = Vec::new();
        for id in ids {
            let owned: Option<i64> = db::query_scalar(
                "SELECT 1 FROM attachments a JOIN channels c ON c.id = a.channel_id \
                 WHERE a.id = $1 AND c.owner_id = $2",
            )
            .bind(id.as_str())
            .bind(owner.as_str())
            .fetch_optional(&mut self.read().await?)
            .await?;
            if owned.is_some() {
                out.push(id.clone());
            }
        }
        Ok(out)
    }

    /// A user's files, newest first, with the filters of `GET /api/files`.
    pub async fn list_files(&self, owner: &UserId, f: FileFilter) -> Result<FilePage, StoreError> {
        let limit = f.limit.clamp(1, 100);
        let sql = format!(
            "SELECT a.{}, m.created_at AS message_created_at FROM attachments a \
             JOIN channels c ON c.id = a.channel_id \
             LEFT JOIN messages m ON m.id = a.message_id \
             WHERE c.owner_id = $1 AND ($2 IS NULL OR a.channel_id = $2) \
             AND ($3 IS NULL OR LOWER(a.mime_type) LIKE $3 ESCAPE '\\') \
             AND ($4 IS NULL OR LOWER(a.filename) LIKE $4 ESCAPE '\\') \
             AND ($5 IS NULL OR (a.created_at, a.id) < \
                  (SELECT p.created_at, p.id FROM attachments p WHERE p.id = $5)) \
             ORDER BY a.created_at DESC, a.id DESC LIMIT $6",
            COLS.replace(", ", ", a.")
        );
        let rows = db::query(&sql)
            .bind(owner.as_str())
            .bind(f.channel.as_ref().map(|c| c.as_str().to_owned()))
            .bind(
                f.mime_prefix
                    .as_deref()
                    .map(|p| format!("{}%", like_prefix(p))),
            )
            .bind(f.search.as_deref().map(|s| format!("%{}%", like_prefix(s))))
            .bind(f.cursor.as_ref().map(|c| c.as_str().to_owned()))
            .bind(limit + 1)
            .fetch_all(&mut self.read().await?)
            .await?;
        let mut data = rows
            .iter()
            .map(|r| {
                Ok(FileEntry {
                    attachment: Attachment::from_row(r)?,
                    message_created_at: r.get("message_created_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let more = data.len() as i64 > limit;
        data.truncate(limit as usize);
        let next_cursor = more
            .then(|| data.last().map(|e| e.attachment.id.to_string()))
            .flatten();
        Ok(FilePage { data, next_cursor })
    }

    /// Deletes a file. When a message carried it, the message is updated and `message:updated`
    /// logged. Returns the file, or `None` if it did not exist.
    pub async fn delete_attachment(
        &self,
        id: &AttachmentId,
        now: Millis,
    ) -> Result<Option<Attachment>, StoreError> {
        let Some((a, _)) = self.attachment(id).await? else {
            return Ok(None);
        };
        let key = a.channel_id.to_string();
        self.write(&key, async move |conn, events| {
            doom_where(conn, "id = $1", a.id.as_str(), now).await?;
            let r = db::query("DELETE FROM attachments WHERE id = $1")
                .bind(a.id.as_str())
                .execute(&mut *conn)
                .await?;
            if r.rows_affected() == 0 {
                return Ok(None);
            }
            if let Some(mid) = &a.message_id {
                crate::messages::attachments_changed(conn, events, &a.channel_id, mid, now).await?;
            }
            Ok(Some(a))
        })
        .await
    }

    /// Unsent files older than `before`: their rows go now and their objects are doomed.
    pub async fn drop_unsent_files(&self, before: Millis, now: Millis) -> Result<u64, StoreError> {
        self.write("files", async move |conn, _| {
            db::query(
                "INSERT INTO doomed_files (storage_key, due_at) SELECT storage_key, $2 \
                         FROM attachments WHERE message_id IS NULL AND created_at < $1 \
                         ON CONFLICT (storage_key) DO UPDATE SET due_at = excluded.due_at",
            )
            .bind(before.0)
            .bind(now.0)
            .execute(&mut *conn)
            .await?;
            let r =
                db::query("DELETE FROM attachments WHERE message_id IS NULL AND created_at < $1")
                    .bind(before.0)
                    .execute(&mut *conn)
                    .await?;
            Ok(r.rows_affected())
        })
        .await
    }

    /// Up to `limit` objects due for deletion.
    pub async fn doomed_files(&self, now: Millis, limit: i64) -> Result<Vec<String>, StoreError> {
        let keys = db::query("SELECT storage_key FROM doomed_files WHERE due_at <= $1 LIMIT $2")
            .bind(now.0)
            .bind(limit)
            .fetch_all(&mut self.read().await?)
            .await?;
        keys.iter().map(|r| r.try_get::<String, _>(0)).collect()
    }

    /// Forgets objects the sweep deleted.
    pub async fn forget_doomed(&self, keys: Vec<String>) -> Result<(), StoreError> {
        self.write("files", async move |conn, _| {
            for k in &keys {
                db::query("DELETE FROM doomed_files WHERE storage_key = $1")
                    .bind(k)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        })
        .await
    }
}
