//! Output for people (tables, Vietnamese labels, times in Asia/Ho_Chi_Minh) and for scripts
//! (JSON). Engine types are converted here by hand: serialisation happens at the edge. The HTTP
//! API answers with the same JSON as `--json`.

use chrono::{DateTime, FixedOffset, Utc};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use motcua_engine::store::{DefinitionRecord, IncidentRow, JournalEntry, TaskRow};
use motcua_engine::{FetchedJob, InstanceState, Outcome};
use serde_json::{json, Value};

/// Prints a line to standard output. A closed pipe (`motcua history ID | head`) ends the
/// program quietly instead of panicking as `println!` would.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Writes one line to standard output (see [`say!`]).
pub fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("lỗi / error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Vietnam's offset: UTC+7 all year (no daylight saving).
pub fn local(t: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(7 * 3600) {
        Some(offset) => t
            .with_timezone(&offset)
            .format("%d/%m/%Y %H:%M:%S")
            .to_string(),
        None => t.format("%d/%m/%Y %H:%M:%S UTC").to_string(),
    }
}

/// A table with motcua's style.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header.iter().copied());
    t
}

/// Prints JSON, pretty.
pub fn print_json(v: &Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// The JSON of a definition version (CLI `--json` and HTTP).
pub fn definition_json(d: &DefinitionRecord) -> Value {
    json!({
        "key": d.key,
        "version": d.version,
        "name": d.name,
        "resource": d.resource,
        "checksum": d.checksum,
        "deployment": d.deployment,
        "deployedAt": d.deployed_at,
    })
}

/// The JSON of a task.
pub fn task_json(t: &TaskRow) -> Value {
    let r = &t.record;
    json!({
        "id": r.id,
        "instance": r.instance,
        "definitionKey": r.definition_key,
        "node": r.node,
        "name": r.name,
        "assignee": r.assignee,
        "candidateGroups": r.candidate_groups,
        "candidateUsers": r.candidate_users,
        "agency": r.agency,
        "formKey": r.form_key,
        "state": t.state,
        "createdAt": r.created_at,
        "closedAt": t.closed_at,
        "dueAt": r.due_at,
        "dueSoon": t.due_soon,
        "overdue": t.overdue,
    })
}

/// The JSON of a command's answer.
pub fn outcome_json(o: &Outcome) -> Value {
    json!({
        "instance": o.instance,
        "status": o.status.as_str(),
        "version": o.version,
        "tasks": o.tasks,
        "jobs": o.jobs,
    })
}

/// The JSON of an instance's state.
pub fn instance_json(s: &InstanceState) -> Value {
    json!({
        "id": s.id,
        "definitionKey": s.definition.key,
        "definitionVersion": s.definition.version,
        "businessKey": s.business_key,
        "status": s.status.as_str(),
        "version": s.version,
        "startedAt": s.started_at,
        "endedAt": s.ended_at,
        "variables": s.variables,
        "tokens": s.tokens,
    })
}

/// The JSON of a journal entry.
pub fn journal_json(e: &JournalEntry) -> Value {
    json!({
        "seq": e.seq,
        "kind": e.kind,
        "actor": e.actor,
        "at": e.at,
        "event": e.event,
    })
}

/// The JSON of a job fetched by an external worker.
pub fn fetched_job_json(j: &FetchedJob) -> Value {
    json!({
        "id": j.job.id,
        "instance": j.job.instance,
        "node": j.job.node,
        "topic": j.job.topic,
        "retries": j.job.retries,
        "lockExpiresAt": j.lock_expires_at,
        "variables": j.variables,
    })
}

/// The JSON of an incident.
pub fn incident_json(i: &IncidentRow) -> Value {
    json!({
        "job": i.job,
        "instance": i.instance,
        "node": i.node,
        "message": i.message,
        "createdAt": i.created_at,
    })
}

/// A status in Vietnamese.
pub fn status_vi(status: &str) -> &'static str {
    match status {
        "active" => "đang xử lý",
        "completed" => "hoàn thành",
        "cancelled" => "đã hủy",
        "open" => "đang chờ",
        _ => "khác",
    }
}
