//! `GET /statistics?from=&to=&agency=&procedure=`: the IOC's figures per agency and procedure
//! for a period (received, in progress, done on time / early / late, overdue, on-time rate).
//! `from` and `to` are RFC 3339 instants or dates (`2026-11-01`, midnight in Vietnam, UTC+7);
//! by default the last 30 days up to now.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use motcua_engine::{Stats, StatsFilter, StatsRow};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Query};
use super::openapi::{Problem, StatsDto};
use super::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/statistics", get(statistics))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StatsParams {
    /// The period's start: RFC 3339, or a date (midnight in Vietnam). Default: 30 days before `to`.
    from: Option<String>,
    /// The period's end: RFC 3339, or a date. Default: now.
    to: Option<String>,
    /// Only this agency.
    agency: Option<String>,
    /// Only this procedure (definition key).
    procedure: Option<String>,
}

/// An RFC 3339 instant, or a date taken as midnight in Vietnam.
pub fn parse_instant(name: &str, text: &str) -> ApiResult<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let vietnam = FixedOffset::east_opt(7 * 3600).ok_or(ApiError::Internal)?;
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) => d
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(vietnam).single())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| ApiError::Invalid(format!("'{name}' is not a valid date"))),
        Err(_) => Err(ApiError::Invalid(format!(
            "'{name}' must be an RFC 3339 time (2026-11-24T08:00:00+07:00) or a date \
             (2026-11-24), not '{text}'"
        ))),
    }
}

/// The period a request names (by default the last 30 days up to now).
pub fn filter_of(
    now: DateTime<Utc>,
    from: Option<&str>,
    to: Option<&str>,
    agency: Option<String>,
    procedure: Option<String>,
) -> ApiResult<StatsFilter> {
    let to = match to {
        Some(t) => parse_instant("to", t)?,
        None => now,
    };
    let from = match from {
        Some(f) => parse_instant("from", f)?,
        None => to - Duration::days(30),
    };
    if to <= from {
        return Err(ApiError::Invalid("'to' must be after 'from'".into()));
    }
    Ok(StatsFilter {
        from,
        to,
        agency,
        definition_key: procedure,
    })
}

/// The JSON of one statistics row.
pub fn row_json(r: &StatsRow) -> Value {
    json!({
        "agency": r.agency,
        "procedure": r.definition_key,
        "received": r.received,
        "inProgress": r.in_progress,
        "doneOnTime": r.done_on_time,
        "doneEarly": r.done_early,
        "doneLate": r.done_late,
        "overdue": r.overdue,
        "onTimeRate": r.on_time_rate(),
    })
}

/// The JSON of a statistics answer.
pub fn stats_json(s: &Stats) -> Value {
    json!({
        "from": s.from,
        "to": s.to,
        "at": s.at,
        "total": row_json(&s.total),
        "byAgency": s.agencies.iter().map(row_json).collect::<Vec<_>>(),
        "byProcedure": s.rows.iter().map(row_json).collect::<Vec<_>>(),
    })
}

#[utoipa::path(
    get,
    path = "/statistics",
    tag = "statistics",
    operation_id = "statistics",
    params(
        StatsParams,
    ),
    responses(
        (status = 200, description = "The figures for the period", body = StatsDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn statistics(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<StatsParams>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadStatistics)?;
    let filter = filter_of(
        state.engine.now(),
        params.from.as_deref(),
        params.to.as_deref(),
        params.agency,
        params.procedure,
    )?;
    let stats = state.engine.statistics(&filter).await?;
    Ok(axum::Json(stats_json(&stats)))
}
