//! The test harness shared by the end-to-end tests in `tests/`: one test body runs on a fresh
//! SQLite file and on a fresh PostgreSQL database.
//!
//! PostgreSQL runs need `MOTCUA_TEST_DATABASE_URL` (CI always sets it). Without it, each
//! PostgreSQL run reports `SKIPPED <test> on postgres` on standard error, by name, and passes:
//! never a silent skip. Each PostgreSQL run gets its own database, dropped when the test ends.

/// A real test PKI built at test time (root → agency CA → user certificates), shared with the
/// signing crate's tests.
/// (Written for the signing crate's test binaries, where it is private: here it is public, so
/// `Pki::new` without `Default` is allowed rather than edited.)
#[path = "../../signing/tests/common/mod.rs"]
#[allow(clippy::new_without_default)]
pub mod pki;

use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use motcua_engine::store::any::AnyStore;
use motcua_engine::{DeployFile, Durability, Engine, ManualClock};
use serde_json::{Map, Value};
use tempfile::TempDir;

/// Which database a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the server of `MOTCUA_TEST_DATABASE_URL`.
    Postgres,
}

/// The environment variable naming the PostgreSQL server for tests.
pub const PG_URL_ENV: &str = "MOTCUA_TEST_DATABASE_URL";

/// A deployment file from text.
pub fn deploy_file(name: &str, text: &str) -> DeployFile {
    DeployFile {
        name: name.into(),
        bytes: text.as_bytes().to_vec(),
    }
}

/// The object of a `json!` value as variables (anything else: none).
pub fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// 2026-11-24 08:00 in Huế (UTC+7), a Tuesday: where test clocks start.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0)
        .single()
        .unwrap_or_default()
}

/// One test's database and clock.
pub struct TestDb {
    backend: Backend,
    url: String,
    _dir: Option<TempDir>,
    pg: Option<(String, String)>,
    /// The clock every engine opened on this database reads.
    pub clock: ManualClock,
}

fn admin_url(url: &str) -> String {
    // The server's maintenance database, for CREATE/DROP DATABASE.
    match url.rfind('/') {
        Some(i) if url[..i].contains("://") => format!("{}/postgres", &url[..i]),
        _ => url.to_owned(),
    }
}

impl TestDb {
    /// A fresh database for `test`, or `None` (after reporting the skip) when PostgreSQL is not
    /// configured.
    pub async fn new(backend: Backend, test: &str) -> Option<TestDb> {
        let clock = ManualClock::new(t0());
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let url = format!("sqlite://{}", dir.path().join("motcua.db").display());
                Some(TestDb {
                    backend,
                    url,
                    _dir: Some(dir),
                    pg: None,
                    clock,
                })
            }
            Backend::Postgres => {
                let Ok(base) = std::env::var(PG_URL_ENV) else {
                    let _ = writeln!(
                        std::io::stderr(),
                        "SKIPPED {test} on postgres: {PG_URL_ENV} is not set"
                    );
                    return None;
                };
                let admin = admin_url(&base);
                let name = format!("motcua_t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin}: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create the test database");
                let url = match admin.rfind('/') {
                    Some(i) => format!("{}/{name}", &admin[..i]),
                    None => admin.clone(),
                };
                Some(TestDb {
                    backend,
                    url,
                    _dir: None,
                    pg: Some((admin, name)),
                    clock,
                })
            }
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Opens an engine (a new store, so also a "restart" or "another node").
    pub async fn open(&self) -> Engine<AnyStore> {
        let store = AnyStore::open(&self.url, Durability::Full)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.url));
        Engine::new(store, Arc::new(self.clock.clone()))
    }

    /// Runs a scalar query on the engine's database.
    pub async fn count(&self, engine: &Engine<AnyStore>, sql: &str) -> i64 {
        match engine.store() {
            AnyStore::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await,
            AnyStore::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p.pool()).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The first column of every row of a query, as text.
    pub async fn texts(&self, engine: &Engine<AnyStore>, sql: &str) -> Vec<String> {
        match engine.store() {
            AnyStore::Sqlite(s) => sqlx::query_scalar(sql).fetch_all(s.pool()).await,
            AnyStore::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p.pool()).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs statements on the engine's database: `sqlite` or `postgres` by backend.
    pub async fn execute(&self, engine: &Engine<AnyStore>, sqlite: &str, postgres: &str) {
        let result = match engine.store() {
            AnyStore::Sqlite(s) => sqlx::raw_sql(sqlite).execute(s.pool()).await.map(|_| ()),
            AnyStore::Postgres(p) => sqlx::raw_sql(postgres).execute(p.pool()).await.map(|_| ()),
        };
        if let Err(e) = result {
            panic!("test SQL failed: {e}");
        }
    }

    /// The query plan of `sql`, as one line of text.
    pub async fn plan(&self, engine: &Engine<AnyStore>, sql: &str) -> String {
        match engine.store() {
            AnyStore::Sqlite(s) => {
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                        .fetch_all(s.pool())
                        .await
                        .expect("explain");
                rows.into_iter()
                    .map(|r| r.3)
                    .collect::<Vec<_>>()
                    .join(" | ")
            }
            AnyStore::Postgres(p) => {
                let mut conn = p.pool().acquire().await.expect("a connection");
                // The tables are nearly empty: forbid sequential scans to see the index choice.
                sqlx::query("SET enable_seqscan = off")
                    .execute(&mut *conn)
                    .await
                    .expect("set");
                let rows: Vec<(String,)> = sqlx::query_as(&format!("EXPLAIN {sql}"))
                    .fetch_all(&mut *conn)
                    .await
                    .expect("explain");
                sqlx::query("RESET enable_seqscan")
                    .execute(&mut *conn)
                    .await
                    .expect("reset");
                rows.into_iter()
                    .map(|r| r.0)
                    .collect::<Vec<_>>()
                    .join(" | ")
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        // Drop the database from a thread with its own runtime: Drop cannot await.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            let _ = writeln!(std::io::stderr(), "note: a test database was not dropped");
        }
    }
}

/// Generates, for each named `async fn name(backend: Backend)`, a module `name` with two tests,
/// `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await
                }
            }
        )*
    };
}
