//! Bearer tokens and roles: who may call what, and which rows they may see.
//!
//! With no key configured `motcua serve` runs in open development mode: every request is
//! allowed and the `X-Motcua-User` header names the actor. With a key ([`Keys::secret`] for
//! HS256, [`Keys::jwks`] for RS256/ES256 public keys of an identity provider) every route but
//! [`PUBLIC_PATHS`] needs `Authorization: Bearer <JWT>`: the [`authenticate`] middleware checks the
//! signature, `exp` (30 s leeway), `iss` and `aud` when configured, and puts the token's
//! [`Principal`] into the request; the `Caller` extractor hands it to handlers.
//!
//! Authorisation has two halves. [`allows`] is the role table (a route a role may not use is a 403
//! `forbidden`); [`Principal::task_scope`], [`Principal::sees_task`] and
//! [`Principal::sees_agency`] restrict rows where they are read, so a civil servant of one agency
//! never sees, claims or completes another agency's tasks or instances: those answer 404
//! `not-found`, exactly like ids that do not exist.
//!
//! | action | designer | servant | leader | auditor | integrator | worker | admin |
//! | --- | --- | --- | --- | --- | --- | --- | --- |
//! | deploy | ✓ | | | | | | ✓ |
//! | read definitions | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | start an instance | | ✓ | | | ✓ | | ✓ |
//! | read an instance | | own agency | ✓ | ✓ | ✓ | | ✓ |
//! | read a journal | | own agency | ✓ | ✓ | | | ✓ |
//! | cancel an instance | | | own agency | | | | ✓ |
//! | read tasks | | own agency and groups | ✓ | ✓ | | | ✓ |
//! | claim, unclaim, complete | | own agency and groups | own agency | | | | ✓ |
//! | external tasks | | | | | | ✓ | ✓ |
//! | read incidents | | | ✓ | ✓ | | | ✓ |
//! | retry an incident | | | | | | | ✓ |
//! | events, statistics | | | ✓ | ✓ | ✓ | | ✓ |

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use motcua_engine::store::{TaskRow, Workable};
use motcua_engine::TaskQuery;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::state::AppState;

/// Routes that need no token (load balancers, orchestrators and Prometheus probe them; the API's
/// own description is public).
pub const PUBLIC_PATHS: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    // Peer engines authenticate each message with the sending agency's signature.
    "/exchange/messages",
];

/// How far a token's `exp` may be in the past (clock skew between the issuer and us).
pub const LEEWAY_SECONDS: u64 = 30;

/// A role, from the token's `role` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Process designer: deploys and reads definitions.
    Designer,
    /// Civil servant: works the task queue of one agency and its groups.
    Servant,
    /// Leader: reads every agency's tasks and instances; works and cancels in their own agency.
    Leader,
    /// Auditor: reads everything, changes nothing.
    Auditor,
    /// An integrated system (portal, Hue-S, IOC): submits dossiers, reads their status.
    Integrator,
    /// An external worker: fetches, completes and fails external-task jobs.
    Worker,
    /// Everything.
    Admin,
}

impl Role {
    /// Every role, in the order of the table above.
    pub const ALL: [Role; 7] = [
        Role::Designer,
        Role::Servant,
        Role::Leader,
        Role::Auditor,
        Role::Integrator,
        Role::Worker,
        Role::Admin,
    ];

    /// The claim's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Designer => "designer",
            Role::Servant => "servant",
            Role::Leader => "leader",
            Role::Auditor => "auditor",
            Role::Integrator => "integrator",
            Role::Worker => "worker",
            Role::Admin => "admin",
        }
    }

    /// Parses a claim's spelling.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// What a request does, for the role table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST /deployments`.
    Deploy,
    /// `GET /definitions...`.
    ReadDefinitions,
    /// `POST /process-instances`.
    StartInstance,
    /// `GET /process-instances/{id}`.
    ReadInstance,
    /// `GET /process-instances/{id}/journal`.
    ReadJournal,
    /// `POST /process-instances/{id}/cancel`.
    CancelInstance,
    /// `GET /tasks`, `GET /tasks/{id}`.
    ReadTasks,
    /// Claim, unclaim and complete a task.
    WorkTasks,
    /// `/external-tasks/...`.
    ExternalTasks,
    /// `GET /incidents`.
    ReadIncidents,
    /// `POST /incidents/{job}/retry`.
    RetryIncidents,
    /// The event feed.
    ReadEvents,
    /// Statistics.
    ReadStatistics,
    /// `/webhooks`: subscribe, list and unsubscribe outbound webhooks.
    ManageWebhooks,
    /// Read directive assignments and their statistics.
    ReadDirectives,
    /// `POST /directives`.
    IssueDirectives,
    /// Report progress, request extensions, complete, split into child tasks.
    WorkDirectives,
    /// Decide extensions, accept or reopen (the directive's issuer).
    DecideDirectives,
}

/// The role table: whether `role` may do `action` at all. Rows are then restricted by agency
/// where they are read (servants), or by agency for commands (servants and leaders).
// A `match` keeps the table one row per role; `matches!` would fold it into one pattern.
#[allow(clippy::match_like_matches_macro)]
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match (role, action) {
        (Admin, _) => true,
        (_, ReadDefinitions) => true,
        (Designer, Deploy) => true,
        (
            Servant,
            StartInstance | ReadInstance | ReadJournal | ReadTasks | WorkTasks | ReadDirectives
            | WorkDirectives,
        ) => true,
        (
            Leader,
            ReadInstance | ReadJournal | CancelInstance | ReadTasks | WorkTasks | ReadIncidents
            | ReadEvents | ReadStatistics | ReadDirectives | IssueDirectives | WorkDirectives
            | DecideDirectives,
        ) => true,
        (
            Auditor,
            ReadInstance | ReadJournal | ReadTasks | ReadIncidents | ReadEvents | ReadStatistics
            | ReadDirectives,
        ) => true,
        (
            Integrator,
            StartInstance | ReadInstance | ReadEvents | ReadStatistics | ManageWebhooks
            | ReadDirectives,
        ) => true,
        (Worker, ExternalTasks) => true,
        _ => false,
    }
}

/// The claims motcua reads from (and `motcua token` writes into) a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id: the actor recorded in the journal.
    pub sub: String,
    /// One of the [`Role`]s.
    pub role: String,
    /// The agency of a servant or a leader (e.g. `000.00.02.H22`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// The user's candidate groups (e.g. `mot-cua`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Expiry, seconds since 1970.
    pub exp: u64,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`.
    pub user: String,
    /// The token's role.
    pub role: Role,
    /// The token's agency.
    pub agency: Option<String>,
    /// The token's groups.
    pub groups: Vec<String>,
}

impl Principal {
    /// A 403 unless the role may do `action`.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if allows(self.role, action) {
            return Ok(());
        }
        Err(ApiError::Forbidden(format!(
            "the role '{}' may not do this",
            self.role.as_str()
        )))
    }

    /// Narrows a task query to the rows this caller may read: a servant reads the tasks of
    /// their agency that they may work; everybody else allowed to read tasks reads them all.
    pub fn task_scope(&self, query: &mut TaskQuery) {
        if self.role == Role::Servant {
            query.agency = Some(self.agency.clone().unwrap_or_default());
            query.workable_by = Some(self.workable());
        }
    }

    fn workable(&self) -> Workable {
        Workable {
            user: self.user.clone(),
            groups: self.groups.clone(),
        }
    }

    /// Whether this caller may read `task` (the same rule as [`Principal::task_scope`]).
    pub fn sees_task(&self, task: &TaskRow) -> bool {
        match self.role {
            Role::Servant => {
                task.record.agency.is_some()
                    && task.record.agency == self.agency
                    && self.workable().matches(&task.record)
            }
            role => allows(role, Action::ReadTasks),
        }
    }

    /// Whether this caller may claim, unclaim or complete `task`, which they can see:
    /// a servant any task they see, a leader only their own agency's.
    pub fn works_task(&self, task: &TaskRow) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Servant => self.sees_task(task),
            Role::Leader => task.record.agency.is_some() && task.record.agency == self.agency,
            _ => false,
        }
    }

    /// Whether this caller may read an instance of a process owned by `agency`: servants only
    /// their own agency's.
    pub fn sees_agency(&self, agency: Option<&str>) -> bool {
        match self.role {
            Role::Servant => agency.is_some() && agency == self.agency.as_deref(),
            _ => true,
        }
    }
}

/// The verification keys and rules, from configuration.
pub struct Keys {
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("keys", &self.keys.len())
            .field("algorithms", &self.validation.algorithms)
            .finish()
    }
}

/// Where `motcua serve` reads its keys from.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// A file holding the HS256 shared secret.
    pub secret_file: Option<std::path::PathBuf>,
    /// A JWKS file of RS256/ES256 public keys.
    pub jwks_file: Option<std::path::PathBuf>,
    /// The required `iss`.
    pub issuer: Option<String>,
    /// The required `aud`.
    pub audience: Option<String>,
}

impl AuthConfig {
    /// The keys, or `None` for open development mode (no key configured).
    pub fn load(&self) -> Result<Option<Keys>> {
        let mut keys = match (&self.secret_file, &self.jwks_file) {
            (Some(_), Some(_)) => bail!("give --jwt-secret-file or --jwks-file, not both"),
            (None, None) => {
                if self.issuer.is_some() || self.audience.is_some() {
                    bail!("--jwt-issuer and --jwt-audience need --jwt-secret-file or --jwks-file");
                }
                return Ok(None);
            }
            (Some(path), None) => Keys::secret(&read_secret(path)?)?,
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the JWKS file {}", path.display()))?;
                Keys::jwks(&text).with_context(|| format!("bad JWKS file {}", path.display()))?
            }
        };
        if let Some(iss) = &self.issuer {
            keys.validation.set_issuer(&[iss]);
            keys.validation.required_spec_claims.insert("iss".into());
        }
        if let Some(aud) = &self.audience {
            keys.validation.set_audience(&[aud]);
            keys.validation.validate_aud = true;
            keys.validation.required_spec_claims.insert("aud".into());
        }
        Ok(Some(keys))
    }
}

/// Reads a shared secret file: its bytes, without a trailing newline.
pub fn read_secret(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the secret file {}", path.display()))?;
    while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
        bytes.pop();
    }
    Ok(bytes)
}

fn validation(algorithms: Vec<Algorithm>) -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.algorithms = algorithms;
    v.leeway = LEEWAY_SECONDS;
    v.validate_aud = false;
    v.required_spec_claims = HashSet::from(["exp".to_owned()]);
    v
}

impl Keys {
    /// An HS256 shared secret (at least 32 bytes).
    pub fn secret(secret: &[u8]) -> Result<Keys> {
        if secret.len() < 32 {
            bail!(
                "the JWT secret has {} bytes; HS256 needs at least 32 (e.g. `openssl rand -hex 32`)",
                secret.len()
            );
        }
        Ok(Keys {
            keys: vec![(None, DecodingKey::from_secret(secret))],
            validation: validation(vec![Algorithm::HS256]),
        })
    }

    /// The RS256 and ES256 public keys of a JWKS document.
    pub fn jwks(text: &str) -> Result<Keys> {
        let set: JwkSet = serde_json::from_str(text).context("not a JWKS document")?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let key = DecodingKey::from_jwk(jwk).context("a key of the JWKS cannot be used")?;
            keys.push((jwk.common.key_id.clone(), key));
        }
        if keys.is_empty() {
            bail!("the JWKS has no keys");
        }
        Ok(Keys {
            keys,
            validation: validation(vec![Algorithm::RS256, Algorithm::ES256]),
        })
    }

    /// Checks a token and returns its caller.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let invalid = |why: &str| ApiError::Unauthorized(format!("the bearer token {why}"));
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid("is not a well-formed JWT"))?;
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(invalid(
                "is signed with an algorithm this server does not accept",
            ));
        }
        let candidates: Vec<&DecodingKey> = match &header.kid {
            Some(kid) if self.keys.iter().any(|(k, _)| k.as_deref() == Some(kid)) => self
                .keys
                .iter()
                .filter(|(k, _)| k.as_deref() == Some(kid))
                .map(|(_, key)| key)
                .collect(),
            _ => self.keys.iter().map(|(_, key)| key).collect(),
        };
        // jsonwebtoken wants every accepted algorithm to fit the key: accept the header's one.
        let mut validation = self.validation.clone();
        validation.algorithms = vec![header.alg];
        let mut last = invalid("has a signature that does not verify");
        for key in candidates {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => return principal(data.claims),
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind;
                    last = match e.kind() {
                        ErrorKind::InvalidSignature
                        | ErrorKind::InvalidAlgorithm
                        | ErrorKind::InvalidKeyFormat
                        | ErrorKind::InvalidEcdsaKey
                        | ErrorKind::InvalidRsaKey(_) => {
                            invalid("has a signature that does not verify")
                        }
                        ErrorKind::ExpiredSignature => invalid("has expired"),
                        ErrorKind::InvalidIssuer => invalid("has the wrong issuer"),
                        ErrorKind::InvalidAudience => invalid("has the wrong audience"),
                        ErrorKind::MissingRequiredClaim(c) => invalid(&format!("lacks '{c}'")),
                        ErrorKind::ImmatureSignature => invalid("is not valid yet"),
                        _ => invalid("is not a valid motcua token"),
                    };
                    // Only a bad signature is worth trying the next key for.
                    if !matches!(e.kind(), ErrorKind::InvalidSignature) {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }
}

fn principal(claims: Claims) -> Result<Principal, ApiError> {
    let Some(role) = Role::parse(&claims.role) else {
        return Err(ApiError::Forbidden(format!(
            "the token's role '{}' is not one of designer, servant, leader, auditor, \
             integrator, worker, admin",
            claims.role
        )));
    };
    if claims.sub.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "the bearer token has no 'sub'".into(),
        ));
    }
    let agency = claims.agency.filter(|a| !a.trim().is_empty());
    if role == Role::Servant && agency.is_none() {
        return Err(ApiError::Forbidden(
            "a servant's token must name the agency ('agency' claim)".into(),
        ));
    }
    Ok(Principal {
        user: claims.sub,
        role,
        agency,
        groups: claims.groups,
    })
}

/// The middleware: with keys configured, every route but [`PUBLIC_PATHS`] needs a valid bearer
/// token, whose [`Principal`] is put into the request's extensions.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(keys) = state.auth.as_ref() else {
        return next.run(request).await;
    };
    // The web pages check their own session cookie (crate::web).
    if PUBLIC_PATHS.contains(&request.uri().path()) || crate::web::is_web_path(request.uri().path())
    {
        return next.run(request).await;
    }
    match bearer(&request).and_then(|token| keys.verify(token)) {
        Ok(principal) => {
            request.extensions_mut().insert(Arc::new(principal));
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

fn bearer(request: &Request) -> Result<&str, ApiError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(
            "send a bearer token: Authorization: Bearer <JWT>".into(),
        ));
    };
    let text = value.to_str().unwrap_or_default().trim();
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::Unauthorized(
            "the Authorization header must be 'Bearer <JWT>'".into(),
        )),
    }
}
