//! `motcua worker`: the job executor loop. It runs due jobs (timers, timer start events, SLA
//! marks), due schedules and, with an engine key, the journal checkpoints, then waits `poll_ms`
//! (real time: this is the production loop; tests drive the engine with a manual clock
//! instead) until Ctrl-C. `motcua serve` runs the same
//! passes in the background with [`run_until`], which logs failures and keeps going.

use anyhow::Result;
use motcua_engine::executor::JobRunReport;
use motcua_engine::store::any::AnyStore;
use motcua_engine::Engine;
use serde_json::json;
use tokio::sync::watch;

use crate::output::{print_json, say};

/// Runs the executor.
pub async fn run(
    engine: &Engine<AnyStore>,
    id: &str,
    once: bool,
    poll_ms: u64,
    json_out: bool,
) -> Result<()> {
    loop {
        let (report, runs) = pass(engine, id).await?;
        if json_out {
            print_json(&json!({
                "timersFired": report.timers_fired,
                "instancesStarted": report.instances_started,
                "handled": report.handled,
                "failed": report.failed,
                "skipped": report.skipped,
                "schedulesRun": runs,
            }));
        } else if report.done() + report.failed + runs > 0 || once {
            say!(
                "{id}: {} timer(s) fired, {} instance(s) started by timers, {} job(s) failed, {} schedule run(s)",
                report.timers_fired,
                report.instances_started,
                report.failed,
                runs
            );
        }
        if once {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = tokio::time::sleep(std::time::Duration::from_millis(poll_ms.max(10))) => {}
        }
    }
}

/// One pass: every due job, every due schedule, then every due webhook subscription (a
/// failed delivery pass is logged, not returned: it must not stop jobs). Returns the jobs'
/// report and the number of schedule runs.
async fn pass(engine: &Engine<AnyStore>, id: &str) -> Result<(JobRunReport, usize)> {
    let report = engine.run_all_due_jobs(id).await?;
    let runs = engine.run_due_schedules(id).await?;
    match engine.run_due_checkpoint().await {
        Ok(made) => {
            for c in made {
                tracing::info!(id = c.id, heads = c.size, "journal checkpoint signed");
            }
        }
        Err(e) => tracing::error!(error = format!("{e:#}"), "journal checkpoint failed"),
    }
    match crate::webhook_delivery::deliver(engine, id).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(delivered = n, "webhook events delivered"),
        Err(e) => tracing::error!(error = format!("{e:#}"), "webhook delivery pass failed"),
    }
    match crate::exchange_delivery::deliver(engine, id).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(delivered = n, "exchange messages delivered to peers"),
        Err(e) => tracing::error!(error = format!("{e:#}"), "exchange delivery pass failed"),
    }
    Ok((report, runs.len()))
}

/// The executor beside the HTTP server: a pass every `poll_ms` until `stop` turns true (or its
/// sender is gone). A failed pass is logged and the next one tried; it never ends the server.
pub async fn run_until(
    engine: &Engine<AnyStore>,
    id: &str,
    poll_ms: u64,
    mut stop: watch::Receiver<bool>,
) {
    let poll = std::time::Duration::from_millis(poll_ms.max(10));
    loop {
        if *stop.borrow() {
            return;
        }
        match pass(engine, id).await {
            Ok((report, runs)) if report.done() + report.failed + runs > 0 => tracing::info!(
                timers_fired = report.timers_fired,
                instances_started = report.instances_started,
                handled = report.handled,
                failed = report.failed,
                schedules_run = runs,
                "job executor pass"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = format!("{e:#}"), "job executor pass failed"),
        }
        tokio::select! {
            changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
            _ = tokio::time::sleep(poll) => {}
        }
    }
}
