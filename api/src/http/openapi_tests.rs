//! The OpenAPI document: it is OpenAPI 3, it names exactly the routes the router serves, every
//! operation that can fail names its problem+json answers, and `/docs` is a page of it.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use motcua_engine::store::any::AnyStore;
use motcua_engine::{Durability, Engine, SystemClock};
use serde_json::Value;
use tower::ServiceExt;

use crate::http::{app, AppState};

/// Every route `app` serves, by hand: a route added to the router and not here, or here and
/// not in the document, fails [`the_document_lists_every_route`].
const ROUTES: &[(&str, &str)] = &[
    ("post", "/deployments"),
    ("get", "/definitions"),
    ("get", "/definitions/{key}"),
    ("get", "/definitions/{key}/xml"),
    ("post", "/process-instances"),
    ("get", "/process-instances/{id}"),
    ("get", "/process-instances/{id}/journal"),
    ("post", "/process-instances/{id}/cancel"),
    ("get", "/tasks"),
    ("get", "/tasks/{id}"),
    ("get", "/tasks/{id}/identity-links"),
    ("post", "/tasks/{id}/claim"),
    ("post", "/tasks/{id}/unclaim"),
    ("post", "/tasks/{id}/complete"),
    ("get", "/tasks/count"),
    ("post", "/tasks/{id}/assign"),
    ("post", "/tasks/{id}/delegate"),
    ("post", "/tasks/{id}/resolve"),
    ("post", "/external-tasks/fetch-and-lock"),
    ("post", "/external-tasks/{id}/complete"),
    ("post", "/external-tasks/{id}/failure"),
    ("get", "/incidents"),
    ("post", "/incidents/{job}/retry"),
    ("post", "/messages"),
    ("get", "/events"),
    ("get", "/events/stream"),
    ("get", "/statistics"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
    ("post", "/webhooks"),
    ("post", "/directives"),
    ("get", "/directive-assignments"),
    ("get", "/directive-assignments.csv"),
    ("get", "/directive-assignments/{id}"),
    ("post", "/directive-assignments/{id}/children"),
    ("post", "/directive-assignments/{id}/reports"),
    ("post", "/directive-assignments/{id}/extension-requests"),
    ("post", "/directive-assignments/{id}/extension-decision"),
    ("post", "/directive-assignments/{id}/completion"),
    ("post", "/directive-assignments/{id}/acceptance"),
    ("get", "/directive-statistics"),
    ("get", "/directive-statistics/prometheus"),
    ("post", "/directive-assignments/{id}/documents"),
    ("get", "/directive-assignments/{id}/documents"),
    ("get", "/directive-assignments/{id}/documents/{document}"),
    ("post", "/exchange/messages"),
    ("post", "/dossiers/{code}/exchange"),
    ("get", "/dossiers/{code}/exchange"),
    ("get", "/webhooks"),
    ("delete", "/webhooks/{id}"),
    ("post", "/dossiers"),
    ("get", "/dossiers/{code}"),
    ("get", "/dossiers/{code}/documents"),
    ("post", "/dossiers/{code}/documents"),
    ("get", "/dossiers/{code}/documents/{slot}/{version}"),
    (
        "post",
        "/dossiers/{code}/documents/{slot}/{version}/certify",
    ),
    ("post", "/dossiers/{code}/documents/{slot}/signatures"),
    ("post", "/dossiers/{code}/documents/{slot}/sign"),
    ("get", "/dossiers/{code}/signatures"),
    ("get", "/dossiers/{code}/export"),
    ("get", "/dossiers/{code}/verification"),
    ("post", "/verify"),
    ("post", "/dossiers/{code}/transition"),
    ("get", "/dossiers/{code}/slips/{form}"),
    ("get", "/applicants/{kind}/{id}/documents"),
    ("get", "/agencies/{agency}/register"),
    ("post", "/dossiers/{code}/transfers"),
    ("get", "/dossiers/{code}/transfers"),
    ("post", "/transfers/{id}/accept"),
    ("post", "/transfers/{id}/return"),
    ("get", "/dossiers/{code}/portal-sync"),
    ("get", "/forms/{id}"),
    ("get", "/tasks/{id}/form"),
];

/// Operations that answer no problem+json (plain-text probes and the document itself).
const NEVER_FAIL: &[&str] = &["/healthz", "/readyz", "/openapi.json", "/docs"];

const PROBLEM_REF: &str = "#/components/schemas/Problem";

async fn state(dir: &tempfile::TempDir) -> AppState {
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let store = AnyStore::open(&url, Durability::Normal)
        .await
        .expect("open SQLite");
    AppState::new(Arc::new(Engine::new(store, Arc::new(SystemClock))))
}

/// Sends a request; returns the status, the content type and (unless it is a stream) the body.
async fn call(state: &AppState, method: Method, uri: &str) -> (StatusCode, String, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .expect("a request");
    let response = app(state.clone()).oneshot(request).await.expect("answered");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type.starts_with("text/event-stream") {
        return (status, content_type, String::new());
    }
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    (
        status,
        content_type,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn document(state: &AppState) -> Value {
    let (status, content_type, body) = call(state, Method::GET, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    serde_json::from_str(&body).expect("the document is JSON")
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            out.push((method.clone(), path.clone(), op));
        }
    }
    out
}

#[tokio::test]
async fn the_document_is_openapi_3() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let doc = document(&state(&dir).await).await;
    let version = doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert_eq!(doc["info"]["title"], "motcua");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let ids: Vec<&str> = operations(&doc)
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().expect("an operationId"))
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "operationIds are unique: {ids:?}");
    // Every schema referenced anywhere is defined.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"").skip(1) {
        let reference = piece.split('"').next().unwrap_or_default();
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{name} is referenced, not defined"
        );
    }
}

#[tokio::test]
async fn the_document_lists_every_route() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let state = state(&dir).await;
    let doc = document(&state).await;
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, expected);

    // And the router serves each one: neither the fallback's 404 nor a 405.
    for (method, path) in ROUTES {
        let uri = path
            .replace("{key}", "no-such-process")
            .replace("{id}", "0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d")
            .replace("{job}", "0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d")
            .replace("{code}", "000.00.01.H22-251125-0001")
            .replace("{slot}", "to-khai")
            .replace("{version}", "1")
            .replace("{form}", "01")
            .replace("{kind}", "citizen_id")
            .replace("{agency}", "000.00.01.H22")
            .replace("{document}", "0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
        let (status, _, body) = call(&state, method.clone(), &uri).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert!(
            !body.contains("there is no resource at"),
            "{method} {uri} is not routed: {body}"
        );
    }
}

#[tokio::test]
async fn every_operation_names_its_problems() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let doc = document(&state(&dir).await).await;
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path} has no success answer"
        );
        for (status, response) in responses {
            for (content_type, content) in response["content"].as_object().into_iter().flatten() {
                let is_problem = content["schema"]["$ref"] == PROBLEM_REF;
                assert_eq!(
                    is_problem,
                    content_type == "application/problem+json",
                    "{method} {path} {status}: {content_type}"
                );
                assert_eq!(is_problem, !status.starts_with('2') && status != "503");
            }
        }
        if NEVER_FAIL.contains(&path.as_str()) {
            continue;
        }
        let problems: Vec<&String> = responses
            .iter()
            .filter(|(_, r)| {
                r["content"]["application/problem+json"]["schema"]["$ref"] == PROBLEM_REF
            })
            .map(|(s, _)| s)
            .collect();
        // The stream reads the feed after its answer has begun: a failed read is retried.
        assert!(
            path == "/events/stream" || problems.iter().any(|s| *s == "500"),
            "{method} {path} has no 500 problem"
        );
        let public = crate::http::auth::PUBLIC_PATHS.contains(&path.as_str());
        if !public {
            assert!(
                problems.iter().any(|s| *s == "401"),
                "{method} {path} has no 401 problem"
            );
            assert!(
                problems.iter().any(|s| *s == "403"),
                "{method} {path} has no 403 problem"
            );
            // Every handler reads its caller, whose headers may be malformed.
            assert!(
                problems.iter().any(|s| *s == "400"),
                "{method} {path} has no 400 problem"
            );
            assert_eq!(
                op["security"][0]["bearer"],
                Value::Array(Vec::new()),
                "{method} {path} does not name the bearer scheme"
            );
        } else {
            assert!(op.get("security").is_none(), "{method} {path} is public");
        }
        if path.contains('{') {
            assert!(
                problems.iter().any(|s| *s == "404"),
                "{method} {path} has an id: 404 can happen"
            );
        }
    }
}

#[tokio::test]
async fn the_docs_page_lists_every_operation() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let state = state(&dir).await;
    let (status, content_type, body) = call(&state, Method::GET, "/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.starts_with("<!doctype html>"));
    assert!(
        !body.contains("http://") && !body.contains("https://"),
        "loads nothing from outside"
    );
    for (_, path) in ROUTES {
        assert!(body.contains(&format!("<code>{path}</code>")), "{path}");
    }
}

#[tokio::test]
async fn the_document_and_docs_need_no_token() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let state = state(&dir)
        .await
        .with_auth(crate::http::auth::Keys::secret(&[7u8; 32]).expect("keys"));
    for uri in ["/openapi.json", "/docs"] {
        let (status, _, _) = call(&state, Method::GET, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
    let (status, _, _) = call(&state, Method::GET, "/tasks").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
