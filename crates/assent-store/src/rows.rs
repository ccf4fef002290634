//! Row decoding shared by the aggregate modules.

use crate::StoreError;
use crate::db::{Conn, Row};
use assent_core::model::*;
use assent_core::review::Review;
use assent_core::{AttachmentId, ChannelId, DomainEvent, MessageId, Millis, UserId};
use serde_json::Value;

/// A value one column decodes into, chosen by its Rust type: `row.get::<ChannelId>("id")`,
/// or just `row.get("id")` where a struct field gives the type. SQL NULL is `None`; a
/// non-`Option` type refuses it (a corrupt row, not a panic).
pub(crate) trait Column: Sized {
    /// The value, or `None` for SQL NULL.
    fn nullable(row: &Row, col: &str) -> Result<Option<Self>, StoreError>;
}

/// What `Row::get` returns: a [`Column`] type, or an `Option` of one.
pub(crate) trait Field: Sized {
    fn field(row: &Row, col: &str) -> Result<Self, StoreError>;
}

impl<T: Column> Field for T {
    fn field(row: &Row, col: &str) -> Result<Self, StoreError> {
        T::nullable(row, col)?.ok_or_else(|| StoreError::Corrupt(format!("column {col} is NULL")))
    }
}

impl<T: Column> Field for Option<T> {
    fn field(row: &Row, col: &str) -> Result<Self, StoreError> {
        T::nullable(row, col)
    }
}

impl Row {
    /// The column `col` as a `T` (see [`Column`]).
    pub(crate) fn get<T: Field>(&self, col: &str) -> Result<T, StoreError> {
        T::field(self, col)
    }
}

/// A domain value read from one whole row.
pub(crate) trait FromRow: Sized {
    fn from_row(row: &Row) -> Result<Self, StoreError>;
}

impl Column for String {
    fn nullable(row: &Row, col: &str) -> Result<Option<Self>, StoreError> {
        row.try_get::<Option<String>, _>(col)
    }
}
impl Column for i64 {
    fn nullable(row: &Row, col: &str) -> Result<Option<Self>, StoreError> {
        row.try_get::<Option<i64>, _>(col)
    }
}
/// Flags are stored as integers (0/1) on both databases.
impl Column for bool {
    fn nullable(row: &Row, col: &str) -> Result<Option<Self>, StoreError> {
        Ok(i64::nullable(row, col)?.map(|i| i != 0))
    }
}
impl Column for Millis {
    fn nullable(row: &Row, col: &str) -> Result<Option<Self>, StoreError> {
        Ok(i64::nullable(row, col)?.map(Millis))
    }
}

/// Ids: text the store wrote itself.
macro_rules! id_columns {
    ($($t:ty),+) => {$(
        impl Column for $t {
            fn nullable(row: &Row, col: &str) -> Result<Option<Self>, StoreError> {
                Ok(String::nullable(row, col)?.map(<$t>::from_trusted))
            }
        }
    )+};
}
id_columns!(ChannelId, MessageId, UserId, AttachmentId);

/// Enums: their wire name as text; an unknown one is a corrupt row.
macro_rules! enum_columns {
    ($($t:ty),+) => {$(
        impl Column for $t {
            fn nullable(row: &Row, col: &str) -> Result<Option<Self>, StoreError> {
                String::nullable(row, col)?
                    .map(|v| <$t>::parse(&v).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown enum value {v:?} in {col}"))
                    }))
                    .transpose()
            }
        }
    )+};
}
enum_columns!(
    Role,
    AgentStatus,
    SenderType,
    MessageStatus,
    StreamState,
    DeliveryStatus,
    WebhookState,
    WebhookTarget
);

/// Structured values: JSON text.
macro_rules! json_columns {
    ($($t:ty),+) => {$(
        impl Column for $t {
            fn nullable(row: &Row, col: &str) -> Result<Option<Self>, StoreError> {
                String::nullable(row, col)?
                    .map(|text| serde_json::from_str(&text).map_err(StoreError::from))
                    .transpose()
            }
        }
    )+};
}
json_columns!(Value, Review, WebhookAuth, DomainEvent);

pub(crate) fn json_text(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

pub(crate) fn review_text(v: &Option<assent_core::review::Review>) -> Option<String> {
    v.as_ref().map(|r| r.to_json().to_string())
}

/// `$1, $2, …, $n` for an `IN (…)` list.
pub(crate) fn in_list(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` FOR UPDATE` on PostgreSQL: a job that reads a row to decide a write locks it, so that
/// the writers of several nodes decide one after the other (SQLite has one writer).
pub(crate) fn for_update(conn: &Conn) -> &'static str {
    if conn.is_pg() { " FOR UPDATE" } else { "" }
}

pub(crate) const USER_COLS: &str =
    "id, email, display_name, role, must_change_password, created_at";

impl FromRow for User {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(User {
            id: row.get("id")?,
            email: row.get("email")?,
            display_name: row.get("display_name")?,
            role: row.get("role")?,
            must_change_password: row.get("must_change_password")?,
            created_at: row.get("created_at")?,
        })
    }
}

pub(crate) const AGENT_COLS: &str = "id, owner_id, name, description, avatar_url, webhook_url, \
    webhook_headers, webhook_auth, status, status_message, status_since, last_active_at, \
    commands, tag, is_subagent, parent_agent_id, created_at, head_seq, webhook_disabled_at, \
    webhook_disabled_reason";

impl FromRow for Agent {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(Agent {
            id: row.get("id")?,
            owner_id: row.get("owner_id")?,
            name: row.get("name")?,
            description: row.get("description")?,
            avatar_url: row.get("avatar_url")?,
            webhook_url: row.get("webhook_url")?,
            webhook_headers: row.get("webhook_headers")?,
            webhook_auth: row.get("webhook_auth")?,
            status: row.get("status")?,
            status_message: row.get("status_message")?,
            status_since: row.get("status_since")?,
            last_active_at: row.get("last_active_at")?,
            commands: row.get("commands")?,
            tag: row.get("tag")?,
            is_subagent: row.get("is_subagent")?,
            parent_agent_id: row.get("parent_agent_id")?,
            created_at: row.get("created_at")?,
            head_seq: row.get("head_seq")?,
            webhook_disabled_at: row.get("webhook_disabled_at")?,
            webhook_disabled_reason: row.get("webhook_disabled_reason")?,
        })
    }
}

pub(crate) const MESSAGE_COLS: &str = "id, channel_id, seq, sender_type, sender_id, text, status, \
    review, metadata, client_id, stream_id, stream_state, delivery_status, iteration_group_id, \
    iteration, created_at, updated_at, attachment_count";

impl FromRow for Message {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(Message {
            id: row.get("id")?,
            channel_id: row.get("channel_id")?,
            seq: row.get("seq")?,
            sender_type: row.get("sender_type")?,
            sender_id: row.get("sender_id")?,
            text: row.get("text")?,
            status: row.get("status")?,
            review: row.get("review")?,
            metadata: row.get("metadata")?,
            client_id: row.get("client_id")?,
            stream_id: row.get("stream_id")?,
            stream_state: row.get("stream_state")?,
            delivery_status: row.get("delivery_status")?,
            iteration_group_id: row.get("iteration_group_id")?,
            iteration: row.get("iteration")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
            attachments: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{self, LiteConn};

    /// One row of every kind of column, read back through `Row::get`.
    fn with_row(check: impl FnOnce(&Row)) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let mut c = Conn::Lite(LiteConn::Owned(db::open_lite(&url).unwrap()));
        db::run_here(async {
            c.batch(
                "CREATE TABLE t (id TEXT, n BIGINT, flag BIGINT, role TEXT, bad_role TEXT, \
                 meta TEXT, absent TEXT)",
            )
            .await
            .unwrap();
            db::query(
                "INSERT INTO t VALUES ('ch_1', 42, 1, 'owner', 'wizard', '{\"a\":[1]}', NULL)",
            )
            .execute(&mut c)
            .await
            .unwrap();
            let row = db::query("SELECT * FROM t")
                .fetch_one(&mut c)
                .await
                .unwrap();
            check(&row);
        });
    }

    #[test]
    fn columns_decode_by_their_rust_type() {
        with_row(|row| {
            assert_eq!(row.get::<ChannelId>("id").unwrap().as_str(), "ch_1");
            assert_eq!(row.get::<i64>("n").unwrap(), 42);
            assert_eq!(row.get::<Millis>("n").unwrap(), Millis(42));
            assert!(row.get::<bool>("flag").unwrap());
            assert_eq!(row.get::<Role>("role").unwrap(), Role::Owner);
            assert_eq!(row.get::<Value>("meta").unwrap()["a"][0], 1);
            assert_eq!(row.get::<Option<String>>("absent").unwrap(), None);
            assert_eq!(row.get::<Option<i64>>("n").unwrap(), Some(42));
        });
    }

    #[test]
    fn a_bad_column_is_a_corrupt_row_not_a_panic() {
        with_row(|row| {
            let corrupt = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Corrupt(_)));
            // NULL where the type has no `None`.
            assert!(corrupt(row.get::<String>("absent").map(drop)));
            // An enum value this build does not know.
            assert!(corrupt(row.get::<Role>("bad_role").map(drop)));
            // Text where a number belongs, and a column that is not there.
            assert!(corrupt(row.get::<i64>("role").map(drop)));
            assert!(corrupt(row.get::<String>("missing").map(drop)));
            // Text that is not the JSON its type wants.
            assert!(row.get::<Review>("role").is_err());
        });
    }
}
