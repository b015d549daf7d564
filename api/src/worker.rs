//! `motcua worker`: the job executor loop. It runs due jobs (timers, timer start events, SLA
//! marks) and due schedules, then waits `poll_ms` (real time: this is the production loop; tests
//! drive the engine with a manual clock instead) until Ctrl-C.

use anyhow::Result;
use motcua_engine::store::any::AnyStore;
use motcua_engine::Engine;
use serde_json::json;

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
        let report = engine.run_all_due_jobs(id).await?;
        let runs = engine.run_due_schedules(id).await?;
        if json_out {
            print_json(&json!({
                "timersFired": report.timers_fired,
                "instancesStarted": report.instances_started,
                "handled": report.handled,
                "failed": report.failed,
                "skipped": report.skipped,
                "schedulesRun": runs.len(),
            }));
        } else if report.done() + report.failed + runs.len() > 0 || once {
            say!(
                "{id}: {} timer(s) fired, {} instance(s) started by timers, {} job(s) failed, {} schedule run(s)",
                report.timers_fired,
                report.instances_started,
                report.failed,
                runs.len()
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
