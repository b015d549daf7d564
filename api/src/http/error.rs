//! [`ApiError`]: the one error type of the HTTP API. It alone picks the HTTP status, and it
//! answers in RFC 9457 `application/problem+json` with a stable `code` clients match on:
//!
//! | code | status | when |
//! | --- | --- | --- |
//! | `invalid` | 400 | the request itself is wrong: JSON that does not parse or fit, a bad id, a bad query |
//! | `unauthorized` | 401 | tokens are required and the bearer token is missing, malformed, badly signed or expired (with `WWW-Authenticate: Bearer`) |
//! | `forbidden` | 403 | the token's role may not do this |
//! | `not-found` | 404 | no such task, instance, definition, job or route |
//! | `method-not-allowed` | 405 | the route exists, not with this method |
//! | `conflict` | 409 | another command got there first, or the thing no longer accepts this one |
//! | `rejected` | 422 | the command does not fit the process (e.g. no gateway flow matches) |
//! | `deploy-refused` | 422 | a BPMN file was refused: `errors` lists each problem with its position |
//! | `form-invalid` | 422 | data refused by its form: `errors` lists each failing field |
//! | `signature-invalid` | 422 | a signature is not valid for its document: `report` is the validation report |
//! | `internal` | 500 | a database failure or a bug: the details go to the log, never to the client |

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use motcua_definitions::Diagnostics;
use motcua_engine::{EngineError, StoreError};
use serde_json::{json, Value};

/// Everything an HTTP request can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// The request is malformed: bad JSON, a bad id, a bad query parameter.
    Invalid(String),
    /// Tokens are required and this request has no valid one.
    Unauthorized(String),
    /// The caller's role may not do this.
    Forbidden(String),
    /// Nothing with that id exists (or the caller may not know that it does).
    NotFound(String),
    /// The route exists, but not with this method.
    MethodNotAllowed,
    /// Another command changed the thing first, or it no longer accepts this command.
    Conflict(String),
    /// The command does not fit the process; nothing was changed.
    Rejected(String),
    /// A deployment was refused; every diagnostic is inside.
    DeployRefused(Diagnostics),
    /// Data refused by its form: every failing field with its path, code and message.
    FormInvalid {
        /// The form's id.
        form: String,
        /// Every failing field.
        errors: Vec<motcua_forms::validate::FieldError>,
    },
    /// A signature that is not TOTAL_PASSED; nothing was changed.
    SignatureInvalid {
        /// The validation report.
        report: Box<motcua_signing::SignatureReport>,
    },
    /// A failure that is not the client's: logged when it is made, never shown.
    Internal,
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid", "Invalid request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Rejected(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "rejected",
                "The process rejected the command",
            ),
            ApiError::DeployRefused(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "deploy-refused",
                "Deployment refused",
            ),
            ApiError::FormInvalid { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "form-invalid",
                "The data does not fit the form",
            ),
            ApiError::SignatureInvalid { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "signature-invalid",
                "The signature is not valid",
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Invalid(d)
            | ApiError::Unauthorized(d)
            | ApiError::Forbidden(d)
            | ApiError::NotFound(d)
            | ApiError::Conflict(d)
            | ApiError::Rejected(d) => d.clone(),
            ApiError::MethodNotAllowed => "this resource does not accept this HTTP method".into(),
            ApiError::DeployRefused(d) => match d.0.len() {
                1 => "1 problem was found in the BPMN; nothing was deployed".into(),
                n => format!("{n} problems were found in the BPMN; nothing was deployed"),
            },
            ApiError::FormInvalid { form, errors } => format!(
                "{} field(s) of form {form} are not valid; nothing was changed",
                errors.len()
            ),
            ApiError::SignatureInvalid { report } => format!(
                "{} {}: {}; nothing was changed",
                report.indication.as_str(),
                report
                    .sub_indication
                    .map(|s| s.as_str())
                    .unwrap_or_default(),
                report.summary_vi
            ),
            ApiError::Internal => {
                "the server failed; the details are in its log (retry with the same \
                 Idempotency-Key to be safe)"
                    .into()
            }
        }
    }

    /// The problem document.
    pub fn body(&self) -> Value {
        let (status, code, title) = self.parts();
        let mut body = json!({
            "type": format!("urn:motcua:problem:{code}"),
            "title": title,
            "status": status.as_u16(),
            "code": code,
            "detail": self.detail(),
        });
        if let ApiError::DeployRefused(d) = self {
            let errors: Vec<Value> =
                d.0.iter()
                    .map(|d| {
                        json!({
                            "file": d.file,
                            "element": d.element,
                            "id": d.element_id,
                            "line": d.position.line,
                            "column": d.position.column,
                            "code": d.kind.code(),
                            "message": d.message,
                        })
                    })
                    .collect();
            body["errors"] = Value::Array(errors);
        }
        if let ApiError::FormInvalid { form, errors } = self {
            body["form"] = json!(form);
            body["errors"] = json!(errors);
        }
        if let ApiError::SignatureInvalid { report } = self {
            body["report"] = json!(report);
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _, _) = self.parts();
        let mut response = (status, self.body().to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"motcua\""),
            );
        }
        response
    }
}

/// Writes a failure that is not the client's to the log, with its whole cause chain.
fn internal(what: &str, error: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    tracing::error!(error = %text, "{what}");
    ApiError::Internal
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            EngineError::Conflict(m) => ApiError::Conflict(m),
            EngineError::Rejected(m) => ApiError::Rejected(m),
            EngineError::Deploy(d) => ApiError::DeployRefused(d),
            EngineError::Invalid(m) => ApiError::Invalid(m),
            EngineError::Form { form, errors } => ApiError::FormInvalid { form, errors },
            EngineError::Signature { report } => ApiError::SignatureInvalid { report },
            // Two requests racing with one idempotency key: the loser's row was refused.
            EngineError::Store(StoreError::Duplicate(what)) => ApiError::Conflict(format!(
                "a concurrent request wrote the same {what} first; retry to read its answer"
            )),
            EngineError::Fatal(_) | EngineError::Store(_) => internal("engine failure", &e),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let detail = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                "send the body as JSON with the header Content-Type: application/json".to_owned()
            }
            JsonRejection::JsonSyntaxError(_) => {
                format!("the body is not valid JSON: {}", cause(&r))
            }
            JsonRejection::JsonDataError(_) => {
                format!("the body does not have the expected fields: {}", cause(&r))
            }
            _ => format!("the body cannot be read: {}", r.body_text()),
        };
        ApiError::Invalid(detail)
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        ApiError::Invalid(format!("the body cannot be read: {}", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::Invalid(format!("bad path: {}", r.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::Invalid(format!("bad query string: {}", cause(&r)))
    }
}

/// The innermost message of a rejection (serde's "missing field `user` at line 1 column 2"),
/// without axum's generic prefix.
fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}
