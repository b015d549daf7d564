//! The event feed: `GET /events?after=N&limit=` (a JSON page, oldest first, with the `next`
//! cursor) and `GET /events/stream` (Server-Sent Events, resumable with `Last-Event-ID`).
//!
//! Both read [`motcua_engine::Engine::events_after`], whose numbers reach readers in commit
//! order without gaps, so "everything after the last number I saw" is always exact: a client
//! that resumes after a disconnect gets every event once. The stream polls the engine every
//! [`POLL`] while it has nothing to send and sends a keep-alive comment every [`KEEP_ALIVE`].
//! Filters: `agency`, `procedure` (definition key) and `kinds` (comma-separated).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream};
use motcua_engine::{EventFilter, FeedEvent};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Query};
use super::openapi::{EventPageDto, Problem};
use super::state::AppState;

/// How often an idle stream asks the engine for new events.
pub const POLL: Duration = Duration::from_millis(200);
/// How often an idle stream sends a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A page's default size.
const DEFAULT_LIMIT: u32 = 100;
/// How many events the stream reads from the engine at a time.
const STREAM_PAGE: u32 = 200;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list))
        .route("/events/stream", get(stream_events))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FeedParams {
    /// Events after this feed number (default 0: from the beginning).
    after: Option<i64>,
    /// At most this many events (default 100).
    limit: Option<u32>,
    /// Only events of this agency.
    agency: Option<String>,
    /// Only events of this process (definition key).
    procedure: Option<String>,
    /// Only these event kinds, comma-separated.
    kinds: Option<String>,
}

impl FeedParams {
    fn filter(&self) -> EventFilter {
        EventFilter {
            agency: self.agency.clone(),
            definition_key: self.procedure.clone(),
            kinds: self.kinds.as_ref().map(|k| {
                k.split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
        }
    }
}

fn check_after(after: i64) -> ApiResult<i64> {
    if after < 0 {
        return Err(ApiError::Invalid(
            "'after' must be 0 or a feed event number".into(),
        ));
    }
    Ok(after)
}

/// The JSON of a feed event.
pub fn feed_event_json(e: &FeedEvent) -> Value {
    json!({
        "seq": e.seq,
        "instance": e.instance,
        "definitionKey": e.definition_key,
        "agency": e.agency,
        "kind": e.kind,
        "at": e.at,
        "actor": e.actor,
        "event": e.event,
    })
}

#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    operation_id = "listEvents",
    params(
        FeedParams,
    ),
    responses(
        (status = 200, description = "A page of events after `after`, oldest first", body = EventPageDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<FeedParams>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadEvents)?;
    let after = check_after(params.after.unwrap_or(0))?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > motcua_engine::feed::FEED_LIMIT_MAX {
        return Err(ApiError::Invalid(format!(
            "'limit' must be between 1 and {}",
            motcua_engine::feed::FEED_LIMIT_MAX
        )));
    }
    let events = state
        .engine
        .events_after(after, limit, &params.filter())
        .await?;
    let next = events.last().map_or(after, |e| e.seq);
    Ok(axum::Json(json!({
        "events": events.iter().map(feed_event_json).collect::<Vec<_>>(),
        "next": next,
    })))
}

/// Where a stream starts: after the `Last-Event-ID` header (a reconnecting client), else after
/// `?after=`, else from the beginning.
fn stream_start(headers: &HeaderMap, params: &FeedParams) -> ApiResult<i64> {
    if let Some(value) = headers.get("last-event-id") {
        let text = value
            .to_str()
            .map_err(|_| ApiError::Invalid("Last-Event-ID is not text".into()))?;
        let after = text.trim().parse::<i64>().map_err(|_| {
            ApiError::Invalid(format!("Last-Event-ID '{text}' is not a feed event number"))
        })?;
        return check_after(after);
    }
    check_after(params.after.unwrap_or(0))
}

struct Cursor {
    state: AppState,
    filter: EventFilter,
    after: i64,
    ready: VecDeque<FeedEvent>,
}

#[utoipa::path(
    get,
    path = "/events/stream",
    tag = "events",
    operation_id = "streamEvents",
    params(
        FeedParams,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event number (sent by a reconnecting EventSource); wins over `after`"),
    ),
    responses(
        (status = 200, description = "Server-Sent Events: `id` is the feed number, `event` the kind, `data` a FeedEventDto as JSON", body = String, content_type = "text/event-stream"),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn stream_events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Query<FeedParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Action::ReadEvents)?;
    let after = stream_start(&headers, &params)?;
    let cursor = Cursor {
        state,
        filter: params.filter(),
        after,
        ready: VecDeque::new(),
    };
    Ok(Sse::new(events(cursor)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// The endless stream of a cursor: each event once, in feed order. A failed read is logged and
/// tried again (the client's cursor stays exact either way).
fn events(cursor: Cursor) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    stream::unfold(cursor, |mut cursor| async move {
        loop {
            if let Some(e) = cursor.ready.pop_front() {
                cursor.after = e.seq;
                let event = SseEvent::default()
                    .id(e.seq.to_string())
                    .event(e.kind.clone())
                    .data(feed_event_json(&e).to_string());
                return Some((Ok(event), cursor));
            }
            match cursor
                .state
                .engine
                .events_after(cursor.after, STREAM_PAGE, &cursor.filter)
                .await
            {
                Ok(page) if !page.is_empty() => cursor.ready.extend(page),
                Ok(_) => tokio::time::sleep(POLL).await,
                Err(e) => {
                    tracing::warn!(error = %e, "event stream: reading the feed failed");
                    tokio::time::sleep(POLL * 5).await;
                }
            }
        }
    })
}
