//! `motcua-bench`: runs N instances of `bench/five-tasks.bpmn` (start, then complete each of five
//! user tasks) on a fresh SQLite file and prints instances/s, commands/s and command latency.
//!
//! Every command is its own transaction, committed before the engine answers; nothing is
//! batched. `--concurrency` runs that many clients at once (SQLite still has one writer).
//!
//! ```text
//! cargo run --release -p motcua-bench -- --instances 2000 --durability full
//! cargo run --release -p motcua-bench -- --timers 100000
//! ```
//!
//! `--timers N` measures the job executor instead: N instances wait at a one-hour timer, the
//! (manual) clock moves past it, and the executor fires all N; each firing is its own committed
//! transaction (the instance moves on and the job row closes together).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Parser;
use motcua_engine::{
    CommandOptions, DeployFile, Durability, Engine, InstanceStatus, SqliteConfig, SqliteStore,
    StartInstance, SystemClock,
};
use serde_json::Map;

const FIVE_TASKS: &str = include_str!("../five-tasks.bpmn");

#[derive(Debug, Parser)]
#[command(about = "motcua throughput benchmark (5 sequential user tasks per instance)")]
struct Args {
    /// Instances to run.
    #[arg(long, default_value_t = 2000)]
    instances: usize,
    /// SQLite durability: full (fsync every commit) or normal (fsync at checkpoints).
    #[arg(long, default_value = "full")]
    durability: String,
    /// Clients running instances at the same time.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Database file (default: a fresh file in the temp directory, removed afterwards).
    #[arg(long)]
    file: Option<std::path::PathBuf>,
    /// Measure the job executor firing this many due timers instead.
    #[arg(long)]
    timers: Option<usize>,
}

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

async fn bench_timers(config: &SqliteConfig, n: usize, durability: &str) -> Result<()> {
    let clock = motcua_engine::ManualClock::new(chrono::Utc::now());
    let engine = Engine::new(SqliteStore::open(config).await?, Arc::new(clock.clone()));
    engine
        .deploy(
            "bench",
            &[DeployFile {
                name: "timer-bench.bpmn".into(),
                bytes: TIMER_PROCESS.as_bytes().to_vec(),
            }],
        )
        .await?;
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
        "motcua timers durability={durability} timers={n} setup_seconds={setup:.1} fire_seconds={elapsed:.3} timers_per_s={:.1}",
        n as f64 / elapsed
    );
    engine.store().close().await;
    Ok(())
}

async fn run_instance(engine: &Engine<SqliteStore>, latencies: &mut Vec<Duration>) -> Result<()> {
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let durability: Durability = args.durability.parse().map_err(anyhow::Error::msg)?;
    let (path, temporary) = match &args.file {
        Some(p) => (p.clone(), false),
        None => (
            std::env::temp_dir().join(format!("motcua-bench-{}.db", uuid::Uuid::now_v7())),
            true,
        ),
    };
    let mut config = SqliteConfig::new(format!("sqlite://{}", path.display()));
    config.durability = durability;
    config.max_connections = (args.concurrency as u32 + 1).max(2);
    if let Some(n) = args.timers {
        let result = bench_timers(&config, n, &args.durability).await;
        if temporary {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        return result;
    }
    let engine = Arc::new(Engine::new(
        SqliteStore::open(&config).await?,
        Arc::new(SystemClock),
    ));
    engine
        .deploy(
            "bench",
            &[DeployFile {
                name: "five-tasks.bpmn".into(),
                bytes: FIVE_TASKS.as_bytes().to_vec(),
            }],
        )
        .await?;
    // Warm-up: definition cache, statement caches.
    let mut warm = Vec::new();
    for _ in 0..20 {
        run_instance(&engine, &mut warm).await?;
    }

    let concurrency = args.concurrency.max(1);
    let per_client = args.instances.div_ceil(concurrency);
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let engine = engine.clone();
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
        "motcua durability={} concurrency={} instances={} seconds={:.3} instances_per_s={:.1} commands_per_s={:.1} p50_ms={:.3} p99_ms={:.3}",
        args.durability,
        concurrency,
        instances,
        elapsed,
        instances as f64 / elapsed,
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
    );
    engine.store().close().await;
    if temporary {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(())
}
