//! Liên thông between engines over HTTP: `POST /exchange/messages` receives a signed message
//! from a peer engine (no bearer token: the sending agency's signature, pinned to the peer's
//! configured certificate, is the authentication), `POST /dossiers/{code}/exchange` hands a
//! dossier to a peer engine, and `GET /dossiers/{code}/exchange` shows what was sent and
//! received for it, with each message's delivery state.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use motcua_engine::exchange::engine::MAX_MESSAGE_BYTES;
use motcua_engine::exchange::OutboxRow;
use serde::Deserialize;
use serde_json::{json, Value};

use super::dossiers::{changeable_dossier, visible_dossier};
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Json, Path};
use super::openapi::{ExchangeAckDto, ExchangeDto, ExchangeMessageDto, Problem};
use super::state::AppState;
use crate::exchange_delivery::SIGNATURE_HEADER;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/exchange/messages",
            post(receive).layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES)),
        )
        .route("/dossiers/{code}/exchange", get(list).post(send))
}

/// A dossier handed to a peer engine.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The receiving agency: one served by a configured peer engine (`--peers`).
    pub to: String,
    /// Why it is transferred.
    pub reason: String,
}

/// An outbox row as JSON (the body and signature are the peer's business, not shown).
pub fn message_json(m: &OutboxRow) -> Value {
    json!({
        "id": m.id,
        "peer": m.peer,
        "kind": m.kind,
        "dossier_code": m.dossier_code,
        "created_at": m.created_at,
        "attempts": m.attempts,
        "next_attempt_at": m.next_attempt_at,
        "delivered_at": m.delivered_at,
        "last_error": m.last_error,
    })
}

/// Receives a message from a peer engine and applies it once.
#[utoipa::path(
    post,
    path = "/exchange/messages",
    tag = "exchange",
    operation_id = "receiveExchangeMessage",
    params(
        ("X-Motcua-Signature" = String, Header, description = "Standard base64 of the sending agency's detached CMS signature (DER) over the exact body bytes"),
    ),
    request_body(content = Object, content_type = "application/json", description = "The envelope: format `motcua-exchange/1`, id, kind (`dossier.transfer` or `dossier.status`), from, to, sent_at, payload"),
    responses(
        (status = 200, description = "Applied, now or before (`duplicate`)", body = ExchangeAckDto),
        (status = 400, description = "`invalid`: not an envelope, a bad payload, a missing or malformed signature header, a document not matching its SHA-256", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: a status for a dossier never transferred to that peer, or a procedure not deployed here", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: a concurrent change; the sender retries", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`signature-invalid` (with the validation `report`), or `rejected`: not a configured peer, signed by another certificate than the peer's, or no exchange configured here", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<Value>> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::Invalid(format!(
                "the {SIGNATURE_HEADER} header (base64 of a detached CMS over the body) is missing"
            ))
        })?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|e| ApiError::Invalid(format!("the {SIGNATURE_HEADER} header: {e}")))?;
    let ack = state.engine.receive_exchange(&body, &signature).await?;
    Ok(axum::Json(json!(ack)))
}

/// Hands the dossier to the peer engine serving `to`: it becomes `transferred` and the signed
/// message is queued in the same transaction, then delivered (retried until acknowledged).
#[utoipa::path(
    post,
    path = "/dossiers/{code}/exchange",
    tag = "exchange",
    operation_id = "sendDossierToPeer",
    params(
        ("code" = String, Path, description = "The dossier code"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = SendRequest,
    responses(
        (status = 201, description = "Queued", body = ExchangeMessageDto),
        (status = 400, description = "`invalid`: malformed, no reason, an agency that is not a configured peer, or no signing configuration", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, or the dossier is another agency's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the dossier's state does not allow a transfer, or another command changed it first", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`rejected`: the dossier's agency has no signing key configured", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn send(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Json(body): Json<SendRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    changeable_dossier(&state, &caller, &code).await?;
    let message = state
        .engine
        .send_dossier_to_peer(&code, &body.to, &body.reason, caller.options())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(message_json(&message))))
}

#[utoipa::path(
    get,
    path = "/dossiers/{code}/exchange",
    tag = "exchange",
    operation_id = "getDossierExchange",
    params(("code" = String, Path, description = "The dossier code")),
    responses(
        (status = 200, description = "Messages sent and received for the dossier, and the delivery state of those sent", body = ExchangeDto),
        (status = 400, description = "`invalid`: a malformed request header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    visible_dossier(&state, &caller, &code).await?;
    let (links, outbox) = state.engine.dossier_exchange(&code).await?;
    Ok(axum::Json(json!({
        "links": links,
        "outbox": outbox.iter().map(message_json).collect::<Vec<_>>(),
    })))
}
