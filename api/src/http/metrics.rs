//! `GET /metrics`: Prometheus text (format 0.0.4) for operators and the IOC.
//!
//! - HTTP: `motcua_http_requests_total{route,method,status}` and the latency histogram
//!   `motcua_http_request_duration_seconds{route}`, counted by the [`track`] middleware (the
//!   route is axum's matched path, e.g. `/tasks/{id}`, so ids do not explode the label set);
//! - engine: `motcua_commands_total`, `motcua_command_conflicts_total`,
//!   `motcua_jobs_fired_total` (this process since it started) and `motcua_incidents_open`;
//! - procedures: `motcua_instances{agency,procedure,status}` with status `active` and
//!   `overdue` (now), and for the last 30 days `motcua_instances_done{agency,procedure,result}`
//!   (`on_time`, `early`, `late`) and `motcua_on_time_ratio{agency,procedure}`.
//!
//! The registry is hand-written (a few counters and one histogram behind a mutex) rather than
//! the `prometheus` or `metrics` crates: it is ~150 lines, adds no dependency, and the engine's
//! gauges are read from the database at scrape time anyway.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Duration;
use motcua_engine::StatsFilter;

use super::error::ApiResult;
use super::openapi::Problem;
use super::state::AppState;

/// The latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Registry::default()))
}

/// Middleware: counts every request by route, method and status, and its latency (until the
/// response head; a stream's body is not timed).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    if let Ok(mut r) = registry().lock() {
        *r.requests
            .entry((route.clone(), method, response.status().as_u16()))
            .or_default() += 1;
        let h = r.latency.entry(route).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.buckets[i] += 1;
            }
        }
    }
    response
}

/// A label value, escaped as the text format wants.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn http_metrics(out: &mut String) {
    let Ok(r) = registry().lock() else {
        return;
    };
    out.push_str("# HELP motcua_http_requests_total HTTP requests by route, method and status.\n");
    out.push_str("# TYPE motcua_http_requests_total counter\n");
    for ((route, method, status), n) in &r.requests {
        let _ = writeln!(
            out,
            "motcua_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
            label(route),
            label(method)
        );
    }
    out.push_str("# HELP motcua_http_request_duration_seconds HTTP request latency by route.\n");
    out.push_str("# TYPE motcua_http_request_duration_seconds histogram\n");
    for (route, h) in &r.latency {
        let route = label(route);
        for (le, n) in BUCKETS.iter().zip(h.buckets) {
            let _ = writeln!(
                out,
                "motcua_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "motcua_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "motcua_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "motcua_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
            h.count
        );
    }
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn metrics(State(state): State<AppState>) -> ApiResult<Response> {
    let engine = &state.engine;
    let mut out = String::new();
    http_metrics(&mut out);

    let c = engine.counters();
    metric(
        &mut out,
        "motcua_commands_total",
        "counter",
        "Commands committed by this process.",
    );
    let _ = writeln!(out, "motcua_commands_total {}", c.commands);
    metric(
        &mut out,
        "motcua_command_conflicts_total",
        "counter",
        "Commands refused for a concurrent change.",
    );
    let _ = writeln!(out, "motcua_command_conflicts_total {}", c.conflicts);
    metric(
        &mut out,
        "motcua_jobs_fired_total",
        "counter",
        "Jobs run by this process's executor (timers, timer starts, handlers).",
    );
    let _ = writeln!(out, "motcua_jobs_fired_total {}", c.jobs_fired);
    let incidents = engine.incidents().await?.len();
    metric(
        &mut out,
        "motcua_incidents_open",
        "gauge",
        "Open incidents.",
    );
    let _ = writeln!(out, "motcua_incidents_open {incidents}");

    let now = engine.now();
    let stats = engine
        .statistics(&StatsFilter {
            from: now - Duration::days(30),
            to: now,
            agency: None,
            definition_key: None,
        })
        .await?;
    let labels = |r: &motcua_engine::StatsRow| {
        format!(
            "agency=\"{}\",procedure=\"{}\"",
            label(r.agency.as_deref().unwrap_or("")),
            label(r.definition_key.as_deref().unwrap_or(""))
        )
    };
    metric(
        &mut out,
        "motcua_instances",
        "gauge",
        "Instances now, by agency, procedure and status (active; overdue: active past due).",
    );
    for r in &stats.rows {
        let l = labels(r);
        let _ = writeln!(
            out,
            "motcua_instances{{{l},status=\"active\"}} {}",
            r.in_progress
        );
        let _ = writeln!(
            out,
            "motcua_instances{{{l},status=\"overdue\"}} {}",
            r.overdue
        );
    }
    metric(
        &mut out,
        "motcua_instances_done",
        "gauge",
        "Instances completed in the last 30 days, by result (early is part of on_time).",
    );
    for r in &stats.rows {
        let l = labels(r);
        for (result, n) in [
            ("on_time", r.done_on_time),
            ("early", r.done_early),
            ("late", r.done_late),
        ] {
            let _ = writeln!(out, "motcua_instances_done{{{l},result=\"{result}\"}} {n}");
        }
    }
    metric(
        &mut out,
        "motcua_instances_received",
        "gauge",
        "Instances started in the last 30 days.",
    );
    for r in &stats.rows {
        let _ = writeln!(
            out,
            "motcua_instances_received{{{}}} {}",
            labels(r),
            r.received
        );
    }
    metric(
        &mut out,
        "motcua_on_time_ratio",
        "gauge",
        "On time / (on time + late) over the last 30 days.",
    );
    for r in &stats.rows {
        if let Some(rate) = r.on_time_rate() {
            let _ = writeln!(out, "motcua_on_time_ratio{{{}}} {rate}", labels(r));
        }
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
