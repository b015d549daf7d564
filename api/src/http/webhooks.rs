//! Outbound webhook subscriptions: `POST /webhooks` (subscribe), `GET /webhooks` (list, with
//! each subscription's delivery state) and `DELETE /webhooks/{id}` (unsubscribe). Admins and
//! integrators only ([`Action::ManageWebhooks`]).
//!
//! Delivery itself runs beside the job executor (`crate::webhook_delivery`): every feed event
//! the subscription's filter lets through is POSTed to its URL, in feed order, signed with
//! `X-Motcua-Signature: sha256=<hex HMAC-SHA256 of the body>`, and retried with back-off until
//! the receiver answers 2xx. The secret is never shown again after the subscription is made.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::Router;
use motcua_engine::{NewWebhook, WebhookRow};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Json, Path};
use super::openapi::Problem;
use super::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(subscribe))
        .route("/webhooks/{id}", delete(unsubscribe))
}

/// A new subscription.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubscribeRequest {
    /// Where to POST events: a plain-HTTP URL (no TLS yet).
    url: String,
    /// The HMAC-SHA256 key of `X-Motcua-Signature` (at least 16 characters; never shown again).
    secret: String,
    /// Only these event kinds (leave out for all).
    kinds: Option<Vec<String>>,
    /// Only events of this agency's instances.
    agency: Option<String>,
    /// Deliver the events numbered above this (0: the whole feed); leave out for "from now".
    after: Option<i64>,
}

/// A subscription and its delivery state, as `webhook_json` writes it (document only).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDto {
    /// The subscription's id.
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// Only these event kinds (`null`: all).
    pub kinds: Option<Vec<String>>,
    /// Only this agency's events.
    pub agency: Option<String>,
    /// When it was made.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The last feed number the receiver acknowledged.
    pub cursor: i64,
    /// Whether the last attempt failed (retries continue with back-off).
    pub failing: bool,
    /// Failed attempts in a row.
    pub attempts: u32,
    /// When delivery is tried next.
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    /// The last failure, while failing.
    pub last_error: Option<String>,
}

/// `GET /webhooks` (document only).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookListDto {
    /// The active subscriptions, oldest first.
    pub webhooks: Vec<WebhookDto>,
}

/// The JSON of a subscription (without its secret).
pub fn webhook_json(w: &WebhookRow) -> Value {
    json!({
        "id": w.id,
        "url": w.url,
        "kinds": w.kinds,
        "agency": w.agency,
        "createdAt": w.created_at,
        "cursor": w.cursor,
        "failing": w.attempts > 0,
        "attempts": w.attempts,
        "nextAttemptAt": w.next_attempt_at,
        "lastError": w.last_error,
    })
}

#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    operation_id = "subscribeWebhook",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the same subscription"),
    ),
    request_body = SubscribeRequest,
    responses(
        (status = 201, description = "Subscribed: events after the cursor will be POSTed, signed", body = WebhookDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad URL or secret)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this (admins and integrators only)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the subscription made with this idempotency key was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<SubscribeRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    caller.require(Action::ManageWebhooks)?;
    if body.kinds.as_ref().is_some_and(|k| k.is_empty()) {
        return Err(ApiError::Invalid(
            "'kinds' must name at least one event kind (leave it out for all)".into(),
        ));
    }
    let row = state
        .engine
        .subscribe_webhook(NewWebhook {
            url: body.url,
            secret: body.secret,
            kinds: body.kinds,
            agency: body.agency,
            after: body.after,
            idempotency_key: caller.idempotency_key.clone(),
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(webhook_json(&row))))
}

#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    operation_id = "listWebhooks",
    responses(
        (status = 200, description = "The active subscriptions with their delivery state (secrets are not shown)", body = WebhookListDto),
        (status = 400, description = "`invalid`: the request is malformed (a bad header or id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this (admins and integrators only)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ManageWebhooks)?;
    let rows = state.engine.webhooks().await?;
    Ok(axum::Json(json!({
        "webhooks": rows.iter().map(webhook_json).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    operation_id = "unsubscribeWebhook",
    params(("id" = String, Path, description = "The subscription's id")),
    responses(
        (status = 204, description = "Unsubscribed: nothing more is posted"),
        (status = 400, description = "`invalid`: the request is malformed (a bad header or id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this (admins and integrators only)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such subscription", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn unsubscribe(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Action::ManageWebhooks)?;
    if state.engine.unsubscribe_webhook(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("there is no webhook '{id}'")))
    }
}
