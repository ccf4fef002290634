//! One connection type over both backends, so that every aggregate module writes its SQL
//! once.
//!
//! - **PostgreSQL** goes through sqlx (`Any` driver): async, pooled.
//! - **SQLite** goes through rusqlite, synchronously, with a cache of prepared statements
//!   per connection. Its futures complete on their first poll: the writer thread runs a
//!   whole batch without a single thread hand-off, and a read runs on the task that asked
//!   for it (SQLite reads of a page are microseconds; a hand-off per statement to a worker
//!   thread and back cost more than the statement, see `docs/BENCHMARKS.md`).
//!
//! The API mirrors the part of sqlx's the modules use (`query(…).bind(…).fetch_all(conn)`,
//! `query_scalar`, `row.try_get(col)`), and both backends accept the same dialect (`$n`
//! parameters, `RETURNING`).

use crate::{Backend, StoreError};
use rusqlite::types::{ToSqlOutput, Value as LiteValue, ValueRef};
use sqlx::any::AnyRow;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection: a writer's own, or one lent by the read pool.
pub(crate) enum Conn {
    Pg(PgConn),
    Lite(LiteConn),
}

pub(crate) enum PgConn {
    Owned(sqlx::AnyConnection),
    Pooled(sqlx::pool::PoolConnection<sqlx::Any>),
}

pub(crate) enum LiteConn {
    Owned(rusqlite::Connection),
    Pooled(LiteGuard),
}

impl Deref for PgConn {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        match self {
            PgConn::Owned(c) => c,
            PgConn::Pooled(c) => c,
        }
    }
}
impl DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        match self {
            PgConn::Owned(c) => c,
            PgConn::Pooled(c) => c,
        }
    }
}
impl Deref for LiteConn {
    type Target = rusqlite::Connection;
    fn deref(&self) -> &rusqlite::Connection {
        match self {
            LiteConn::Owned(c) => c,
            LiteConn::Pooled(g) => g.conn.as_ref().expect("a lent connection is present"),
        }
    }
}

// `wal_autocheckpoint=0`: checkpoints would otherwise run inside some unlucky commit and
// hold up every request waiting on that batch; `Store::checkpoint` runs them off the write
// path instead (PASSIVE: never blocks the writer), and the writer copies only the rest
// (`WriterHandle::checkpointed`).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
     PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; PRAGMA wal_autocheckpoint=0;";

/// Prepared statements kept per SQLite connection (the store has about 150 distinct ones).
const STATEMENT_CACHE: usize = 256;

/// Opens one SQLite connection from a `sqlite:` URL (`sqlite://path?mode=rwc`).
pub(crate) fn open_lite(url: &str) -> Result<rusqlite::Connection, StoreError> {
    use rusqlite::OpenFlags;
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Config(format!("not a SQLite URL: {url}")))?;
    let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    for p in params.split('&') {
        match p {
            "mode=rwc" => flags |= OpenFlags::SQLITE_OPEN_CREATE,
            "mode=ro" => flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            "mode=rw" | "" => {}
            other => {
                return Err(StoreError::Config(format!(
                    "unsupported SQLite URL parameter {other:?}"
                )));
            }
        }
    }
    let conn = rusqlite::Connection::open_with_flags(path, flags)?;
    conn.execute_batch(SQLITE_PRAGMAS)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Opens the connection a writer (or the migrator) owns.
pub(crate) async fn connect(url: &str, backend: Backend) -> Result<Conn, StoreError> {
    match backend {
        Backend::Sqlite => Ok(Conn::Lite(LiteConn::Owned(open_lite(url)?))),
        Backend::Postgres => {
            use sqlx::ConnectOptions;
            Ok(Conn::Pg(PgConn::Owned(pg_options(url)?.connect().await?)))
        }
    }
}

/// PostgreSQL connection options from a URL, for the writers and the read pool alike.
pub(crate) fn pg_options(url: &str) -> Result<sqlx::any::AnyConnectOptions, StoreError> {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    Ok(sqlx::any::AnyConnectOptions::from_str(url)?.disable_statement_logging())
}

/// SQLite's read pool: connections opened on demand, lent one per read.
pub(crate) struct LitePool {
    url: String,
    idle: Mutex<Vec<rusqlite::Connection>>,
    permits: Arc<Semaphore>,
}

pub(crate) struct LiteGuard {
    pool: Arc<LitePool>,
    conn: Option<rusqlite::Connection>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for LiteGuard {
    fn drop(&mut self) {
        if let (Some(c), Ok(mut idle)) = (self.conn.take(), self.pool.idle.lock()) {
            idle.push(c);
        }
    }
}

impl LitePool {
    pub(crate) fn new(url: &str, size: usize) -> Arc<LitePool> {
        Arc::new(LitePool {
            url: url.to_owned(),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size.max(1))),
        })
    }

    pub(crate) async fn acquire(self: &Arc<Self>) -> Result<Conn, StoreError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let idle = self.idle.lock().expect("read pool lock poisoned").pop();
        let conn = match idle {
            Some(c) => c,
            None => open_lite(&self.url)?,
        };
        Ok(Conn::Lite(LiteConn::Pooled(LiteGuard {
            pool: self.clone(),
            conn: Some(conn),
            _permit: permit,
        })))
    }

    pub(crate) fn close(&self) {
        self.permits.close();
        self.idle.lock().expect("read pool lock poisoned").clear();
    }
}

/// What an `execute` changed.
#[derive(Debug)]
pub(crate) struct Done(u64);

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.0
    }
}

/// A bound parameter. Nulls keep their type: PostgreSQL infers a parameter's type from it.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Bool(bool),
    Null(Kind),
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Int,
    Real,
    Text,
    Blob,
    Bool,
}

/// A value `bind` accepts.
pub(crate) trait Bind {
    const KIND: Kind;
    fn arg(self) -> Arg;
}

macro_rules! bind_as {
    ($t:ty, $kind:ident, $v:ident => $e:expr) => {
        impl Bind for $t {
            const KIND: Kind = Kind::$kind;
            fn arg(self) -> Arg {
                let $v = self;
                Arg::$kind($e)
            }
        }
    };
}
bind_as!(i64, Int, v => v);
bind_as!(i32, Int, v => v as i64);
bind_as!(u32, Int, v => v as i64);
bind_as!(f64, Real, v => v);
bind_as!(bool, Bool, v => v);
bind_as!(String, Text, v => v);
bind_as!(&str, Text, v => v.to_owned());
bind_as!(&String, Text, v => v.clone());
bind_as!(Vec<u8>, Blob, v => v);
bind_as!(&[u8], Blob, v => v.to_vec());
bind_as!(&Vec<u8>, Blob, v => v.clone());

impl<T: Bind> Bind for Option<T> {
    const KIND: Kind = T::KIND;
    fn arg(self) -> Arg {
        match self {
            Some(v) => v.arg(),
            None => Arg::Null(T::KIND),
        }
    }
}
impl<'a, T> Bind for &'a Option<T>
where
    &'a T: Bind,
{
    const KIND: Kind = <&'a T>::KIND;
    fn arg(self) -> Arg {
        self.as_ref().arg()
    }
}
impl Bind for &i64 {
    const KIND: Kind = Kind::Int;
    fn arg(self) -> Arg {
        Arg::Int(*self)
    }
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Int(v) => ValueRef::Integer(*v),
            Arg::Real(v) => ValueRef::Real(*v),
            Arg::Text(v) => ValueRef::Text(v.as_bytes()),
            Arg::Blob(v) => ValueRef::Blob(v),
            Arg::Bool(v) => ValueRef::Integer(*v as i64),
            Arg::Null(_) => ValueRef::Null,
        }))
    }
}

/// A statement with its parameters, run by `execute` or one of the `fetch_*`.
pub(crate) struct Query<'q> {
    sql: &'q str,
    args: Vec<Arg>,
}

pub(crate) fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
    }
}

impl<'q> Query<'q> {
    pub(crate) fn bind<T: Bind>(mut self, v: T) -> Self {
        self.args.push(v.arg());
        self
    }

    pub(crate) async fn execute(self, conn: &mut Conn) -> Result<Done, StoreError> {
        match conn {
            Conn::Pg(c) => {
                let r = sqlx::Executor::execute(&mut **c, self.into_sqlx()).await?;
                Ok(Done(r.rows_affected()))
            }
            Conn::Lite(c) => lite_run(c, self.sql, &self.args, 0).map(|(_, n)| Done(n)),
        }
    }

    pub(crate) async fn fetch_all(self, conn: &mut Conn) -> Result<Vec<Row>, StoreError> {
        match conn {
            Conn::Pg(c) => {
                let rows = sqlx::Executor::fetch_all(&mut **c, self.into_sqlx()).await?;
                Ok(rows.into_iter().map(Row::Any).collect())
            }
            Conn::Lite(c) => lite_run(c, self.sql, &self.args, usize::MAX).map(|(r, _)| r),
        }
    }

    pub(crate) async fn fetch_optional(self, conn: &mut Conn) -> Result<Option<Row>, StoreError> {
        match conn {
            Conn::Pg(c) => {
                let row = sqlx::Executor::fetch_optional(&mut **c, self.into_sqlx()).await?;
                Ok(row.map(Row::Any))
            }
            Conn::Lite(c) => {
                lite_run(c, self.sql, &self.args, 1).map(|(r, _)| r.into_iter().next())
            }
        }
    }

    pub(crate) async fn fetch_one(self, conn: &mut Conn) -> Result<Row, StoreError> {
        self.fetch_optional(conn)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    fn into_sqlx(self) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(self.sql);
        for a in self.args {
            q = match a {
                Arg::Int(v) => q.bind(v),
                Arg::Real(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Blob(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Null(Kind::Int) => q.bind(None::<i64>),
                Arg::Null(Kind::Real) => q.bind(None::<f64>),
                Arg::Null(Kind::Text) => q.bind(None::<String>),
                Arg::Null(Kind::Blob) => q.bind(None::<Vec<u8>>),
                Arg::Null(Kind::Bool) => q.bind(None::<bool>),
            };
        }
        q
    }
}

/// Runs one statement on SQLite and keeps up to `keep` of its rows. Parameters are bound by
/// their number (`$3` takes the third `bind`), wherever they appear in the text.
fn lite_run(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg],
    keep: usize,
) -> Result<(Vec<Row>, u64), StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    for i in 1..=stmt.parameter_count() {
        let n = match stmt.parameter_name(i) {
            Some(name) => name[1..]
                .parse::<usize>()
                .map_err(|_| StoreError::Config(format!("parameter {name} is not $n")))?,
            None => i,
        };
        let arg = args
            .get(n.wrapping_sub(1))
            .ok_or_else(|| StoreError::Config(format!("no value bound for ${n}")))?;
        stmt.raw_bind_parameter(i, arg)?;
    }
    let cols: Arc<[Box<str>]> = stmt.column_names().into_iter().map(Into::into).collect();
    let mut out = Vec::new();
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        if out.len() >= keep {
            // A DML statement with RETURNING makes all its changes on the first step.
            break;
        }
        let mut vals = Vec::with_capacity(cols.len());
        for c in 0..cols.len() {
            vals.push(r.get::<_, LiteValue>(c)?);
        }
        out.push(Row::Lite(LiteRow {
            cols: cols.clone(),
            vals,
        }));
    }
    drop(rows);
    Ok((out, conn.changes()))
}

/// A row of either backend.
pub(crate) enum Row {
    Any(AnyRow),
    Lite(LiteRow),
}

pub(crate) struct LiteRow {
    cols: Arc<[Box<str>]>,
    vals: Vec<LiteValue>,
}

/// A column, by name or by position.
pub(crate) trait Col: sqlx::ColumnIndex<AnyRow> + std::fmt::Debug + Copy {
    fn position(self, cols: &[Box<str>]) -> Option<usize>;
}
impl Col for &str {
    fn position(self, cols: &[Box<str>]) -> Option<usize> {
        cols.iter().position(|c| &**c == self)
    }
}
impl Col for usize {
    fn position(self, cols: &[Box<str>]) -> Option<usize> {
        (self < cols.len()).then_some(self)
    }
}

impl Row {
    pub(crate) fn try_get<T: Decode, C: Col>(&self, col: C) -> Result<T, StoreError> {
        match self {
            Row::Any(r) => Ok(sqlx::Row::try_get::<T, C>(r, col)?),
            Row::Lite(r) => {
                let v = col
                    .position(&r.cols)
                    .and_then(|p| r.vals.get(p))
                    .ok_or_else(|| StoreError::Corrupt(format!("no column {col:?}")))?;
                T::lite(v).ok_or_else(|| {
                    StoreError::Corrupt(format!("column {col:?} holds {:?}", v.data_type()))
                })
            }
        }
    }
}

/// A value `try_get` decodes (from SQLite's value, or through sqlx for PostgreSQL).
pub(crate) trait Decode:
    for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any> + Sized
{
    fn lite(v: &LiteValue) -> Option<Self>;
}

impl Decode for i64 {
    fn lite(v: &LiteValue) -> Option<Self> {
        match v {
            LiteValue::Integer(i) => Some(*i),
            _ => None,
        }
    }
}
impl Decode for f64 {
    fn lite(v: &LiteValue) -> Option<Self> {
        match v {
            LiteValue::Real(f) => Some(*f),
            LiteValue::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
}
impl Decode for bool {
    fn lite(v: &LiteValue) -> Option<Self> {
        i64::lite(v).map(|i| i != 0)
    }
}
impl Decode for String {
    fn lite(v: &LiteValue) -> Option<Self> {
        match v {
            LiteValue::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl Decode for Vec<u8> {
    fn lite(v: &LiteValue) -> Option<Self> {
        match v {
            LiteValue::Blob(b) => Some(b.clone()),
            LiteValue::Text(s) => Some(s.clone().into_bytes()),
            _ => None,
        }
    }
}
impl<T: Decode> Decode for Option<T> {
    fn lite(v: &LiteValue) -> Option<Self> {
        match v {
            LiteValue::Null => Some(None),
            v => T::lite(v).map(Some),
        }
    }
}

/// A statement whose first column is the answer.
pub(crate) struct Scalar<'q, T> {
    q: Query<'q>,
    _t: PhantomData<T>,
}

pub(crate) fn query_scalar<T: Decode>(sql: &str) -> Scalar<'_, T> {
    Scalar {
        q: query(sql),
        _t: PhantomData,
    }
}

impl<T: Decode> Scalar<'_, T> {
    pub(crate) fn bind<B: Bind>(mut self, v: B) -> Self {
        self.q = self.q.bind(v);
        self
    }
    pub(crate) async fn fetch_optional(self, conn: &mut Conn) -> Result<Option<T>, StoreError> {
        self.q
            .fetch_optional(conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()
    }
    pub(crate) async fn fetch_one(self, conn: &mut Conn) -> Result<T, StoreError> {
        self.q.fetch_one(conn).await?.try_get(0)
    }
    pub(crate) async fn fetch_all(self, conn: &mut Conn) -> Result<Vec<T>, StoreError> {
        let rows = self.q.fetch_all(conn).await?;
        rows.iter().map(|r| r.try_get(0)).collect()
    }
}

impl Conn {
    pub(crate) fn is_pg(&self) -> bool {
        matches!(self, Conn::Pg(_))
    }

    /// Runs statements without parameters (transaction control, pragmas, migrations).
    pub(crate) async fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Pg(c) => {
                sqlx::Executor::execute(&mut **c, sql).await?;
            }
            Conn::Lite(c) => c.execute_batch(sql)?,
        }
        Ok(())
    }

    /// Starts a transaction. SQLite takes the write lock at once (`IMMEDIATE`): its only
    /// writer is the store's, and a read never upgrades.
    pub(crate) async fn begin(&mut self) -> Result<(), StoreError> {
        let sql = if self.is_pg() {
            "BEGIN"
        } else {
            "BEGIN IMMEDIATE"
        };
        self.batch(sql).await
    }

    pub(crate) async fn close(self) {
        if let Conn::Pg(PgConn::Owned(c)) = self {
            let _ = sqlx::Connection::close(c).await;
        }
    }
}

/// SQLite: copies committed log pages into the database file, as far as no reader still
/// needs them (PASSIVE: never waits for a reader or the writer).
pub(crate) async fn passive_checkpoint(conn: &mut Conn) -> Result<(), StoreError> {
    query("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_all(conn)
        .await
        .map(drop)
}

/// Polls a future to its end on this thread. On SQLite the store's futures never wait (every
/// statement runs synchronously), so this returns after one poll; the waker still parks and
/// unparks the thread properly should something inside wait after all.
pub(crate) fn run_here<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lite() -> (tempfile::TempDir, Conn) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let conn = Conn::Lite(LiteConn::Owned(open_lite(&url).unwrap()));
        (dir, conn)
    }

    #[test]
    fn parameters_bind_by_number_wherever_they_appear() {
        let (_d, mut c) = lite();
        run_here(async {
            c.batch("CREATE TABLE t (a TEXT PRIMARY KEY, b BIGINT, c TEXT)")
                .await
                .unwrap();
            // `$2` comes first in the text, `$1` twice: the numbers decide, not the order.
            query("INSERT INTO t (b, a, c) VALUES ($2, $1, $1 || $3)")
                .bind("x")
                .bind(7_i64)
                .bind(None::<String>)
                .execute(&mut c)
                .await
                .unwrap();
            let row = query("SELECT a, b, c FROM t WHERE b = $1")
                .bind(7_i64)
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(row.try_get::<String, _>("a").unwrap(), "x");
            assert_eq!(row.try_get::<i64, _>(1).unwrap(), 7);
            // 'x' || NULL is NULL: the typed null went in as NULL.
            assert_eq!(row.try_get::<Option<String>, _>("c").unwrap(), None);
            // Wrong type and unknown column: errors, not panics.
            assert!(matches!(
                row.try_get::<i64, _>("a"),
                Err(StoreError::Corrupt(_))
            ));
            assert!(matches!(
                row.try_get::<i64, _>("nope"),
                Err(StoreError::Corrupt(_))
            ));
            // A parameter without a value is refused.
            let missing = query("SELECT $1, $2").bind(1_i64).fetch_all(&mut c).await;
            assert!(matches!(missing, Err(StoreError::Config(_))));
        });
    }

    #[test]
    fn duplicates_are_unique_violations_and_changes_are_counted() {
        let (_d, mut c) = lite();
        run_here(async {
            c.batch("CREATE TABLE t (a TEXT PRIMARY KEY, n BIGINT)")
                .await
                .unwrap();
            let ins = || query("INSERT INTO t (a, n) VALUES ($1, 1)").bind("k");
            assert_eq!(ins().execute(&mut c).await.unwrap().rows_affected(), 1);
            let dup = ins().execute(&mut c).await.unwrap_err();
            assert!(dup.is_unique_violation(), "{dup}");
            assert!(!dup.is_refusal());
            let upd = query("UPDATE t SET n = n + 1 WHERE a = $1 RETURNING n")
                .bind("k")
                .fetch_optional(&mut c)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(upd.try_get::<i64, _>("n").unwrap(), 2);
            let n: Vec<i64> = query_scalar("SELECT n FROM t")
                .fetch_all(&mut c)
                .await
                .unwrap();
            assert_eq!(n, vec![2]);
        });
    }

    #[test]
    fn run_here_waits_for_a_future_that_is_woken_later() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.send(5).unwrap();
        });
        assert_eq!(run_here(rx).unwrap(), 5);
        t.join().unwrap();
    }
}
