//! Extractors whose every rejection is an [`ApiError`] (problem+json), never axum's plain text:
//! JSON bodies, optional JSON bodies, query strings, ids in the path, and the caller (acting
//! user, their token's role and scope, and the idempotency key).

use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use motcua_engine::ids::IdError;
use motcua_engine::store::TaskRow;
use motcua_engine::{CommandOptions, TaskQuery};
use serde::de::DeserializeOwned;

use super::auth::{Action, Principal};
use super::error::ApiError;

/// The header naming the acting user in open development mode (ignored when tokens are on).
pub const USER_HEADER: &str = "x-motcua-user";

/// The header carrying a state-changing request's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// A JSON body (`Content-Type: application/json`), required.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Json(value))
    }
}

/// A JSON body that may be left out: an empty body reads as `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(OptionalJson(value))
    }
}

/// A query string.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

/// Parses an id from the path or the body (`TaskId`, `InstanceId`, `JobId`): a bad one is a 400
/// that shows the expected form.
pub fn id<T: FromStr<Err = IdError>>(text: &str) -> Result<T, ApiError> {
    T::from_str(text).map_err(|e| ApiError::Invalid(e.to_string()))
}

/// Who sends a request and under which idempotency key. With tokens on, the user is the
/// token's `sub` and `principal` holds its role and scope; in open development mode the user
/// comes from the `X-Motcua-User` header and everything is allowed.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The acting user, recorded in the journal.
    pub user: Option<String>,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The verified token's caller; `None` in open development mode.
    pub principal: Option<Arc<Principal>>,
}

impl Caller {
    /// The engine's options for a command sent by this caller.
    pub fn options(&self) -> CommandOptions {
        CommandOptions {
            actor: self.user.clone(),
            idempotency_key: self.idempotency_key.clone(),
        }
    }

    /// A 403 unless the caller's role may do `action`.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        match &self.principal {
            Some(p) => p.require(action),
            None => Ok(()),
        }
    }

    /// Narrows a task query to the rows the caller may read.
    pub fn task_scope(&self, query: &mut TaskQuery) {
        if let Some(p) = &self.principal {
            p.task_scope(query);
        }
    }

    /// Whether the caller may read `task`.
    pub fn sees_task(&self, task: &TaskRow) -> bool {
        self.principal.as_ref().is_none_or(|p| p.sees_task(task))
    }

    /// Whether the caller may claim, unclaim or complete `task`.
    pub fn works_task(&self, task: &TaskRow) -> bool {
        self.principal.as_ref().is_none_or(|p| p.works_task(task))
    }

    /// Whether the caller may read instances of a process owned by `agency`.
    pub fn sees_agency(&self, agency: Option<&str>) -> bool {
        self.principal
            .as_ref()
            .is_none_or(|p| p.sees_agency(agency))
    }

    /// Whether the caller may act in `agency` (leaders: only their own; others: as the role
    /// table says).
    pub fn acts_in_agency(&self, agency: Option<&str>) -> bool {
        match &self.principal {
            Some(p) if p.role == super::auth::Role::Leader => {
                agency.is_some() && agency == p.agency.as_deref()
            }
            _ => true,
        }
    }
}

/// A header as text (UTF-8 allowed, for Vietnamese names), trimmed; empty means absent.
fn header_text(headers: &HeaderMap, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let text = std::str::from_utf8(value.as_bytes())
        .map_err(|_| ApiError::Invalid(format!("the {name} header is not UTF-8 text")))?
        .trim();
    if text.len() > 200 {
        return Err(ApiError::Invalid(format!(
            "the {name} header is longer than 200 bytes"
        )));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let idempotency_key = header_text(&parts.headers, IDEMPOTENCY_HEADER)?;
        if let Some(principal) = parts.extensions.get::<Arc<Principal>>() {
            // Keys are per user, so nobody replays another user's key to read their answer.
            return Ok(Caller {
                user: Some(principal.user.clone()),
                idempotency_key: idempotency_key.map(|k| format!("{}/{k}", principal.user)),
                principal: Some(principal.clone()),
            });
        }
        Ok(Caller {
            user: header_text(&parts.headers, USER_HEADER)?,
            idempotency_key,
            principal: None,
        })
    }
}
