//! `motcua-bench`: measures the engine, each command committed before it is answered.
//!
//! - default: N instances of `bench/five-tasks.bpmn` (start, then complete five user tasks),
//!   by `--concurrency` clients spread over `--nodes` engines (each with its own connections
//!   and caches, as separate processes would have) on one database; prints instances/s,
//!   commands/s and command latency p50/p99.
//! - `--timers N`: N instances wait at a one-hour timer; the (manual) clock moves past it and
//!   the job executor fires all N, each firing its own transaction.
//! - `--queue-tasks N`: N open tasks in the database (spread over 1,000 candidate groups),
//!   then 1,000 task-queue queries (one group's oldest 50) through the engine: p50/p99.
//! - `--seal N`: the journal's hash chain: a five-task instance's events sealed N times.
//!
//! `--database` is `sqlite` (a fresh file in the temp folder) or a PostgreSQL server URL (a
//! fresh database is created on it and dropped afterwards).
//!
//! ```text
//! cargo run --release -p motcua-bench -- --instances 5000 --concurrency 32 --durability full
//! cargo run --release -p motcua-bench -- --database postgres://postgres@127.0.0.1/postgres --nodes 2 --concurrency 32
//! cargo run --release -p motcua-bench -- --timers 100000
//! cargo run --release -p motcua-bench -- --queue-tasks 1000000
//! cargo run --release -p motcua-bench -- --seal 20000
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    Clock, CommandOptions, DeployFile, Durability, Engine, InstanceStatus, ManualClock,
    StartInstance, SystemClock,
};
use serde_json::Map;

const FIVE_TASKS: &str = include_str!("../five-tasks.bpmn");

const TIMER_PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:bench">
  <bpmn:process id="timer-bench" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

#[derive(Debug, Parser)]
#[command(about = "motcua benchmarks (see the module documentation)")]
struct Args {
    /// `sqlite`, or a PostgreSQL server URL (a fresh database is made on it).
    #[arg(long, default_value = "sqlite")]
    database: String,
    /// SQLite durability: full (sync every commit) or normal (sync at checkpoints).
    #[arg(long, default_value = "full")]
    durability: String,
    /// Instances to run.
    #[arg(long, default_value_t = 2000)]
    instances: usize,
    /// Clients running instances at the same time.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Engine nodes sharing the database (clients are spread over them).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Measure the job executor firing this many due timers instead.
    #[arg(long)]
    timers: Option<usize>,
    /// Measure task-queue queries with this many open tasks instead.
    #[arg(long)]
    queue_tasks: Option<usize>,
    /// Measure the journal's hash chain instead: the events of one five-task instance sealed
    /// this many times (the CPU the chain adds to each command, outside the database).
    #[arg(long)]
    seal: Option<usize>,
}

/// A fresh database for one run, removed afterwards.
struct BenchDb {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Postgres { admin: String, name: String },
}

impl BenchDb {
    async fn create(database: &str) -> Result<BenchDb> {
        if database == "sqlite" {
            let path =
                std::env::temp_dir().join(format!("motcua-bench-{}.db", uuid::Uuid::now_v7()));
            return Ok(BenchDb {
                url: format!("sqlite://{}", path.display()),
                cleanup: Cleanup::File(path),
            });
        }
        let name = format!("motcua_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(database)
            .await
            .with_context(|| format!("cannot reach {database}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
        let base = match database.rfind('/') {
            Some(i) => &database[..i],
            None => database,
        };
        Ok(BenchDb {
            url: format!("{base}/{name}"),
            cleanup: Cleanup::Postgres {
                admin: database.to_owned(),
                name,
            },
        })
    }

    fn label(&self) -> &'static str {
        match self.cleanup {
            Cleanup::File(_) => "sqlite",
            Cleanup::Postgres { .. } => "postgres",
        }
    }

    async fn open(
        &self,
        durability: Durability,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine<AnyStore>> {
        let store = AnyStore::open(&self.url, durability).await?;
        Ok(Engine::new(store, clock))
    }

    async fn remove(self) {
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin, name } => {
                if let Ok(mut conn) =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            }
        }
    }
}

async fn deploy(engine: &Engine<AnyStore>, name: &str, xml: &str) -> Result<()> {
    engine
        .deploy(
            "bench",
            &[DeployFile {
                name: name.into(),
                bytes: xml.as_bytes().to_vec(),
            }],
        )
        .await?;
    Ok(())
}

async fn run_instance(engine: &Engine<AnyStore>, latencies: &mut Vec<Duration>) -> Result<()> {
    let t = Instant::now();
    let outcome = engine
        .start(
            StartInstance {
                key: "five-tasks".into(),
                ..StartInstance::default()
            },
            CommandOptions::default(),
        )
        .await?;
    latencies.push(t.elapsed());
    let mut tasks = outcome.tasks;
    let mut status = outcome.status;
    for _ in 0..5 {
        let Some(task) = tasks.first().copied() else {
            bail!("expected a task to complete");
        };
        let t = Instant::now();
        let o = engine
            .complete(task, Map::new(), CommandOptions::by("bench"))
            .await?;
        latencies.push(t.elapsed());
        tasks = o.tasks;
        status = o.status;
    }
    if status != InstanceStatus::Completed {
        bail!("instance did not complete");
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn bench_instances(args: &Args, db: &BenchDb, durability: Durability) -> Result<()> {
    let mut nodes = Vec::new();
    for _ in 0..args.nodes.max(1) {
        nodes.push(Arc::new(db.open(durability, Arc::new(SystemClock)).await?));
    }
    deploy(&nodes[0], "five-tasks.bpmn", FIVE_TASKS).await?;
    // Warm-up: definition caches, statement caches.
    let mut warm = Vec::new();
    for node in &nodes {
        for _ in 0..10 {
            run_instance(node, &mut warm).await?;
        }
    }
    let concurrency = args.concurrency.max(1);
    let per_client = args.instances.div_ceil(concurrency);
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..concurrency {
        let engine = nodes[c % nodes.len()].clone();
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client * 6);
            for _ in 0..per_client {
                run_instance(&engine, &mut latencies).await?;
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for c in clients {
        latencies.extend(c.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let instances = per_client * concurrency;
    println!(
        "motcua database={} durability={} nodes={} concurrency={} instances={} seconds={:.3} instances_per_s={:.1} commands_per_s={:.1} p50_ms={:.3} p99_ms={:.3}",
        db.label(),
        if db.label() == "sqlite" { args.durability.as_str() } else { "synchronous_commit=on" },
        nodes.len(),
        concurrency,
        instances,
        elapsed,
        instances as f64 / elapsed,
        latencies.len() as f64 / elapsed,
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
    );
    for node in nodes {
        node.store().close().await;
    }
    Ok(())
}

async fn bench_timers(args: &Args, db: &BenchDb, durability: Durability, n: usize) -> Result<()> {
    let clock = ManualClock::new(chrono::Utc::now());
    let engine = db.open(durability, Arc::new(clock.clone())).await?;
    deploy(&engine, "timer-bench.bpmn", TIMER_PROCESS).await?;
    let setup = Instant::now();
    for _ in 0..n {
        engine
            .start(
                StartInstance {
                    key: "timer-bench".into(),
                    ..StartInstance::default()
                },
                CommandOptions::default(),
            )
            .await?;
    }
    let setup = setup.elapsed().as_secs_f64();
    clock.advance(chrono::Duration::hours(1));
    let started = Instant::now();
    let report = engine.run_all_due_jobs("bench").await?;
    let elapsed = started.elapsed().as_secs_f64();
    if report.timers_fired != n {
        bail!("{} of {n} timers fired", report.timers_fired);
    }
    println!(
        "motcua timers database={} durability={} timers={n} setup_seconds={setup:.1} fire_seconds={elapsed:.3} timers_per_s={:.1}",
        db.label(),
        args.durability,
        n as f64 / elapsed
    );
    engine.store().close().await;
    Ok(())
}

/// Fills the task queue with `n` open tasks (1,000 groups, 20 agencies) straight in SQL: the
/// rows a running system would have, without running `n` instances first.
async fn fill_queue(engine: &Engine<AnyStore>, n: usize) -> Result<()> {
    let n = n as i64;
    match engine.store() {
        AnyStore::Sqlite(s) => {
            sqlx::query(
                "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?) \
                 INSERT INTO tasks (id, instance_id, definition_key, node_id, name, assignee, \
                   candidate_groups, candidate_users, agency, form_key, state, created_at, due_at) \
                 SELECT printf('00000000-0000-8000-8000-%012d', i), \
                   printf('00000000-0000-7000-8000-%012d', i), 'bench', 't1', 'Tiếp nhận', NULL, \
                   json_array('group-' || (i % 1000)), '[]', 'agency-' || (i % 20), NULL, 'open', \
                   strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01', '+' || (i % 100000) || ' seconds'), \
                   NULL FROM k",
            )
            .bind(n)
            .execute(s.pool())
            .await?;
            sqlx::query("ANALYZE").execute(s.pool()).await?;
        }
        AnyStore::Postgres(p) => {
            sqlx::query(
                "INSERT INTO tasks (id, instance_id, definition_key, node_id, name, assignee, \
                   candidate_groups, candidate_users, agency, form_key, state, created_at, due_at) \
                 SELECT '00000000-0000-8000-8000-' || lpad(i::text, 12, '0'), \
                   '00000000-0000-7000-8000-' || lpad(i::text, 12, '0'), 'bench', 't1', 'Tiếp nhận', \
                   NULL, jsonb_build_array('group-' || (i % 1000)), '[]'::jsonb, 'agency-' || (i % 20), \
                   NULL, 'open', timestamptz '2026-01-01' + (i % 100000) * interval '1 second', NULL \
                 FROM generate_series(1, $1) AS i",
            )
            .bind(n)
            .execute(p.pool())
            .await?;
            sqlx::query("ANALYZE").execute(p.pool()).await?;
        }
    }
    Ok(())
}

async fn bench_queue(db: &BenchDb, durability: Durability, n: usize) -> Result<()> {
    let engine = db.open(durability, Arc::new(SystemClock)).await?;
    let fill = Instant::now();
    fill_queue(&engine, n).await?;
    let fill = fill.elapsed().as_secs_f64();
    let mut latencies = Vec::with_capacity(1000);
    let mut listed = 0;
    for i in 0..1000 {
        let query = TaskQuery {
            candidate_group: Some(format!("group-{}", (i * 7919) % 1000)),
            limit: Some(50),
            ..TaskQuery::default()
        };
        let t = Instant::now();
        listed += engine.tasks(&query).await?.len();
        latencies.push(t.elapsed());
    }
    if listed != 50 * 1000 {
        bail!("the queue queries listed {listed} tasks, expected 50 each");
    }
    latencies.sort();
    println!(
        "motcua queue database={} open_tasks={n} fill_seconds={fill:.1} queries=1000 p50_ms={:.3} p99_ms={:.3}",
        db.label(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
    );
    engine.store().close().await;
    Ok(())
}

/// The hash chain's cost: one five-task instance is run, then its journal's events are sealed
/// (serialised, chained, hashed) `rounds` times, as the engine does before each commit.
async fn bench_seal(db: &BenchDb, durability: Durability, rounds: usize) -> Result<()> {
    let engine = db.open(durability, Arc::new(SystemClock)).await?;
    deploy(&engine, "five-tasks.bpmn", FIVE_TASKS).await?;
    let outcome = engine
        .start(
            StartInstance {
                key: "five-tasks".into(),
                ..StartInstance::default()
            },
            CommandOptions::default(),
        )
        .await?;
    let mut tasks = outcome.tasks;
    for _ in 0..5 {
        let Some(task) = tasks.first().copied() else {
            bail!("expected a task to complete");
        };
        tasks = engine
            .complete(task, Map::new(), CommandOptions::by("bench"))
            .await?
            .tasks;
    }
    let journal = engine.journal(outcome.instance).await?;
    let events: Vec<motcua_engine::Event> = journal.iter().map(|e| e.event.clone()).collect();
    let mut state = engine.instance(outcome.instance).await?;
    let now = engine.now();
    let t = Instant::now();
    for _ in 0..rounds {
        state.journal_head = None;
        let sealed = motcua_engine::chain::seal(&mut state, &events, Some("bench"), now)?;
        std::hint::black_box(sealed);
    }
    let elapsed = t.elapsed();
    let per_event = elapsed.as_secs_f64() * 1e6 / (rounds * events.len()) as f64;
    println!(
        "motcua seal events_per_instance={} rounds={rounds} us_per_event={per_event:.2} \
         us_per_instance={:.1} events_per_second={:.0}",
        events.len(),
        per_event * events.len() as f64,
        1e6 / per_event
    );
    engine.store().close().await;
    Ok(())
}

async fn run(args: Args) -> Result<()> {
    let durability: Durability = args.durability.parse().map_err(anyhow::Error::msg)?;
    let db = BenchDb::create(&args.database).await?;
    let result = match (args.timers, args.queue_tasks, args.seal) {
        (Some(n), _, _) => bench_timers(&args, &db, durability, n).await,
        (None, Some(n), _) => bench_queue(&db, durability, n).await,
        (None, None, Some(n)) => bench_seal(&db, durability, n).await,
        (None, None, None) => bench_instances(&args, &db, durability).await,
    };
    db.remove().await;
    result
}

fn main() -> Result<()> {
    let args = Args::parse();
    // One client on one node: a single-threaded runtime (no hand-offs between worker threads);
    // otherwise the default multi-threaded one.
    let runtime = if args.concurrency <= 1 && args.nodes <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
    };
    runtime.block_on(run(args))
}
