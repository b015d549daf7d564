//! Messages: `POST /messages` correlates a message by name and correlation key — to the oldest
//! waiting catcher, else a message start event, else the buffer for its time to live (see
//! `motcua_engine::messages`).
//!
//! Role: the same as starting an instance (`Action::StartInstance`), since a message may start
//! one; with tokens on, the message is correlated across agencies (a message names no agency).

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use motcua_engine::{CorrelateMessage, Correlation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Json};
use super::openapi::Problem;
use super::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/messages", post(correlate))
}

/// A message to correlate.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MessageRequest {
    /// The message name (the `name` of a `bpmn:message`).
    name: String,
    /// The correlation key, if the catcher has one.
    correlation_key: Option<String>,
    /// The payload, set as variables of the instance that takes it.
    #[serde(default)]
    variables: Map<String, Value>,
    /// How long it waits for a catcher when none waits: an ISO 8601 duration (default `PT1H`;
    /// `PT0S`: not kept).
    ttl: Option<String>,
    /// A unique id: a message whose id was seen already is not applied again.
    message_id: Option<String>,
}

/// What became of a message.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CorrelationDto {
    /// `correlated`, `started`, `buffered`, `dropped` or `duplicate`.
    result: &'static str,
    /// The message id.
    message_id: String,
    /// The instance that took it (`correlated`) or that it started (`started`).
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<String>,
    /// Until when it is kept (`buffered`).
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

/// The JSON of a correlation (HTTP and `motcua message send --json`).
pub fn correlation_json(c: &Correlation) -> Value {
    let dto = match c {
        Correlation::Correlated {
            message_id,
            instance,
        } => CorrelationDto {
            result: "correlated",
            message_id: message_id.clone(),
            instance: Some(instance.to_string()),
            expires_at: None,
        },
        Correlation::Started {
            message_id,
            instance,
        } => CorrelationDto {
            result: "started",
            message_id: message_id.clone(),
            instance: Some(instance.to_string()),
            expires_at: None,
        },
        Correlation::Buffered {
            message_id,
            expires_at,
        } => CorrelationDto {
            result: "buffered",
            message_id: message_id.clone(),
            instance: None,
            expires_at: Some(*expires_at),
        },
        Correlation::Dropped { message_id } => CorrelationDto {
            result: "dropped",
            message_id: message_id.clone(),
            instance: None,
            expires_at: None,
        },
        Correlation::Duplicate { message_id } => CorrelationDto {
            result: "duplicate",
            message_id: message_id.clone(),
            instance: None,
            expires_at: None,
        },
    };
    serde_json::to_value(dto).unwrap_or(Value::Null)
}

/// Reads a time to live: an ISO 8601 duration such as `PT1H` (`PT0S`: not kept).
pub fn parse_ttl(text: &str, now: DateTime<Utc>) -> Result<chrono::Duration, String> {
    let d = motcua_definitions::IsoDuration::parse(text.trim()).map_err(|e| {
        format!(
            "ttl `{text}` is not an ISO 8601 duration such as PT1H: {}",
            e.0
        )
    })?;
    d.add_to(now)
        .map(|t| t - now)
        .ok_or_else(|| format!("ttl `{text}` is too long"))
}

#[utoipa::path(
    post,
    path = "/messages",
    tag = "messages",
    operation_id = "correlateMessage",
    params(
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = MessageRequest,
    responses(
        (status = 200, description = "Correlated to the oldest waiting catcher, started an instance, buffered, dropped (ttl zero and nobody waits) or a duplicate of a message id already seen", body = CorrelationDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, no name, a bad ttl)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the catchers kept changing; send it again (with the same message id)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`rejected`: the message does not fit the process it reached; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn correlate(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<MessageRequest>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::StartInstance)?;
    let ttl = match body.ttl.as_deref() {
        Some(t) => Some(parse_ttl(t, state.engine.now()).map_err(ApiError::Invalid)?),
        None => None,
    };
    let request = CorrelateMessage {
        name: body.name,
        correlation_key: body.correlation_key,
        variables: body.variables,
        ttl,
        message_id: body.message_id,
    };
    let result = state
        .engine
        .correlate_message(request, caller.options())
        .await?;
    Ok(axum::Json(correlation_json(&result)))
}
