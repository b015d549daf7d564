//! The router called in process with `oneshot`: every rejection is problem+json with the right
//! status and code. The whole life of a procedure over real HTTP, against the `motcua serve`
//! binary, is in `api/tests/http.rs`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use motcua_engine::store::any::AnyStore;
use motcua_engine::{Durability, Engine, SystemClock};
use serde_json::Value;
use tower::ServiceExt;

use super::{app, AppState};

async fn state(dir: &tempfile::TempDir) -> AppState {
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let store = AnyStore::open(&url, Durability::Normal)
        .await
        .expect("open SQLite");
    AppState::new(Arc::new(Engine::new(store, Arc::new(SystemClock))))
}

/// Sends one request; returns the status, the content type and the body as JSON (or as a JSON
/// string when it is not JSON).
async fn call(
    state: &AppState,
    method: Method,
    uri: &str,
    body: Option<&str>,
) -> (StatusCode, String, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(Body::from(body.unwrap_or_default().to_owned()))
        .expect("a request");
    let response = app(state.clone()).oneshot(request).await.expect("answered");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, content_type, json)
}

/// Table-driven: (method, uri, body) → (status, code).
#[tokio::test]
async fn every_rejection_is_problem_json() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let state = state(&dir).await;
    let task = "/tasks/0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d".to_owned();
    let job = "/external-tasks/0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d";
    // (method, path, body, status, code)
    #[rustfmt::skip]
    let cases: Vec<(Method, String, Option<&str>, u16, &str)> = vec![
        (Method::POST, "/process-instances".into(), Some("{\"key\": "), 400, "invalid"),
        (Method::POST, "/process-instances".into(), Some("[1, 2]"), 400, "invalid"),
        (Method::POST, "/process-instances".into(), Some("{\"key\": \"k\", \"variabels\": {}}"), 400, "invalid"),
        (Method::POST, "/process-instances".into(), Some("{\"key\": \"k\", \"variables\": [1]}"), 400, "invalid"),
        (Method::POST, "/process-instances".into(), None, 400, "invalid"),
        (Method::POST, "/process-instances".into(), Some("{\"key\": \"none\"}"), 404, "not-found"),
        (Method::GET, "/tasks/not-a-uuid".into(), None, 400, "invalid"),
        (Method::GET, task.clone(), None, 404, "not-found"),
        (Method::POST, format!("{task}/claim"), Some("{\"user\": \"lan\"}"), 404, "not-found"),
        (Method::POST, format!("{task}/claim"), None, 400, "invalid"),
        (Method::POST, format!("{task}/complete"), Some("{\"variables\": 3}"), 400, "invalid"),
        (Method::GET, "/tasks?limit=0".into(), None, 400, "invalid"),
        (Method::GET, "/tasks?limit=-1".into(), None, 400, "invalid"),
        (Method::GET, "/tasks?sort=name".into(), None, 400, "invalid"),
        (Method::GET, "/tasks?dueBefore=tomorrow".into(), None, 400, "invalid"),
        (Method::GET, "/tasks?grup=mot-cua".into(), None, 400, "invalid"),
        (Method::GET, "/tasks?overdue=maybe".into(), None, 400, "invalid"),
        (Method::GET, "/process-instances/x/journal".into(), None, 400, "invalid"),
        (Method::GET, "/definitions/none/xml".into(), None, 404, "not-found"),
        (Method::GET, "/definitions/none/xml?version=x".into(), None, 400, "invalid"),
        (Method::POST, "/deployments".into(), Some("{\"files\": []}"), 400, "invalid"),
        (Method::POST, "/external-tasks/fetch-and-lock".into(), Some("{\"workerId\": \"w\", \"topic\": \"t\", \"lockSeconds\": 0}"), 400, "invalid"),
        (Method::POST, "/external-tasks/fetch-and-lock".into(), Some("{\"workerId\": \"w\", \"topic\": \"t\", \"maxTasks\": 99999999999}"), 400, "invalid"),
        (Method::POST, format!("{job}/complete"), Some("{\"workerId\": \"w\"}"), 404, "not-found"),
        (Method::POST, "/incidents/0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d/retry".into(), Some("{\"retries\": 0}"), 400, "invalid"),
        (Method::GET, "/no-such-thing".into(), None, 404, "not-found"),
        (Method::DELETE, "/tasks".into(), None, 405, "method-not-allowed"),
    ];
    for (method, uri, body, status, code) in cases {
        let (got, content_type, json) = call(&state, method.clone(), &uri, body).await;
        let what = format!("{method} {uri} {body:?}: {json}");
        assert_eq!(got.as_u16(), status, "{what}");
        assert_eq!(content_type, "application/problem+json", "{what}");
        assert_eq!(json["code"], code, "{what}");
        assert_eq!(json["status"], status, "{what}");
        assert_eq!(json["type"], format!("urn:motcua:problem:{code}"), "{what}");
        assert!(
            json["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}"
        );
    }
}

#[tokio::test]
async fn health_and_an_empty_queue() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let state = state(&dir).await;
    let (status, _, body) = call(&state, Method::GET, "/healthz", None).await;
    assert_eq!((status, body), (StatusCode::OK, Value::from("ok")));
    let (status, _, _) = call(&state, Method::GET, "/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = call(&state, Method::GET, "/tasks?group=&overdue=true", None).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Array(vec![])));
    state.engine.store().close().await;
    let (status, _, _) = call(&state, Method::GET, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test";

fn token(role: &str, agency: Option<&str>, exp_offset: i64) -> String {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let claims = super::auth::Claims {
        sub: "lan".into(),
        role: role.into(),
        agency: agency.map(str::to_owned),
        groups: vec!["mot-cua".into()],
        exp: (now + exp_offset) as u64,
        iat: None,
        iss: None,
    };
    crate::token::sign(SECRET, &claims).expect("signed")
}

/// With a key configured: 401 (with `WWW-Authenticate`) without a valid token, 403 for a role
/// the route does not allow, and the probes stay open.
#[tokio::test]
async fn tokens_are_required_when_a_key_is_configured() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let state = state(&dir)
        .await
        .with_auth(super::auth::Keys::secret(SECRET).expect("a key"));
    let send = |uri: &'static str, method: Method, auth: Option<String>| {
        let state = state.clone();
        async move {
            let mut request = Request::builder().method(method).uri(uri);
            if let Some(a) = auth {
                request = request.header(header::AUTHORIZATION, a);
            }
            request = request.header(header::CONTENT_TYPE, "application/json");
            let response = app(state)
                .oneshot(
                    request
                        .body(Body::from("{\"files\": []}"))
                        .expect("a request"),
                )
                .await
                .expect("answered");
            let challenge = response.headers().get(header::WWW_AUTHENTICATE).cloned();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a body");
            let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            (
                json["status"].as_u64().unwrap_or(200),
                json["code"].clone(),
                challenge,
            )
        }
    };
    let bearer = |t: String| Some(format!("Bearer {t}"));
    #[rustfmt::skip]
    let cases: Vec<(&'static str, Method, Option<String>, u64, &str)> = vec![
        ("/tasks", Method::GET, None, 401, "unauthorized"),
        ("/no-such-thing", Method::GET, None, 401, "unauthorized"),
        ("/tasks", Method::GET, Some("Basic bGFuOng=".into()), 401, "unauthorized"),
        ("/tasks", Method::GET, bearer("not.a.jwt".into()), 401, "unauthorized"),
        ("/tasks", Method::GET, bearer(token("servant", Some("a"), -120)), 401, "unauthorized"),
        ("/tasks", Method::GET, bearer(token("pope", Some("a"), 600)), 403, "forbidden"),
        ("/tasks", Method::GET, bearer(token("servant", None, 600)), 403, "forbidden"),
        ("/tasks", Method::GET, bearer(token("designer", None, 600)), 403, "forbidden"),
        ("/deployments", Method::POST, bearer(token("servant", Some("a"), 600)), 403, "forbidden"),
        ("/deployments", Method::POST, bearer(token("designer", None, 600)), 400, "invalid"),
        ("/incidents", Method::GET, bearer(token("integrator", None, 600)), 403, "forbidden"),
    ];
    for (uri, method, auth, status, code) in cases {
        let what = format!("{method} {uri} {auth:?}");
        let (got, got_code, challenge) = send(uri, method, auth).await;
        assert_eq!(
            (got, got_code.as_str().unwrap_or_default()),
            (status, code),
            "{what}"
        );
        assert_eq!(challenge.is_some(), status == 401, "{what}");
    }
    // An expired token within the leeway still works; the probes need none.
    let (status, _, _) = send(
        "/tasks",
        Method::GET,
        bearer(token("servant", Some("a"), -10)),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = send("/healthz", Method::GET, None).await;
    assert_eq!(status, 200);
}
