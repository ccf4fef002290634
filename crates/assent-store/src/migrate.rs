//! A minimal migrator: numbered SQL files (one tree for both backends), applied in order inside one
//! transaction each, recorded in `assent_migrations`.

use crate::StoreError;
use crate::db::{self, Conn};

/// One tree for both backends: the SQL is written in the dialect they share (`$n`
/// parameters, `RETURNING`, partial indexes, `BIGINT` times and booleans).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_streams.sql")),
    (3, include_str!("../migrations/0003_webhooks.sql")),
    (4, include_str!("../migrations/0004_attachments.sql")),
    (5, include_str!("../migrations/0005_stream_deltas.sql")),
];

pub(crate) async fn run(conn: &mut Conn) -> Result<(), StoreError> {
    conn.batch(
        "CREATE TABLE IF NOT EXISTS assent_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = db::query_scalar("SELECT version FROM assent_migrations")
        .fetch_all(conn)
        .await?;
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        conn.begin().await?;
        for stmt in split_statements(sql) {
            if let Err(e) = conn.batch(&stmt).await {
                let _ = conn.batch("ROLLBACK").await;
                return Err(e);
            }
        }
        db::query("INSERT INTO assent_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(0_i64)
            .execute(conn)
            .await?;
        conn.batch("COMMIT").await?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}

/// Splits a migration into statements on `;` at line ends, dropping `--` comment lines.
fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in sql.lines() {
        let t = line.trim();
        if t.starts_with("--") || t.is_empty() {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if t.ends_with(';') {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}
