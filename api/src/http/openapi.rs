//! The OpenAPI 3 document of the API, generated from the handlers' `#[utoipa::path]`
//! annotations, served at `GET /openapi.json`, and a browsable page of it at `GET /docs` (plain
//! HTML rendered here from the same document: it loads nothing from the internet).
//!
//! Handlers answer JSON built by `crate::output` and the resource modules; the `*Dto` structs
//! below mirror that JSON field for field for the document only (nothing serialises them), and
//! [`Problem`] is the RFC 9457 body of every [`super::ApiError`].

use std::fmt::Write as _;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDocument, RefOr, Required, Schema};
use utoipa::{Modify, OpenApi, ToSchema};
use uuid::Uuid;

use super::state::AppState;

/// The routes of this resource (public: no token needed).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs))
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "motcua",
        description = "A BPMN workflow engine for Vietnamese one-stop-shop (một cửa) procedures: \
            deployments, process instances, user tasks, external workers, incidents, the event \
            feed, statistics and operations. Every error is RFC 9457 `application/problem+json` \
            with a stable `code`. With a key configured every route but `/healthz`, `/readyz`, \
            `/metrics`, `/openapi.json` and `/docs` needs `Authorization: Bearer <JWT>`; without \
            one (open development mode) the `X-Motcua-User` header names the actor.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        super::deployments::deploy,
        super::deployments::list,
        super::deployments::one,
        super::deployments::xml,
        super::instances::start,
        super::instances::one,
        super::instances::journal,
        super::instances::cancel,
        super::tasks::list,
        super::tasks::one,
        super::tasks::identity_links,
        super::tasks::claim,
        super::tasks::unclaim,
        super::tasks::complete,
        super::tasks::count,
        super::tasks::assign,
        super::tasks::delegate,
        super::tasks::resolve,
        super::external_tasks::fetch_and_lock,
        super::external_tasks::complete,
        super::external_tasks::failure,
        super::incidents::list,
        super::incidents::retry,
        super::events::list,
        super::events::stream_events,
        super::stats::statistics,
        super::health::healthz,
        super::health::readyz,
        super::metrics::metrics,
        openapi_json,
        docs,
        super::webhooks::subscribe,
        super::webhooks::list,
        super::webhooks::unsubscribe,
        super::dossiers::submit,
        super::dossiers::one,
        super::dossiers::documents,
        super::dossiers::content,
        super::dossiers::supplement,
        super::dossiers::transition,
        super::dossiers::certify,
        super::dossiers::attach_signature,
        super::dossiers::sign,
        super::dossiers::signatures,
        super::dossiers::applicant_documents,
        super::dossiers::slip,
        super::dossiers::register,
        super::transfers::transfer,
        super::transfers::list,
        super::transfers::accept,
        super::transfers::give_back,
        super::portal::portal_sync,
        super::forms::one,
        super::forms::task_form,
        super::audit::export,
        super::audit::verification,
        super::audit::verify,
        super::directives::issue,
        super::directives::list,
        super::directives::list_csv,
        super::directives::one,
        super::directives::doc_child::doc,
        super::directives::doc_report::doc,
        super::directives::doc_extension::doc,
        super::directives::doc_decision::doc,
        super::directives::doc_completion::doc,
        super::directives::doc_acceptance::doc,
        super::directives::statistics,
        super::directives::statistics_text,
        super::directives::attach,
        super::directives::documents,
        super::directives::document_content,
        super::exchange::receive,
        super::exchange::send,
        super::exchange::list,
        super::messages::correlate,
    ),
    components(schemas(Problem, ProblemCode, DeployProblem)),
    modifiers(&BearerScheme, &OptionalBodies),
    tags(
        (name = "deployments", description = "BPMN deployments and process definitions"),
        (name = "process-instances", description = "Start, read, journal and cancel instances"),
        (name = "tasks", description = "User tasks, shaped after Camunda 7's task REST"),
        (name = "external-tasks", description = "External-worker jobs (service tasks)"),
        (name = "incidents", description = "Jobs whose retries ran out"),
        (name = "messages", description = "BPMN messages: correlation by name and key, buffering, message starts"),
        (name = "events", description = "The global event feed: pages and Server-Sent Events"),
        (name = "statistics", description = "The IOC's figures per agency and procedure"),
        (name = "webhooks", description = "Outbound webhook subscriptions (HMAC-signed, at least once, in order)"),
        (name = "dossiers", description = "Dossiers at the one-stop counter: receipt, documents, lifecycle, the applicant's document store and the printed slips of Circular 01/2018"),
        (name = "forms", description = "E-forms (form-js): the deployed schema, and a task's form as HTML"),
        (name = "audit", description = "Auditors: a dossier's archive (journal hash chain, documents, signatures, signed checkpoints) and its verification"),
        (name = "directives", description = "Leadership directives (theo dõi ý kiến chỉ đạo): issue, assignments with their computed status, progress reports, extensions, completion and acceptance, statistics per agency and leader (JSON, Prometheus), CSV for meetings"),
        (name = "exchange", description = "Liên thông between motcua engines: signed messages from peers, dossiers handed to peers, and their delivery state"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme the secured operations name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        http.description = Some(
            "A JWT (HS256, or RS256/ES256 from a JWKS) with `sub`, `role` (designer, servant, \
             leader, auditor, integrator, worker, admin), `agency` and `groups`."
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// An optional JSON body (`OptionalJson`: an empty body reads as the defaults) is documented as
/// the object itself with `required: false`, not as "the object or JSON `null`".
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        for item in openapi.paths.paths.values_mut() {
            let Some(op) = item.post.as_mut() else {
                continue;
            };
            let Some(body) = op.request_body.as_mut() else {
                continue;
            };
            for content in body.content.values_mut() {
                let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else {
                    continue;
                };
                let reference = one_of
                    .items
                    .iter()
                    .find(|s| matches!(s, RefOr::Ref(_)))
                    .cloned();
                if let Some(reference) = reference {
                    content.schema = Some(reference);
                    body.required = Some(Required::False);
                }
            }
        }
    }
}

/// The document as JSON text, built once.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// The OpenAPI 3 document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi",
    responses(
        (status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object),
    ),
)]
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}

/// A browsable page listing every operation of the document.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "operations",
    operation_id = "docs",
    responses(
        (status = 200, description = "An HTML page", content_type = "text/html", body = String),
    ),
)]
async fn docs() -> Html<&'static str> {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(PAGE.get_or_init(|| docs_page(&ApiDoc::openapi())))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn schema_name(content: &utoipa::openapi::Content) -> String {
    match &content.schema {
        Some(RefOr::Ref(r)) => r
            .ref_location
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
        Some(RefOr::T(schema)) => serde_json::to_value(schema)
            .ok()
            .and_then(|v| match (&v["type"], &v["items"]["$ref"]) {
                (Value::String(t), Value::String(r)) if t == "array" => {
                    Some(format!("[{}]", r.rsplit('/').next().unwrap_or_default()))
                }
                (Value::String(t), _) => Some(t.clone()),
                _ => None,
            })
            .unwrap_or_default(),
        None => String::new(),
    }
}

/// The page: every operation with its parameters, body and responses, then every schema.
pub fn docs_page(doc: &OpenApiDocument) -> String {
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>motcua API</title>\
         <style>body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}\
         .op{border:1px solid #ccc;border-radius:4px;margin:1em 0;padding:.5em 1em}\
         .m{font-weight:bold;text-transform:uppercase;display:inline-block;width:4em}\
         code,pre{background:#f4f4f4}pre{padding:.5em;overflow:auto}\
         table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}\
         </style></head><body>",
    );
    let _ = write!(
        html,
        "<h1>{} {}</h1><p>{}</p><p>The machine-readable document: \
         <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI {}).</p><h2>Operations</h2>",
        escape(&doc.info.title),
        escape(&doc.info.version),
        escape(doc.info.description.as_deref().unwrap_or_default()),
        escape(&serde_json::to_value(&doc.openapi).map_or_else(
            |_| String::new(),
            |v| v.as_str().unwrap_or_default().to_owned()
        )),
    );
    for (path, item) in &doc.paths.paths {
        let operations = [
            ("get", &item.get),
            ("put", &item.put),
            ("post", &item.post),
            ("delete", &item.delete),
            ("patch", &item.patch),
        ];
        for (method, op) in operations {
            let Some(op) = op else { continue };
            let id = op.operation_id.as_deref().unwrap_or_default();
            let _ = write!(
                html,
                "<div class=\"op\" id=\"{id}\"><p><span class=\"m\">{method}</span> \
                 <code>{}</code> — {}{}</p>",
                escape(path),
                escape(op.summary.as_deref().unwrap_or(id)),
                if op.security.is_some() {
                    " <small>(bearer token)</small>"
                } else {
                    ""
                },
            );
            if let Some(d) = &op.description {
                let _ = write!(html, "<p>{}</p>", escape(d));
            }
            if let Some(params) = op.parameters.as_ref().filter(|p| !p.is_empty()) {
                html.push_str(
                    "<table><tr><th>parameter</th><th>in</th><th>required</th><th>about</th></tr>",
                );
                for p in params {
                    let location = serde_json::to_value(&p.parameter_in)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    let required = matches!(p.required, utoipa::openapi::Required::True);
                    let _ = write!(
                        html,
                        "<tr><td><code>{}</code></td><td>{location}</td><td>{}</td><td>{}</td></tr>",
                        escape(&p.name),
                        if required { "yes" } else { "no" },
                        escape(p.description.as_deref().unwrap_or_default()),
                    );
                }
                html.push_str("</table>");
            }
            if let Some(body) = &op.request_body {
                html.push_str("<p>Body: ");
                for (ct, content) in &body.content {
                    let _ = write!(
                        html,
                        "<code>{}</code> {} ",
                        escape(ct),
                        escape(&schema_name(content))
                    );
                }
                html.push_str("</p>");
            }
            html.push_str("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>");
            for (status, response) in &op.responses.responses {
                let RefOr::T(response) = response else {
                    continue;
                };
                let bodies: Vec<String> = response
                    .content
                    .iter()
                    .map(|(ct, c)| {
                        format!("<code>{}</code> {}", escape(ct), escape(&schema_name(c)))
                    })
                    .collect();
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(status),
                    escape(&response.description),
                    bodies.join("<br>"),
                );
            }
            html.push_str("</table></div>");
        }
    }
    html.push_str("<h2>Schemas</h2>");
    if let Some(components) = &doc.components {
        for (name, schema) in &components.schemas {
            let text = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                html,
                "<h3 id=\"schema-{0}\">{0}</h3><pre>{1}</pre>",
                escape(name),
                escape(&text)
            );
        }
    }
    html.push_str("</body></html>");
    html
}

// --- Errors -------------------------------------------------------------------------------------

/// An RFC 9457 problem (`application/problem+json`): the body of every error.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// `urn:motcua:problem:{code}`.
    #[serde(rename = "type")]
    #[schema(example = "urn:motcua:problem:not-found")]
    pub kind: String,
    /// A short, fixed title for the code.
    #[schema(example = "Not found")]
    pub title: String,
    /// The HTTP status.
    #[schema(example = 404)]
    pub status: u16,
    /// The stable code clients match on.
    pub code: ProblemCode,
    /// What went wrong and how to fix it.
    pub detail: String,
    /// `deploy-refused`: each problem found in the BPMN; `form-invalid`: each failing field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemError>>,
    /// `form-invalid`: the form's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// `signature-invalid`: the signature's validation report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<SignatureReportDto>,
}

/// A signature's validation report, modelled on the EU DSS simple report (ETSI EN 319 102-1
/// indications).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureReportDto {
    /// `CMS` (a detached signature) or `PAdES`.
    #[schema(example = "CMS")]
    pub format: String,
    /// `B-B`, or `B-T` with a signature time-stamp; absent when not a signature.
    pub level: Option<String>,
    /// PAdES: the signature's `/ByteRange`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_range: Option<Vec<u64>>,
    /// PAdES: the signature's `/SubFilter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_filter: Option<String>,
    /// The signer, when its certificate was found.
    pub signer: Option<SignerSummaryDto>,
    /// The claimed signing time.
    pub signing_time: Option<DateTime<Utc>>,
    /// When the validation ran.
    pub validation_time: DateTime<Utc>,
    /// Subjects from the signer to the trust anchor.
    pub chain: Vec<String>,
    /// `TOTAL_PASSED`, `TOTAL_FAILED` or `INDETERMINATE`.
    #[schema(example = "TOTAL_FAILED")]
    pub indication: String,
    /// Why it is not TOTAL_PASSED (`HASH_FAILURE`, `NO_CERTIFICATE_CHAIN_FOUND`, ...).
    #[schema(example = "HASH_FAILURE")]
    pub sub_indication: Option<String>,
    /// Explanations, in English.
    pub messages: Vec<String>,
    /// A one-line summary in Vietnamese.
    pub summary_vi: String,
    /// The signature time-stamp (RFC 3161), when there is one: genTime, the TSA, its result.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub timestamp: Option<serde_json::Value>,
}

/// The outcome of verifying a dossier archive (or a dossier in place).
#[derive(Serialize, ToSchema)]
pub struct AuditReportDto {
    /// `motcua-audit-report/1`.
    pub format: String,
    /// The dossier code, when the archive names one.
    pub dossier: Option<String>,
    /// Its instance.
    pub instance: Option<String>,
    /// When the verification ran.
    pub verified_at: DateTime<Utc>,
    /// True only when every check passed.
    pub passed: bool,
    /// Every check in the order run: `manifest`, `export-signature`, `journal`, `dossier`,
    /// `documents`, `signatures`, `checkpoints` (and `storage` in place).
    pub checks: Vec<AuditCheckDto>,
    /// The document signatures, each with its report.
    pub signatures: Vec<SignatureCheckDto>,
    /// The checkpoints, each with the report on the engine's signature.
    pub checkpoints: Vec<CheckpointCheckDto>,
}

/// One check of an audit.
#[derive(Serialize, ToSchema)]
pub struct AuditCheckDto {
    /// What was checked.
    #[schema(example = "journal")]
    pub check: String,
    /// Whether it held.
    pub passed: bool,
    /// What was found, naming the file, journal row or checkpoint.
    #[schema(
        example = "journal row 7 (dossier_received) does not match its hash: the row was edited, or a row before it was"
    )]
    pub message: String,
}

/// A document signature of an archive and its report.
#[derive(Serialize, ToSchema)]
pub struct SignatureCheckDto {
    /// The file in the archive.
    pub file: String,
    /// The document slot.
    pub slot: String,
    /// The document version.
    pub version: i32,
    /// The validation report.
    pub report: SignatureReportDto,
}

/// A checkpoint covering the dossier and its verification.
#[derive(Serialize, ToSchema)]
pub struct CheckpointCheckDto {
    /// The checkpoint's id.
    pub id: i64,
    /// The journal row whose head it signed.
    pub seq: i64,
    /// Whether the signed head is in the signed tree and equals the journal's row.
    pub head_matches: bool,
    /// The report on the engine's signature over the checkpoint.
    pub report: SignatureReportDto,
}

/// Who signed, from the signer certificate.
#[derive(Serialize, ToSchema)]
pub struct SignerSummaryDto {
    /// "CN=..., O=..., C=VN".
    pub subject: String,
    /// The serial number in hexadecimal.
    pub serial: String,
    /// The issuer.
    pub issuer: String,
}

/// One item of a problem's `errors`: a BPMN problem (`deploy-refused`) or a form field
/// (`form-invalid`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ProblemError {
    /// A BPMN problem with its position.
    Deploy(DeployProblem),
    /// A form field that failed validation.
    Field(FieldProblem),
}

/// A form field that failed validation.
#[derive(Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field's data path: `applicant.name`, `members[2].cccd`.
    #[schema(example = "childName")]
    pub path: String,
    /// What failed: `required`, `min`, `max`, `minLength`, `maxLength`, `pattern`, `type`,
    /// `cccd`, `phone`, `taxCode`, `vnDate`, `email` or `option`.
    #[schema(example = "required")]
    pub code: String,
    /// A Vietnamese message naming the field by its label.
    pub message: String,
}

/// The stable codes of [`Problem`].
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemCode {
    /// 400: bad JSON, unknown fields, a bad id, a bad query.
    Invalid,
    /// 401: tokens are required and this one is missing, malformed, badly signed or expired.
    Unauthorized,
    /// 403: the token's role may not do this.
    Forbidden,
    /// 404: no such resource (or the caller may not know that it exists).
    NotFound,
    /// 405: the route exists, not with this method.
    MethodNotAllowed,
    /// 409: another command got there first, or the thing no longer accepts this one.
    Conflict,
    /// 422: the command does not fit the process.
    Rejected,
    /// 422: a BPMN file was refused; `errors` lists every problem.
    DeployRefused,
    /// 422: data refused by its form; `errors` lists every failing field.
    FormInvalid,
    /// 422: a signature is not valid; `report` is its validation report.
    SignatureInvalid,
    /// 500: a failure that is not the client's.
    Internal,
}

/// One problem found in a refused BPMN file.
#[derive(Serialize, ToSchema)]
pub struct DeployProblem {
    /// The file's name.
    pub file: String,
    /// The BPMN element's tag.
    pub element: String,
    /// The element's id, if known.
    pub id: Option<String>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// A stable code for the kind of problem.
    pub code: String,
    /// What is wrong.
    pub message: String,
}

// --- Answers (mirrors of the JSON of `crate::output` and the resource modules) -----------------

/// A process definition version.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionDto {
    /// The process id in the BPMN.
    pub key: String,
    /// 1, 2, …: a new version for each new content.
    pub version: i32,
    /// The process's name.
    pub name: Option<String>,
    /// The file it came from.
    pub resource: String,
    /// SHA-256 of the XML.
    pub checksum: String,
    /// The deployment's name.
    pub deployment: String,
    /// When it was deployed.
    pub deployed_at: DateTime<Utc>,
}

/// A definition version in the answer to a deployment.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployedDefinitionDto {
    /// The process id in the BPMN.
    pub key: String,
    /// Its version.
    pub version: i32,
    /// The process's name.
    pub name: Option<String>,
    /// The file it came from.
    pub resource: String,
    /// SHA-256 of the XML.
    pub checksum: String,
    /// The deployment's name.
    pub deployment: String,
    /// When it was deployed.
    pub deployed_at: DateTime<Utc>,
    /// Whether this deployment stored it (false: the same content was already the latest).
    pub created: bool,
}

/// The answer to a deployment.
#[derive(Serialize, ToSchema)]
pub struct DeploymentDto {
    /// The deployment's name.
    pub name: String,
    /// One per process in the files.
    pub definitions: Vec<DeployedDefinitionDto>,
}

/// An instance's status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatusDto {
    /// Running.
    Active,
    /// Reached an end.
    Completed,
    /// Cancelled.
    Cancelled,
}

/// The answer to a command: where the instance stands after it.
#[derive(Serialize, ToSchema)]
pub struct OutcomeDto {
    /// The instance.
    pub instance: Uuid,
    /// Its status after the command.
    pub status: InstanceStatusDto,
    /// Its version after the command.
    pub version: i64,
    /// Tasks the command created.
    pub tasks: Vec<Uuid>,
    /// Jobs the command created.
    pub jobs: Vec<Uuid>,
}

/// A process instance's state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceDto {
    /// The instance.
    pub id: Uuid,
    /// Its process.
    pub definition_key: String,
    /// Its process version.
    pub definition_version: i32,
    /// The business key given at start (e.g. the dossier number).
    pub business_key: Option<String>,
    /// Its status.
    pub status: InstanceStatusDto,
    /// Its version (one per command).
    pub version: i64,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Its variables.
    #[schema(value_type = Object)]
    pub variables: Value,
    /// Its tokens (where it stands in the process, and what each waits for).
    #[schema(value_type = Vec<Object>)]
    pub tokens: Value,
}

/// A journal entry of an instance.
#[derive(Serialize, ToSchema)]
pub struct JournalEntryDto {
    /// Its number within the instance.
    pub seq: i64,
    /// The event's kind.
    pub kind: String,
    /// Who caused it.
    pub actor: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The event itself.
    #[schema(value_type = Object)]
    pub event: Value,
}

/// How many resources match a query (`GET /tasks/count`).
#[derive(Serialize, ToSchema)]
pub struct CountDto {
    /// The number of matches.
    #[schema(example = 12)]
    pub count: i64,
}

/// A user task.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDto {
    /// The task.
    pub id: Uuid,
    /// Its instance.
    pub instance: Uuid,
    /// Its process.
    pub definition_key: String,
    /// Its BPMN node.
    pub node: String,
    /// Its name.
    pub name: String,
    /// Who has claimed it.
    pub assignee: Option<String>,
    /// Groups that may claim it.
    pub candidate_groups: Vec<String>,
    /// Users that may claim it.
    pub candidate_users: Vec<String>,
    /// The agency it belongs to.
    pub agency: Option<String>,
    /// The form to show.
    pub form_key: Option<String>,
    /// `created`, `assigned`, `completed` or `cancelled`.
    pub state: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was completed or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    /// Its deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// The deadline is near.
    pub due_soon: bool,
    /// The deadline has passed.
    pub overdue: bool,
}

/// A job fetched and locked by an external worker.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FetchedJobDto {
    /// The job.
    pub id: Uuid,
    /// Its instance.
    pub instance: Option<Uuid>,
    /// Its BPMN node.
    pub node: String,
    /// Its topic.
    pub topic: String,
    /// Retries left.
    pub retries: u32,
    /// When the lock runs out.
    pub lock_expires_at: DateTime<Utc>,
    /// The instance's variables.
    #[schema(value_type = Object)]
    pub variables: Value,
}

/// An incident: a job whose retries ran out.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentDto {
    /// The job.
    pub job: Uuid,
    /// Its instance.
    pub instance: Option<Uuid>,
    /// Its BPMN node.
    pub node: String,
    /// The last failure's message.
    pub message: String,
    /// When it became an incident.
    pub created_at: DateTime<Utc>,
}

/// The answer to an incident retry.
#[derive(Serialize, ToSchema)]
pub struct RetryDto {
    /// The job, due again now.
    pub job: Uuid,
    /// Its retries.
    pub retries: u32,
}

/// An event of the global feed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedEventDto {
    /// Its number in the feed: gap-free for readers, in commit order.
    pub seq: i64,
    /// Its instance.
    pub instance: Uuid,
    /// Its process.
    pub definition_key: String,
    /// Its process's agency.
    pub agency: Option<String>,
    /// The event's kind.
    pub kind: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who caused it.
    pub actor: Option<String>,
    /// The event itself.
    #[schema(value_type = Object)]
    pub event: Value,
}

/// A page of the event feed.
#[derive(Serialize, ToSchema)]
pub struct EventPageDto {
    /// The events, oldest first.
    pub events: Vec<FeedEventDto>,
    /// The cursor for the next page (`after=`): the last event's number, or `after` itself.
    pub next: i64,
}

/// The figures of one agency, procedure or the total.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsRowDto {
    /// The agency (none in the total).
    pub agency: Option<String>,
    /// The procedure (definition key; none in the total and per agency).
    pub procedure: Option<String>,
    /// Dossiers received in the period.
    pub received: u64,
    /// Still in progress.
    pub in_progress: u64,
    /// Done on time.
    pub done_on_time: u64,
    /// Done before the deadline.
    pub done_early: u64,
    /// Done late.
    pub done_late: u64,
    /// Past their deadline and not done.
    pub overdue: u64,
    /// Done on time / done, if anything is done.
    pub on_time_rate: Option<f64>,
}

/// The IOC's figures for a period.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsDto {
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
    /// When the figures were computed.
    pub at: DateTime<Utc>,
    /// All agencies and procedures.
    pub total: StatsRowDto,
    /// One row per agency.
    pub by_agency: Vec<StatsRowDto>,
    /// One row per agency and procedure.
    pub by_procedure: Vec<StatsRowDto>,
}

// --- Dossiers ------------------------------------------------------------------------------------

/// How an applicant is identified.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKindDto {
    /// A citizen, by the 12-digit citizen identity number (CCCD).
    CitizenId,
    /// An organisation, by its tax code.
    TaxCode,
}

/// A dossier's one-stop state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DossierStateDto {
    Received,
    Processing,
    SupplementRequested,
    SupplementReceived,
    Transferred,
    Done,
    ResultReturned,
    Refused,
    Cancelled,
}

/// The applicant of a dossier.
#[derive(Serialize, ToSchema)]
pub struct ApplicantDto {
    pub kind: ApplicantKindDto,
    pub id: String,
    pub name: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// One version of a document of a dossier.
#[derive(Serialize, ToSchema)]
pub struct DocumentDto {
    pub slot: String,
    pub version: i32,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub added_at: DateTime<Utc>,
    pub added_by: Option<String>,
    /// The applicant document reused instead of an upload.
    pub reused_from: Option<String>,
}

/// A dossier.
#[derive(Serialize, ToSchema)]
pub struct DossierDto {
    /// `<agency>-YYMMDD-NNNN` (Circular 01/2018/TT-VPCP art. 19).
    #[schema(example = "000.00.01.H22-251125-0001")]
    pub code: String,
    pub instance: Uuid,
    pub procedure: String,
    pub procedure_version: i32,
    pub agency: String,
    pub applicant: ApplicantDto,
    pub state: DossierStateDto,
    /// The state in Vietnamese (`Đã tiếp nhận`).
    pub state_label: String,
    pub received_at: DateTime<Utc>,
    /// The promised return date.
    pub due_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// Optimistic-concurrency version (1 at receipt, +1 per change).
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    /// The form data as submitted.
    #[schema(value_type = Object)]
    pub data: Value,
    /// The latest version of each slot.
    pub documents: Vec<DocumentDto>,
}

/// A document's bytes, as uploaded.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BinaryDto(pub Vec<u8>);

/// A signature stored with a dossier: verified when it was stored, bound to the SHA-256 of
/// the document version it signs.
#[derive(Serialize, ToSchema)]
pub struct SignatureDto {
    pub id: String,
    pub dossier_code: String,
    pub slot: String,
    /// The signed version of the slot.
    pub version: i32,
    /// SHA-256 of the signed document version.
    pub document_sha256: String,
    /// SHA-256 of the CMS signature (DER).
    pub signature_sha256: String,
    /// The signer certificate's subject.
    pub signer_subject: String,
    /// Its serial number (hexadecimal).
    pub signer_serial: String,
    pub signer_issuer: String,
    /// SHA-256 of the signer certificate (DER), lowercase hex.
    pub fingerprint: String,
    /// The user the certificate is mapped to.
    pub signer_user: Option<String>,
    /// The agency the certificate is mapped to (or whose key signed server-side).
    pub signer_agency: Option<String>,
    /// The claimed signing time.
    pub signing_time: Option<DateTime<Utc>>,
    /// Signed by the server with the agency's key.
    pub server_side: bool,
    pub added_at: DateTime<Utc>,
    pub added_by: Option<String>,
}

/// Where a transfer is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferStateDto {
    Sent,
    Accepted,
    Returned,
}

/// A document version sent with a transfer.
#[derive(Serialize, ToSchema)]
pub struct TransferDocumentDto {
    pub slot: String,
    pub version: i32,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    pub name: String,
    pub media_type: String,
    pub size: i64,
}

/// A user task re-routed by a transfer.
#[derive(Serialize, ToSchema)]
pub struct ReroutedTaskDto {
    pub task: Uuid,
    /// Its agency before the transfer (given back on return).
    pub from_agency: Option<String>,
}

/// A transfer between agencies (liên thông).
#[derive(Serialize, ToSchema)]
pub struct TransferDto {
    pub id: String,
    pub dossier_code: String,
    /// The sending agency (the dossier's holder when it was sent).
    pub from_agency: String,
    pub to_agency: String,
    /// The peer motcua engine serving the receiver, if not this one.
    pub peer: Option<String>,
    pub reason: String,
    /// The documents that went along, each at the version sent.
    pub documents: Vec<TransferDocumentDto>,
    /// The open user tasks re-routed to the receiver.
    pub tasks: Vec<ReroutedTaskDto>,
    /// For a step transfer, the task handed over; null for the whole dossier.
    pub step_task: Option<Uuid>,
    /// The dossier's state when it was sent.
    pub state_before: DossierStateDto,
    /// The receiver's share of the SLA, in working days.
    pub receiver_share_working_days: Option<f64>,
    pub receiver_due_at: Option<DateTime<Utc>>,
    /// What remained to the sender, in working days.
    pub sender_share_working_days: Option<f64>,
    pub sender_due_at: Option<DateTime<Utc>>,
    pub state: TransferStateDto,
    /// The state in Vietnamese (`Đã chuyển`).
    pub state_label: String,
    pub sent_at: DateTime<Utc>,
    pub sent_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub returned_reason: Option<String>,
}

/// One progress entry of the portal record (QuaTrinhXuLy).
#[derive(Serialize, ToSchema)]
pub struct PortalProgressDto {
    /// Who (empty for the system).
    #[serde(rename = "NguoiXuLy")]
    pub nguoi_xu_ly: String,
    /// Their title when known (empty otherwise).
    #[serde(rename = "ChucDanh")]
    pub chuc_danh: String,
    /// When, `yyyyMMddHHmmss` in UTC+7.
    #[serde(rename = "ThoiDiemXuLy")]
    #[schema(example = "20261125013005")]
    pub thoi_diem_xu_ly: String,
    /// What was done (Vietnamese).
    #[serde(rename = "NoiDungXuLy")]
    pub noi_dung_xu_ly: String,
}

/// A dossier as the national public-service portal's sync takes it. Dates are
/// `yyyyMMddHHmmss` in Asia/Ho_Chi_Minh (UTC+7), empty when absent.
#[derive(Serialize, ToSchema)]
pub struct PortalRecordDto {
    /// The dossier code.
    #[serde(rename = "MaHoSo")]
    pub ma_ho_so: String,
    /// The national procedure code (`motcua:procedureCode`), else the definition key.
    #[serde(rename = "MaTTHC")]
    pub ma_tthc: String,
    /// The procedure's name.
    #[serde(rename = "TenTTHC")]
    pub ten_tthc: String,
    /// The receiving agency's code.
    #[serde(rename = "MaCoQuan")]
    pub ma_co_quan: String,
    /// The applicant's name.
    #[serde(rename = "ChuHoSo")]
    pub chu_ho_so: String,
    /// The applicant's citizen id or tax code.
    #[serde(rename = "SoGiayToChuHoSo")]
    pub so_giay_to_chu_ho_so: String,
    #[serde(rename = "NgayTiepNhan")]
    pub ngay_tiep_nhan: String,
    #[serde(rename = "NgayHenTra")]
    pub ngay_hen_tra: String,
    /// The status code as text: 2 received, 3 refused at intake, 4 processing (also supplement
    /// received and transferred), 5 supplement requested, 7 cancelled, 8 refused later, 9 done,
    /// 10 result returned.
    #[serde(rename = "TrangThaiHoSo")]
    #[schema(example = "4")]
    pub trang_thai_ho_so: String,
    #[serde(rename = "NgayTra")]
    pub ngay_tra: String,
    #[serde(rename = "QuaTrinhXuLy")]
    pub qua_trinh_xu_ly: Vec<PortalProgressDto>,
}

/// A certified document of an applicant's store.
#[derive(Serialize, ToSchema)]
pub struct ApplicantDocumentDto {
    pub id: String,
    pub owner_kind: ApplicantKindDto,
    pub owner_id: String,
    pub doc_type: String,
    pub number: Option<String>,
    pub issuer: Option<String>,
    pub issued_on: Option<chrono::NaiveDate>,
    pub sha256: String,
    pub name: String,
    pub media_type: String,
    pub certified_by: Option<String>,
    pub certified_at: DateTime<Utc>,
    /// The dossier it was digitized from.
    pub source_dossier: Option<String>,
}

/// What a directive comes from: a document (its number and date) or a meeting (its date).
#[derive(Serialize, ToSchema)]
pub struct DirectiveSourceDto {
    pub kind: DirectiveSourceKindDto,
    /// The document's number (`123/UBND-TH`); absent for a meeting.
    pub number: Option<String>,
    pub date: chrono::NaiveDate,
}

/// `document` or `meeting`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectiveSourceKindDto {
    Document,
    Meeting,
}

/// A directive (ý kiến chỉ đạo).
#[derive(Serialize, ToSchema)]
pub struct DirectiveDto {
    pub id: String,
    /// The issuing leader (user id).
    pub issuer: String,
    pub source: DirectiveSourceDto,
    /// Trích yếu.
    pub summary: String,
    pub content: String,
    pub priority: String,
    pub issued_at: DateTime<Utc>,
    /// Who entered it.
    pub issued_by: Option<String>,
    /// Progress reports are requested every so many calendar days.
    pub report_every_days: u32,
}

/// An assignment's role.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentRoleDto {
    /// Chủ trì.
    Lead,
    /// Phối hợp.
    Coordinate,
    /// Theo dõi.
    Monitor,
}

/// Where an assignment is in its life.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentStateDto {
    InProgress,
    ExtensionRequested,
    Completed,
    Accepted,
}

/// One agency's part of a directive (or a department's child task).
#[derive(Serialize, ToSchema)]
pub struct AssignmentDto {
    pub id: String,
    pub directive: DirectiveDto,
    /// The parent assignment of a child task.
    pub parent: Option<String>,
    /// The agency code.
    pub agency: String,
    pub role: AssignmentRoleDto,
    pub title: String,
    /// The deadline now (after approved extensions).
    pub deadline: DateTime<Utc>,
    /// The deadline first given.
    pub original_deadline: DateTime<Utc>,
    /// Its instance of `theo-doi-chi-dao`.
    pub instance: Uuid,
    pub state: AssignmentStateDto,
    /// Last reported progress, 0–100.
    pub progress: i32,
    pub completed_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version: send it back as `version` with a command.
    pub version: i64,
}

/// A status computed from the deadline, the completion time and the working-day calendar.
#[derive(Serialize, ToSchema)]
pub struct DirectiveStatusDto {
    pub status: DirectiveStatusKindDto,
    /// Working days late (overdue and done late only).
    pub days_late: Option<u32>,
}

/// The five statuses.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectiveStatusKindDto {
    InProgress,
    DueSoon,
    Overdue,
    DoneOnTime,
    DoneLate,
}

/// An assignment with its status.
#[derive(Serialize, ToSchema)]
pub struct AssignmentViewDto {
    pub assignment: AssignmentDto,
    /// By its own deadline.
    pub own_status: DirectiveStatusDto,
    /// Rolled up over its open child tasks (the worst of them while it is open).
    pub status: DirectiveStatusDto,
}

/// A progress report.
#[derive(Serialize, ToSchema)]
pub struct DirectiveReportDto {
    pub id: String,
    pub assignment: String,
    pub text: String,
    pub percent: i32,
    pub reported_at: DateTime<Utc>,
    pub reported_by: Option<String>,
}

/// An extension request and its decision.
#[derive(Serialize, ToSchema)]
pub struct DirectiveExtensionDto {
    pub id: String,
    pub assignment: String,
    pub reason: String,
    pub requested_deadline: DateTime<Utc>,
    pub requested_at: DateTime<Utc>,
    pub requested_by: Option<String>,
    /// The decision; null while pending.
    pub approved: Option<bool>,
    pub new_deadline: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
}

/// One assignment in full.
#[derive(Serialize, ToSchema)]
pub struct AssignmentDetailDto {
    pub assignment: AssignmentDto,
    /// Rolled up over its child tasks.
    pub status: DirectiveStatusDto,
    pub reports: Vec<DirectiveReportDto>,
    pub extensions: Vec<DirectiveExtensionDto>,
    /// Its documents, oldest first.
    pub documents: Vec<DirectiveDocumentDto>,
}

/// A document attached to a directive assignment (or one of its reports); the signer fields
/// are set only for a signed one (verified TOTAL_PASSED when it was attached).
#[derive(Serialize, ToSchema)]
pub struct DirectiveDocumentDto {
    pub id: String,
    pub assignment: String,
    pub directive: String,
    /// The progress report it is attached to.
    pub report: Option<String>,
    pub name: String,
    pub media_type: String,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    pub size: i64,
    /// SHA-256 of the CMS signature (DER).
    pub signature_sha256: Option<String>,
    pub signer_subject: Option<String>,
    pub signer_serial: Option<String>,
    pub signer_issuer: Option<String>,
    /// SHA-256 of the signer certificate (DER).
    pub fingerprint: Option<String>,
    /// The user the certificate is mapped to.
    pub signer_user: Option<String>,
    /// The agency the certificate is mapped to, or whose key signed server-side.
    pub signer_agency: Option<String>,
    pub signing_time: Option<DateTime<Utc>>,
    pub server_side: bool,
    pub added_at: DateTime<Utc>,
    pub added_by: Option<String>,
}

/// Counts per status and the on-time rate (done on time / done; null when nothing is done).
#[derive(Serialize, ToSchema)]
pub struct DirectiveCountsDto {
    pub in_progress: u32,
    pub due_soon: u32,
    pub overdue: u32,
    pub done_on_time: u32,
    pub done_late: u32,
    pub total: u32,
    pub on_time_rate: Option<f64>,
}

/// Directive statistics.
#[derive(Serialize, ToSchema)]
pub struct DirectiveStatisticsDto {
    pub total: DirectiveCountsDto,
    /// Per agency code.
    pub by_agency: std::collections::BTreeMap<String, DirectiveCountsDto>,
    /// Per issuing leader.
    pub by_leader: std::collections::BTreeMap<String, DirectiveCountsDto>,
}

/// A peer's answer to a message.
#[derive(Serialize, ToSchema)]
pub struct ExchangeAckDto {
    /// The message id.
    pub id: String,
    /// The local dossier it took effect on.
    pub dossier_code: String,
    /// Applied before: nothing changed this time.
    pub duplicate: bool,
}

/// A message queued for a peer engine, with its delivery state.
#[derive(Serialize, ToSchema)]
pub struct ExchangeMessageDto {
    pub id: String,
    /// The receiving agency.
    pub peer: String,
    /// `dossier.transfer` or `dossier.status`.
    pub kind: String,
    pub dossier_code: String,
    pub created_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    /// When the peer acknowledged it.
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// A message sent or received, linked to the local dossier.
#[derive(Serialize, ToSchema)]
pub struct ExchangeLinkDto {
    pub message_id: String,
    pub dossier_code: String,
    /// `sent` or `received`.
    pub direction: String,
    pub kind: String,
    /// The other side's agency.
    pub peer: String,
    /// The dossier's code on the other side.
    pub remote_code: Option<String>,
    pub at: DateTime<Utc>,
}

/// A dossier's exchange with peer engines.
#[derive(Serialize, ToSchema)]
pub struct ExchangeDto {
    pub links: Vec<ExchangeLinkDto>,
    pub outbox: Vec<ExchangeMessageDto>,
}

#[cfg(test)]
#[path = "openapi_tests.rs"]
mod tests;
