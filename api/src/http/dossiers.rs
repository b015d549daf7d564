//! Dossiers (hồ sơ) at the one-stop counter: `POST /dossiers` (receive, with documents as base64
//! or reused from the applicant's store), `GET /dossiers/{code}`, its documents (every version,
//! and each version's bytes with `ETag: "<sha256>"`), `POST /dossiers/{code}/documents`
//! (supplement a slot), `POST /dossiers/{code}/transition`, certification of a document into
//! the applicant's store, signatures (`POST /dossiers/{code}/documents/{slot}/signatures` to
//! attach a verified detached CMS, `POST .../{slot}/sign` to sign server-side with the agency's
//! key, `GET /dossiers/{code}/signatures`), `GET /applicants/{kind}/{id}/documents` ("submit
//! paper once"), the
//! printed slips of Circular 01/2018 (forms 01–05 per dossier, `GET /agencies/{agency}/register`
//! for form 06) as HTML.
//!
//! Roles, as for tasks and instances: reading needs `ReadInstance` (a servant reads only the
//! dossiers whose `agency` is their own; another agency's dossier answers 404 exactly like an
//! unknown code), receiving needs `StartInstance` (a servant receives for their own agency
//! only), and changing a dossier (supplement, transition, certify) needs `WorkTasks` (a leader
//! only in their own agency). Every POST honours `Idempotency-Key`.
//!
//! A document whose bytes changed on disk (the blob store checks the SHA-256 on every read) is
//! the engine's `Fatal` error: it answers 500 `internal`, and the server log names the dossier,
//! slot and version with the engine's "tampered" message, for the auditor to act on.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use motcua_engine::slips::SlipForm;
use motcua_engine::{
    Applicant, ApplicantDocument, ApplicantKind, CertifyInput, CertifySlot, DocumentInput,
    DocumentRecord, DossierState, DossierView, EngineError, SignatureRecord, SubmitDossier,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Json, OptionalJson, Path, Query};
use super::openapi::{
    ApplicantDocumentDto, BinaryDto, DocumentDto, DossierDto, DossierStateDto, Problem,
    SignatureDto,
};
use super::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dossiers", post(submit))
        .route("/dossiers/{code}", get(one))
        .route(
            "/dossiers/{code}/documents",
            get(documents).post(supplement),
        )
        .route("/dossiers/{code}/documents/{slot}/{version}", get(content))
        .route(
            "/dossiers/{code}/documents/{slot}/{version}/certify",
            post(certify),
        )
        .route(
            "/dossiers/{code}/documents/{slot}/signatures",
            post(attach_signature),
        )
        .route("/dossiers/{code}/documents/{slot}/sign", post(sign))
        .route("/dossiers/{code}/signatures", get(signatures))
        .route("/dossiers/{code}/transition", post(transition))
        .route("/dossiers/{code}/slips/{form}", get(slip))
        .route(
            "/applicants/{kind}/{id}/documents",
            get(applicant_documents),
        )
        .route("/agencies/{agency}/register", get(register))
}

// --- Requests -----------------------------------------------------------------------------------

/// Who submits the dossier.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantRequest {
    /// `citizen_id` (12-digit CCCD) or `tax_code`.
    #[schema(value_type = super::openapi::ApplicantKindDto)]
    kind: ApplicantKind,
    /// The citizen id or tax code.
    #[schema(example = "001203004567")]
    id: String,
    /// Full name, or the organisation's name.
    #[schema(example = "Nguyễn Văn An")]
    name: String,
    address: Option<String>,
    phone: Option<String>,
    email: Option<String>,
}

impl From<ApplicantRequest> for Applicant {
    fn from(a: ApplicantRequest) -> Self {
        Applicant {
            kind: a.kind,
            id: a.id,
            name: a.name,
            address: a.address,
            phone: a.phone,
            email: a.email,
        }
    }
}

/// A document: new bytes (`name`, `media_type`, `content_base64`) or, with `reuse`, a document
/// of the applicant's store (its id) instead of an upload.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRequest {
    /// The procedure's document slot (e.g. `to-khai`, `giay-chung-sinh`).
    #[schema(example = "to-khai")]
    slot: String,
    /// The file name (uploads).
    #[schema(example = "to-khai.pdf")]
    name: Option<String>,
    /// The MIME type (uploads).
    #[schema(example = "application/pdf")]
    media_type: Option<String>,
    /// The bytes, standard base64 (uploads).
    content_base64: Option<String>,
    /// The id of a certified document of the same applicant, reused instead of an upload.
    reuse: Option<String>,
}

impl DocumentRequest {
    /// The engine's input; `what` names the document in messages (`documents[1]`).
    fn input(self, what: &str) -> ApiResult<DocumentInput> {
        let DocumentRequest {
            slot,
            name,
            media_type,
            content_base64,
            reuse,
        } = self;
        if let Some(id) = reuse {
            if name.is_some() || media_type.is_some() || content_base64.is_some() {
                return Err(ApiError::Invalid(format!(
                    "{what}: give either reuse or name, media_type and content_base64, not both"
                )));
            }
            return Ok(DocumentInput::Reuse {
                slot,
                applicant_document_id: id,
            });
        }
        let missing = |field: &str| {
            ApiError::Invalid(format!(
                "{what}: {field} is missing (an upload needs name, media_type and \
                 content_base64; a reused document needs reuse)"
            ))
        };
        let name = name.ok_or_else(|| missing("name"))?;
        let media_type = media_type.ok_or_else(|| missing("media_type"))?;
        let content = content_base64.ok_or_else(|| missing("content_base64"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(content.trim())
            .map_err(|e| {
                ApiError::Invalid(format!("{what}: content_base64 is not valid base64: {e}"))
            })?;
        Ok(DocumentInput::Upload {
            slot,
            name,
            media_type,
            bytes,
        })
    }
}

/// What a certification records about the paper.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertifyRequest {
    /// The kind of paper (`giay-khai-sinh`, `cccd`, ...).
    #[schema(example = "giay-chung-sinh")]
    doc_type: String,
    /// Its number.
    number: Option<String>,
    /// Who issued it.
    issuer: Option<String>,
    /// When it was issued (`YYYY-MM-DD`).
    issued_on: Option<NaiveDate>,
}

impl From<CertifyRequest> for CertifyInput {
    fn from(c: CertifyRequest) -> Self {
        CertifyInput {
            doc_type: c.doc_type,
            number: c.number,
            issuer: c.issuer,
            issued_on: c.issued_on,
        }
    }
}

/// At submission: certify the upload of `slot` into the applicant's store.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertifySlotRequest {
    /// The slot of an upload of the same submission.
    slot: String,
    /// The kind of paper.
    doc_type: String,
    number: Option<String>,
    issuer: Option<String>,
    /// `YYYY-MM-DD`.
    issued_on: Option<NaiveDate>,
}

/// A dossier received at the counter.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The procedure (its definition key).
    #[schema(example = "dang-ky-khai-sinh")]
    procedure: String,
    /// A definition version; the latest when left out.
    version: Option<i32>,
    /// The receiving agency's code (letters, digits, `.` and `_`).
    #[schema(example = "000.00.01.H22")]
    agency: String,
    applicant: ApplicantRequest,
    /// The start form's data: the instance's start variables.
    #[serde(default)]
    #[schema(value_type = Object)]
    data: Map<String, Value>,
    #[serde(default)]
    documents: Vec<DocumentRequest>,
    /// The promised return date; by default the procedure's SLA in working days.
    due_at: Option<DateTime<Utc>>,
    /// Uploads to certify into the applicant's store at once.
    #[serde(default)]
    certify: Vec<CertifySlotRequest>,
}

/// A move of the dossier's one-stop state.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The new state.
    #[schema(value_type = DossierStateDto)]
    to: String,
    /// Why (the supplement's items or the refusal's reasons, one per line).
    reason: Option<String>,
    /// Refuse (409) unless the dossier is still at this version.
    expected_version: Option<i64>,
}

/// A detached CMS signature made elsewhere (the signer's token or software).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureRequest {
    /// The CMS SignedData (DER, detached), standard base64.
    signature: String,
}

/// Server-side signing: whose key signs.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// The agency whose configured key signs. With tokens on it must be the caller's agency
    /// (the default); an administrator, or open development mode, may name any and defaults
    /// to the dossier's agency.
    #[schema(example = "000.00.01.H22")]
    agency: Option<String>,
}

/// The register's period.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RegisterQuery {
    /// The first day, `YYYY-MM-DD` (Vietnam date).
    from: NaiveDate,
    /// The last day, included, `YYYY-MM-DD` (Vietnam date).
    to: NaiveDate,
}

// --- Answers ------------------------------------------------------------------------------------

/// One document version as JSON.
pub fn document_json(d: &DocumentRecord) -> Value {
    json!({
        "slot": d.slot,
        "version": d.version,
        "sha256": d.sha256,
        "name": d.name,
        "media_type": d.media_type,
        "size": d.size,
        "added_at": d.added_at,
        "added_by": d.added_by,
        "reused_from": d.reused_from,
    })
}

/// A dossier as JSON.
pub fn dossier_json(view: &DossierView) -> Value {
    let d = &view.dossier;
    json!({
        "code": d.code,
        "instance": d.instance.to_string(),
        "procedure": d.procedure_key,
        "procedure_version": d.procedure_version,
        "agency": d.agency,
        "applicant": {
            "kind": d.applicant.kind.as_str(),
            "id": d.applicant.id,
            "name": d.applicant.name,
            "address": d.applicant.address,
            "phone": d.applicant.phone,
            "email": d.applicant.email,
        },
        "state": d.state.as_str(),
        "state_label": d.state.label(),
        "received_at": d.received_at,
        "due_at": d.due_at,
        "finished_at": d.finished_at,
        "overdue": view.overdue,
        "version": d.version,
        "updated_at": d.updated_at,
        "data": d.data,
        "documents": view.documents.iter().map(document_json).collect::<Vec<_>>(),
    })
}

/// A stored signature as JSON.
pub fn signature_json(s: &SignatureRecord) -> Value {
    json!({
        "id": s.id,
        "dossier_code": s.dossier_code,
        "slot": s.slot,
        "version": s.version,
        "document_sha256": s.document_sha256,
        "signature_sha256": s.signature_sha256,
        "signer_subject": s.signer_subject,
        "signer_serial": s.signer_serial,
        "signer_issuer": s.signer_issuer,
        "fingerprint": s.fingerprint,
        "signer_user": s.signer_user,
        "signer_agency": s.signer_agency,
        "signing_time": s.signing_time,
        "server_side": s.server_side,
        "added_at": s.added_at,
        "added_by": s.added_by,
    })
}

/// A certified document of an applicant's store as JSON.
pub fn applicant_document_json(d: &ApplicantDocument) -> Value {
    json!({
        "id": d.id,
        "owner_kind": d.owner_kind.as_str(),
        "owner_id": d.owner_id,
        "doc_type": d.doc_type,
        "number": d.number,
        "issuer": d.issuer,
        "issued_on": d.issued_on,
        "sha256": d.sha256,
        "name": d.name,
        "media_type": d.media_type,
        "certified_by": d.certified_by,
        "certified_at": d.certified_at,
        "source_dossier": d.source_dossier,
    })
}

// --- Scope --------------------------------------------------------------------------------------

/// The dossier, if the caller may read it; otherwise the same 404 as an unknown code.
pub(super) async fn visible_dossier(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> ApiResult<DossierView> {
    caller.require(Action::ReadInstance)?;
    let view = state.engine.dossier(code).await?;
    if !caller.sees_agency(Some(&view.dossier.agency)) {
        // The agencies of its transfers read it too.
        super::transfers::reads_dossier(state, caller, code).await?;
    }
    Ok(view)
}

/// The dossier, if the caller may change it (supplement, transition, certify).
pub(super) async fn changeable_dossier(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> ApiResult<DossierView> {
    caller.require(Action::WorkTasks)?;
    let view = state.engine.dossier(code).await?;
    // Read by its agency and its transfers' agencies; changed by the agency holding it (the
    // receiver of a whole-dossier transfer not returned, else its own).
    let scope = super::transfers::reads_dossier(state, caller, code).await?;
    if !caller.sees_agency(Some(&scope.holder)) || !caller.acts_in_agency(Some(&scope.holder)) {
        return Err(ApiError::Forbidden(
            "this dossier is held by another agency: only its servants and leaders change it"
                .into(),
        ));
    }
    Ok(view)
}

/// Engine errors of a document read, with a tampered blob logged by dossier, slot and version.
fn document_error(code: &str, slot: &str, version: i32, e: EngineError) -> ApiError {
    if let EngineError::Fatal(message) = &e {
        tracing::error!(
            dossier = code,
            slot,
            version,
            error = %message,
            "a dossier document cannot be served: its stored bytes do not match their SHA-256"
        );
    }
    e.into()
}

// --- Handlers -----------------------------------------------------------------------------------

/// Receives a dossier: the instance, the dossier with its code, the documents and the
/// certifications in one transaction. Invalid form data is a 422 `form-invalid` listing every
/// failing field.
#[utoipa::path(
    post,
    path = "/dossiers",
    tag = "dossiers",
    operation_id = "submitDossier",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = SubmitRequest,
    responses(
        (status = 201, description = "Received: the dossier with its code", body = DossierDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, bad base64 in a document, a bad agency code or applicant)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, or a servant receives for another agency", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such procedure (or version), or no such applicant document to reuse", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the Idempotency-Key was used for another request, or a concurrent request won", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`form-invalid`: the data does not fit the start form (`errors` lists every field), or `rejected`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<SubmitRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    caller.require(Action::StartInstance)?;
    if !caller.sees_agency(Some(&body.agency)) {
        return Err(ApiError::Forbidden(
            "a servant receives dossiers for their own agency only".into(),
        ));
    }
    let documents = body
        .documents
        .into_iter()
        .enumerate()
        .map(|(i, d)| d.input(&format!("documents[{i}]")))
        .collect::<ApiResult<Vec<_>>>()?;
    let request = SubmitDossier {
        procedure_key: body.procedure,
        version: body.version,
        agency_code: body.agency,
        applicant: body.applicant.into(),
        data: body.data,
        documents,
        due_at: body.due_at,
        certify: body
            .certify
            .into_iter()
            .map(|c| CertifySlot {
                slot: c.slot,
                certify: CertifyInput {
                    doc_type: c.doc_type,
                    number: c.number,
                    issuer: c.issuer,
                    issued_on: c.issued_on,
                },
            })
            .collect(),
    };
    let view = state
        .engine
        .submit_dossier(request, caller.options())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(dossier_json(&view))))
}

#[utoipa::path(
    get,
    path = "/dossiers/{code}",
    tag = "dossiers",
    operation_id = "getDossier",
    params(
        ("code" = String, Path, description = "The dossier code (`000.00.01.H22-251125-0001`)"),
    ),
    responses(
        (status = 200, description = "The dossier with the latest version of each document", body = DossierDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let view = visible_dossier(&state, &caller, &code).await?;
    Ok(axum::Json(dossier_json(&view)))
}

#[utoipa::path(
    get,
    path = "/dossiers/{code}/documents",
    tag = "dossiers",
    operation_id = "listDossierDocuments",
    params(
        ("code" = String, Path, description = "The dossier code"),
    ),
    responses(
        (status = 200, description = "Every version of every document, by slot then version", body = Vec<DocumentDto>),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn documents(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    visible_dossier(&state, &caller, &code).await?;
    let documents = state.engine.dossier_documents(&code).await?;
    Ok(axum::Json(Value::Array(
        documents.iter().map(document_json).collect(),
    )))
}

/// The bytes of one document version, with its media type and `ETag: "<sha256>"`. Bytes
/// changed on disk since they were stored answer 500 and are logged (see the module).
#[utoipa::path(
    get,
    path = "/dossiers/{code}/documents/{slot}/{version}",
    tag = "dossiers",
    operation_id = "getDossierDocumentContent",
    params(
        ("code" = String, Path, description = "The dossier code"),
        ("slot" = String, Path, description = "The document slot"),
        ("version" = i32, Path, description = "The version within the slot, from 1"),
    ),
    responses(
        (status = 200, description = "The bytes, with the media type they were uploaded with", content_type = "*/*", body = BinaryDto,
            headers(("ETag" = String, description = "The SHA-256 of the bytes, quoted"))),
        (status = 400, description = "`invalid`: the request is malformed (a bad version), or no document store is configured", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier or document version, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's, such as stored bytes that no longer match their SHA-256 (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn content(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, slot, version)): Path<(String, String, i32)>,
) -> ApiResult<Response> {
    visible_dossier(&state, &caller, &code).await?;
    let record = state
        .engine
        .dossier_documents(&code)
        .await?
        .into_iter()
        .find(|d| d.slot == slot && d.version == version)
        .ok_or_else(|| {
            ApiError::from(EngineError::NotFound {
                what: "document",
                id: format!("{code}/{slot}/v{version}"),
            })
        })?;
    let bytes = state
        .engine
        .read_document(&code, &slot, version)
        .await
        .map_err(|e| document_error(&code, &slot, version, e))?;
    stored_bytes(bytes, &record.media_type, &record.sha256)
}

/// Stored bytes as they were uploaded: their media type, `ETag: "<sha256>"`, and headers that
/// keep a browser from running them as a page of this origin (they are the uploader's).
pub(super) fn stored_bytes(bytes: Vec<u8>, media_type: &str, sha256: &str) -> ApiResult<Response> {
    let media_type = HeaderValue::from_str(media_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let etag = HeaderValue::from_str(&format!("\"{sha256}\"")).map_err(|_| ApiError::Internal)?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media_type);
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    Ok(response)
}

/// Supplements a slot: version n+1 (earlier versions stay). Allowed while the dossier is
/// received, processing, or in a supplement request or receipt.
#[utoipa::path(
    post,
    path = "/dossiers/{code}/documents",
    tag = "dossiers",
    operation_id = "addDossierDocument",
    params(
        ("code" = String, Path, description = "The dossier code"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = DocumentRequest,
    responses(
        (status = 201, description = "The new document version", body = DocumentDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, bad base64)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, or the dossier is another agency's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier or applicant document, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the dossier no longer takes documents, or another command changed it first", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`rejected`: the command does not fit the dossier; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn supplement(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Json(body): Json<DocumentRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    changeable_dossier(&state, &caller, &code).await?;
    let input = body.input("the document")?;
    let record = state
        .engine
        .add_document(&code, input, caller.options())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(document_json(&record))))
}

/// Attaches a detached CMS signature over the LATEST version of a slot's document. It is
/// verified at once against the configured trust anchors; anything but TOTAL_PASSED answers
/// 422 `signature-invalid` with the validation report and changes nothing. The signer
/// certificate is matched to a user and agency through the signing configuration.
#[utoipa::path(
    post,
    path = "/dossiers/{code}/documents/{slot}/signatures",
    tag = "dossiers",
    operation_id = "attachDossierSignature",
    params(
        ("code" = String, Path, description = "The dossier code"),
        ("slot" = String, Path, description = "The document slot"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = SignatureRequest,
    responses(
        (status = 201, description = "Verified and stored: the signature", body = SignatureDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, bad base64), or no signing configuration", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, or the dossier is another agency's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier or document, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the dossier is finished, or another command changed it first", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`signature-invalid`: the signature is not valid for the document (`report` is the validation report); nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn attach_signature(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, slot)): Path<(String, String)>,
    Json(body): Json<SignatureRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    changeable_dossier(&state, &caller, &code).await?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.signature.trim())
        .map_err(|e| ApiError::Invalid(format!("signature is not valid base64: {e}")))?;
    let record = state
        .engine
        .attach_signature(&code, &slot, &der, caller.options())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(signature_json(&record))))
}

/// Signs the LATEST version of a slot's document server-side with an agency's configured key
/// (the counter's "digitize and certify"). With tokens on, the key is the caller's agency's.
#[utoipa::path(
    post,
    path = "/dossiers/{code}/documents/{slot}/sign",
    tag = "dossiers",
    operation_id = "signDossierDocument",
    params(
        ("code" = String, Path, description = "The dossier code"),
        ("slot" = String, Path, description = "The document slot"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = Option<SignRequest>,
    responses(
        (status = 201, description = "Signed and stored: the signature", body = SignatureDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields), or no signing configuration", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, the dossier is another agency's, or the key is not the caller's agency's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier or document, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the dossier is finished, or another command changed it first", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`rejected`: the agency has no configured key; `signature-invalid`: the key's certificate does not verify against the trust anchors (`report`)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, slot)): Path<(String, String)>,
    OptionalJson(body): OptionalJson<SignRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let view = changeable_dossier(&state, &caller, &code).await?;
    let own = caller.principal.as_ref().and_then(|p| p.agency.clone());
    let agency = match (own, body.agency) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::Forbidden(format!(
                "only the key of your own agency ({own}) signs for you, not {asked}'s"
            )))
        }
        (Some(own), _) => own,
        (None, Some(asked)) => asked,
        (None, None) => view.dossier.agency.clone(),
    };
    let record = state
        .engine
        .sign_document(&code, &slot, &agency, caller.options())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(signature_json(&record))))
}

/// Every signature stored with the dossier, oldest first, each bound to the SHA-256 of the
/// document version it signs.
#[utoipa::path(
    get,
    path = "/dossiers/{code}/signatures",
    tag = "dossiers",
    operation_id = "listDossierSignatures",
    params(
        ("code" = String, Path, description = "The dossier code"),
    ),
    responses(
        (status = 200, description = "The signatures, oldest first", body = Vec<SignatureDto>),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn signatures(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    visible_dossier(&state, &caller, &code).await?;
    let list = state.engine.dossier_signatures(&code).await?;
    Ok(axum::Json(Value::Array(
        list.iter().map(signature_json).collect(),
    )))
}

/// Moves the dossier to another one-stop state, if the lifecycle allows it.
#[utoipa::path(
    post,
    path = "/dossiers/{code}/transition",
    tag = "dossiers",
    operation_id = "transitionDossier",
    params(
        ("code" = String, Path, description = "The dossier code"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = TransitionRequest,
    responses(
        (status = 200, description = "Moved: the dossier now", body = DossierDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, an unknown state)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, or the dossier is another agency's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the lifecycle does not allow this move, or the dossier is no longer at `expected_version`; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`rejected`: the command does not fit the dossier; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Json(body): Json<TransitionRequest>,
) -> ApiResult<axum::Json<Value>> {
    let to = DossierState::parse(&body.to).ok_or_else(|| {
        let states: Vec<&str> = motcua_engine::dossier::lifecycle::ALL
            .iter()
            .map(|s| s.as_str())
            .collect();
        ApiError::Invalid(format!(
            "'{}' is not a dossier state: use one of {}",
            body.to,
            states.join(", ")
        ))
    })?;
    changeable_dossier(&state, &caller, &code).await?;
    let view = state
        .engine
        .transition_dossier(
            &code,
            to,
            body.reason,
            body.expected_version,
            caller.options(),
        )
        .await?;
    Ok(axum::Json(dossier_json(&view)))
}

/// Certifies a document version (digitized at the counter) into its applicant's store, so
/// their later dossiers can reuse it; the acting user is recorded as the certifier.
#[utoipa::path(
    post,
    path = "/dossiers/{code}/documents/{slot}/{version}/certify",
    tag = "dossiers",
    operation_id = "certifyDossierDocument",
    params(
        ("code" = String, Path, description = "The dossier code"),
        ("slot" = String, Path, description = "The document slot"),
        ("version" = i32, Path, description = "The version within the slot, from 1"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = CertifyRequest,
    responses(
        (status = 201, description = "Certified: the applicant's new document", body = ApplicantDocumentDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, no doc_type)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, or the dossier is another agency's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier or document version, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the document was itself reused from the store, or another command changed the dossier first", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn certify(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, slot, version)): Path<(String, String, i32)>,
    Json(body): Json<CertifyRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    changeable_dossier(&state, &caller, &code).await?;
    let document = state
        .engine
        .certify_document(&code, &slot, version, body.into(), caller.options())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(applicant_document_json(&document)),
    ))
}

/// An applicant's certified documents, reusable in their later dossiers ("submit paper once").
#[utoipa::path(
    get,
    path = "/applicants/{kind}/{id}/documents",
    tag = "dossiers",
    operation_id = "listApplicantDocuments",
    params(
        ("kind" = super::openapi::ApplicantKindDto, Path, description = "`citizen_id` or `tax_code`"),
        ("id" = String, Path, description = "The citizen id or tax code"),
    ),
    responses(
        (status = 200, description = "The applicant's certified documents", body = Vec<ApplicantDocumentDto>),
        (status = 400, description = "`invalid`: the request is malformed (an unknown kind)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: never answered for a well-formed path (an applicant without documents has an empty list)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn applicant_documents(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadInstance)?;
    let kind = ApplicantKind::parse(&kind).ok_or_else(|| {
        ApiError::Invalid(format!(
            "'{kind}' is not an applicant kind: use citizen_id or tax_code"
        ))
    })?;
    let documents = state.engine.applicant_documents(kind, &id).await?;
    Ok(axum::Json(Value::Array(
        documents.iter().map(applicant_document_json).collect(),
    )))
}

fn html(page: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

fn render_slip(state: &AppState, slip: &motcua_forms::slips::Slip) -> ApiResult<Response> {
    let page = motcua_forms::slips::render(state.engine.templates(), slip).map_err(|e| {
        tracing::error!(error = %e, form = slip.number(), "a slip cannot be rendered");
        ApiError::Internal
    })?;
    Ok(html(page))
}

/// A printed form of Circular 01/2018 for the dossier, as print-ready HTML: 01 receipt,
/// 02 supplement request, 03 refusal, 04 apology, 05 control sheet.
#[utoipa::path(
    get,
    path = "/dossiers/{code}/slips/{form}",
    tag = "dossiers",
    operation_id = "getDossierSlip",
    params(
        ("code" = String, Path, description = "The dossier code"),
        ("form" = String, Path, description = "`01`–`05`, or `receipt`, `supplement`, `refusal`, `apology`, `control-sheet`"),
    ),
    responses(
        (status = 200, description = "The slip as HTML", content_type = "text/html; charset=utf-8", body = String),
        (status = 400, description = "`invalid`: an unknown form, or a form the dossier has no data for yet", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the dossier is not in a state this form is issued in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`rejected`: the form does not fit the dossier", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn slip(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, form)): Path<(String, String)>,
) -> ApiResult<Response> {
    let form: SlipForm = form.parse().map_err(ApiError::Invalid)?;
    visible_dossier(&state, &caller, &code).await?;
    let slip = state.engine.dossier_slip(&code, form).await?;
    render_slip(&state, &slip)
}

/// Form 06, the tracking register (sổ theo dõi hồ sơ): the dossiers the agency received in the
/// period, as print-ready HTML. A servant reads only their own agency's.
#[utoipa::path(
    get,
    path = "/agencies/{agency}/register",
    tag = "dossiers",
    operation_id = "getAgencyRegister",
    params(
        ("agency" = String, Path, description = "The agency code"),
        RegisterQuery,
    ),
    responses(
        (status = 200, description = "The register as HTML", content_type = "text/html; charset=utf-8", body = String),
        (status = 400, description = "`invalid`: a bad or missing date, or a period that ends before it starts", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, or a servant asks for another agency", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: a dossier of the period disappeared while the register was built", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Path(agency): Path<String>,
    Query(q): Query<RegisterQuery>,
) -> ApiResult<Response> {
    caller.require(Action::ReadInstance)?;
    if !caller.sees_agency(Some(&agency)) {
        return Err(ApiError::Forbidden(
            "a servant reads only their own agency's register".into(),
        ));
    }
    let slip = state.engine.dossier_register(&agency, q.from, q.to).await?;
    render_slip(&state, &slip)
}
