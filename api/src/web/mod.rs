//! The web front for civil servants, leaders and citizens: server-rendered pages in Vietnamese
//! (minijinja templates under `api/templates/web/`, built into the binary), one small CSS file
//! and no JavaScript that needs building. `motcua serve` serves it beside the API; the
//! [`router`] is merged into [`crate::http::app`].
//!
//! | route | page | who |
//! | --- | --- | --- |
//! | `/web/login`, `/web/logout` | login (`session`) | everybody |
//! | `/web/tasks` | the agency's task queue (`tasks`) | logged in; the API's task scope |
//! | `/web/tasks/{id}` | a task: dossier, documents, form, claim, complete (`tasks`) | the same |
//! | `/tra-cuu?ma=CODE` | a dossier's public status (`tracking`) | public |
//! | `/web/processes/{key}` | the deployed BPMN drawn as SVG with live counts (`processes`) | logged in |
//! | `/web/ioc` | on-time rates, overdue counts, directives (`ioc`) | leaders, auditors, admins |
//!
//! The session (`session`) yields the API's [`Principal`], so a servant sees exactly what their
//! bearer token would let them see: another agency's task is a 404 page here as there. Every
//! form posts a CSRF token bound to the session. The bearer-token middleware lets these paths
//! through ([`is_web_path`]): they check the session cookie themselves. Handlers call the
//! engine facade only, like the API's.

pub mod ioc;
pub mod processes;
pub mod session;
pub mod svg;
pub mod tasks;
pub mod tracking;

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::{DateTime, FixedOffset, Utc};
use minijinja::Environment;
use serde::{Deserialize, Serialize};

use crate::http::auth::Principal;
use crate::http::extract::Caller;
use crate::http::{ApiError, AppState};
use session::{Session, SessionKey, Users, COOKIE, SESSION_SECONDS};

/// The built-in templates: (name, source).
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/web/base.html")),
    ("login.html", include_str!("../../templates/web/login.html")),
    ("tasks.html", include_str!("../../templates/web/tasks.html")),
    ("task.html", include_str!("../../templates/web/task.html")),
    (
        "tracking.html",
        include_str!("../../templates/web/tracking.html"),
    ),
    (
        "processes.html",
        include_str!("../../templates/web/processes.html"),
    ),
    (
        "process.html",
        include_str!("../../templates/web/process.html"),
    ),
    ("ioc.html", include_str!("../../templates/web/ioc.html")),
    ("error.html", include_str!("../../templates/web/error.html")),
];

/// The shared stylesheet.
const STYLE: &str = include_str!("../../templates/web/style.css");

/// Whether a path belongs to the web front (the bearer-token middleware lets it through: the
/// pages check the session cookie).
pub fn is_web_path(path: &str) -> bool {
    path == "/web" || path.starts_with("/web/") || path == "/tra-cuu"
}

/// What the web front needs: its users, the session key and the templates.
pub struct Web {
    users: Users,
    key: SessionKey,
    env: Environment<'static>,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web")
            .field("users", &self.users.len())
            .finish()
    }
}

impl Web {
    /// The web front with these users, signing sessions with `key`.
    pub fn new(users: Users, key: SessionKey) -> Web {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_loader(|name| {
            Ok(TEMPLATES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| (*s).to_owned()))
        });
        Web { users, key, env }
    }

    /// No users (nobody can log in; the public tracking page still works), a random key.
    pub fn without_users() -> Web {
        let key = SessionKey::random().unwrap_or_else(|_| SessionKey::from_bytes(rand_fallback()));
        Web::new(Users::default(), key)
    }

    /// Renders a page.
    pub fn render(&self, name: &str, context: minijinja::Value) -> Result<Response, WebError> {
        let template = self.env.get_template(name).map_err(template_error)?;
        let html = template.render(context).map_err(template_error)?;
        Ok(Html(html).into_response())
    }
}

/// A last resort when OpenSSL has no random bytes: the start time's bits (sessions then only
/// need to outlive nothing secret; logins still require the password).
fn rand_fallback() -> [u8; 32] {
    let now = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = (now >> ((i % 8) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
    }
    key
}

fn template_error(e: minijinja::Error) -> WebError {
    tracing::error!(error = %e, "a web template failed");
    WebError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Lỗi hệ thống: không hiển thị được trang.",
    )
}

/// The web routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web", get(|| async { Redirect::to("/web/tasks") }))
        .route("/web/", get(|| async { Redirect::to("/web/tasks") }))
        .route("/web/static/style.css", get(style))
        .route("/web/login", get(login_page).post(login))
        .route("/web/logout", axum::routing::post(logout))
        .merge(tasks::router())
        .merge(tracking::router())
        .merge(processes::router())
        .merge(ioc::router())
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLE,
    )
        .into_response()
}

/// A failed page: an HTML page with a Vietnamese message, never the engine's text.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    message: String,
}

impl WebError {
    /// A page with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError {
            status,
            message: message.into(),
        }
    }

    /// The 404 page (also for rows the user may not see).
    pub fn not_found() -> WebError {
        WebError::new(
            StatusCode::NOT_FOUND,
            "Không tìm thấy trang hoặc hồ sơ này, hoặc bạn không có quyền xem.",
        )
    }

    /// The 403 page.
    pub fn forbidden() -> WebError {
        WebError::new(
            StatusCode::FORBIDDEN,
            "Vai trò của bạn không được phép dùng trang này.",
        )
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> WebError {
        let status = e.into_response().status();
        let message = match status {
            StatusCode::NOT_FOUND => return WebError::not_found(),
            StatusCode::FORBIDDEN => return WebError::forbidden(),
            StatusCode::BAD_REQUEST => "Yêu cầu không hợp lệ.",
            StatusCode::CONFLICT => {
                "Dữ liệu vừa được người khác thay đổi hoặc không còn ở trạng thái phù hợp; hãy tải lại trang."
            }
            StatusCode::UNPROCESSABLE_ENTITY => "Thao tác không phù hợp với trạng thái hiện tại.",
            _ => "Lỗi hệ thống. Vui lòng thử lại sau.",
        };
        WebError::new(status, message)
    }
}

impl From<motcua_engine::EngineError> for WebError {
    fn from(e: motcua_engine::EngineError) -> WebError {
        ApiError::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let web = Web::without_users();
        let page = web
            .env
            .get_template("error.html")
            .and_then(|t| {
                t.render(minijinja::context! {
                    title => "Có lỗi",
                    status => self.status.as_u16(),
                    message => self.message,
                })
            })
            .unwrap_or_else(|_| "Lỗi hệ thống".to_owned());
        (self.status, Html(page)).into_response()
    }
}

/// The user of a page: a valid session cookie, or a redirect to the login page.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// The cookie's session.
    pub session: Session,
    /// The API's principal for it.
    pub principal: Principal,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
}

impl LoggedIn {
    /// The API's caller for engine calls made for this user.
    pub fn caller(&self) -> Caller {
        Caller {
            user: Some(self.principal.user.clone()),
            idempotency_key: None,
            principal: Some(Arc::new(self.principal.clone())),
        }
    }

    /// What every page's header shows.
    pub fn header(&self) -> minijinja::Value {
        minijinja::context! {
            id => self.session.u,
            name => self.session.name,
            role => role_label(&self.session.r),
            agency => self.session.a,
            csrf => self.csrf,
            sees_ioc => self.sees_ioc(),
        }
    }

    /// Leaders, auditors and administrators see the IOC dashboard.
    pub fn sees_ioc(&self) -> bool {
        use crate::http::auth::Role;
        matches!(
            self.principal.role,
            Role::Leader | Role::Auditor | Role::Admin
        )
    }

    /// A 403 page unless the CSRF token is this session's.
    pub fn check_csrf(&self, state: &AppState, token: &str) -> Result<(), WebError> {
        if state.web.key.csrf_ok(&self.session, token) {
            return Ok(());
        }
        Err(WebError::new(
            StatusCode::FORBIDDEN,
            "Phiên làm việc của biểu mẫu không hợp lệ hoặc đã hết hạn; hãy tải lại trang và thử lại.",
        ))
    }
}

impl FromRequestParts<AppState> for LoggedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let now = Utc::now().timestamp();
        let session = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| session::cookie(h, COOKIE))
            .and_then(|v| state.web.key.open(v, now));
        let found = session.and_then(|s| s.principal().map(|p| (s, p)));
        match found {
            Some((session, principal)) => {
                let csrf = state.web.key.csrf(&session);
                Ok(LoggedIn {
                    session,
                    principal,
                    csrf,
                })
            }
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/web/tasks");
                let target = format!("/web/login?next={}", url_encode(next));
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A `next` target that stays on this site's web pages (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/web/") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/web/tasks".to_owned(),
    }
}

/// The role's Vietnamese name.
pub fn role_label(role: &str) -> &'static str {
    match role {
        "servant" => "Công chức",
        "leader" => "Lãnh đạo",
        "auditor" => "Thanh tra",
        "admin" => "Quản trị",
        "designer" => "Thiết kế quy trình",
        "integrator" => "Hệ thống tích hợp",
        "worker" => "Tiến trình xử lý",
        _ => "Người dùng",
    }
}

/// A time as `dd/mm/yyyy HH:MM` in Vietnam (UTC+7).
pub fn vn_time(t: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(7 * 3600) {
        Some(offset) => t
            .with_timezone(&offset)
            .format("%d/%m/%Y %H:%M")
            .to_string(),
        None => t.format("%d/%m/%Y %H:%M UTC").to_string(),
    }
}

/// A date as `dd/mm/yyyy` in Vietnam.
pub fn vn_date(t: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(7 * 3600) {
        Some(offset) => t.with_timezone(&offset).format("%d/%m/%Y").to_string(),
        None => t.format("%d/%m/%Y").to_string(),
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[derive(Serialize)]
struct LoginView<'a> {
    title: &'a str,
    next: String,
    user: &'a str,
    error: Option<&'a str>,
    no_users: bool,
}

async fn login_page(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Result<Response, WebError> {
    state.web.render(
        "login.html",
        minijinja::Value::from_serialize(LoginView {
            title: "Đăng nhập",
            next: safe_next(q.next.as_deref()),
            user: "",
            error: None,
            no_users: state.web.users.is_empty(),
        }),
    )
}

async fn login(
    State(state): State<AppState>,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let next = safe_next(form.next.as_deref());
    let web = state.web.clone();
    let (user, password) = (form.user.trim().to_owned(), form.password);
    // PBKDF2 is slow on purpose: off the async workers.
    let checked =
        tokio::task::spawn_blocking(move || web.users.check(&user, &password).cloned().ok_or(user))
            .await
            .map_err(|_| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "Lỗi hệ thống."))?;
    match checked {
        Ok(user) => {
            let session = Session::new(&user, Utc::now().timestamp());
            let cookie = format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}",
                state.web.key.seal(&session)
            );
            tracing::info!(user = %user.id, "web login");
            let mut response = Redirect::to(&next).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            Ok(response)
        }
        Err(user) => {
            tracing::info!(user = %user, "web login refused");
            let mut response = state.web.render(
                "login.html",
                minijinja::Value::from_serialize(LoginView {
                    title: "Đăng nhập",
                    next,
                    user: &user,
                    error: Some("Tên đăng nhập hoặc mật khẩu không đúng."),
                    no_users: state.web.users.is_empty(),
                }),
            )?;
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(response)
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    user: LoggedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    user.check_csrf(&state, &form.csrf)?;
    let mut response = Redirect::to("/web/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("motcua_web=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}
