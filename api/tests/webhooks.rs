//! Outbound webhooks over real HTTP: `motcua serve` (fast retry back-off) on a fresh database
//! (SQLite, and PostgreSQL when `MOTCUA_TEST_DATABASE_URL` is set) posts feed events to a tiny
//! receiver that answers 500 to its first two requests and 200 afterwards. The receiver must
//! accept every event once (no feed number accepted twice), in feed order (hence in order per
//! instance), each with a valid HMAC signature; events from before the subscription are not
//! sent.

mod common;

use common::Server;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use motcua_tests::{on_both_databases, Backend, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "a-webhook-secret-of-some-length";

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:motcua="urn:motcua:bpmn:1.0" id="d" targetNamespace="urn:t">
  <bpmn:process id="p" isExecutable="true" motcua:agency="so-tu-phap" motcua:slaWorkingDays="2">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="review" motcua:candidateGroups="g" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"#;

/// What the receiver saw.
#[derive(Default)]
struct Received {
    /// Requests so far (the first two are answered 500).
    requests: usize,
    /// Accepted (answered 200) events, in arrival order: (seq, body).
    accepted: Vec<(i64, Value)>,
    /// Problems found (bad signature, a feed number accepted twice, ...).
    problems: Vec<String>,
}

type Shared = Arc<Mutex<Received>>;

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> AxumStatus {
    let mut r = shared.lock().expect("not poisoned");
    r.requests += 1;
    if r.requests <= 2 {
        return AxumStatus::INTERNAL_SERVER_ERROR;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("a key");
    mac.update(&body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let signature = header("x-motcua-signature");
    if signature != format!("sha256={expected}") {
        r.problems.push(format!("bad signature {signature:?}"));
        return AxumStatus::UNAUTHORIZED;
    }
    let Ok(seq) = header("x-motcua-event-id").parse::<i64>() else {
        r.problems.push("no X-Motcua-Event-Id".into());
        return AxumStatus::BAD_REQUEST;
    };
    let event: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            r.problems.push(format!("body is not JSON: {e}"));
            return AxumStatus::BAD_REQUEST;
        }
    };
    if event["seq"].as_i64() != Some(seq) {
        r.problems
            .push(format!("header id {seq} but body seq {}", event["seq"]));
    }
    if r.accepted.iter().any(|(s, _)| *s == seq) {
        r.problems.push(format!("event {seq} accepted twice"));
    }
    r.accepted.push((seq, event));
    AxumStatus::OK
}

/// Starts the receiver on a free port; returns its URL.
async fn start_receiver(shared: Shared) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let address = listener.local_addr().expect("its address");
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(shared);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/hook")
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> (StatusCode, Value) {
    let response = http
        .post(&url)
        .header("x-motcua-user", "integrator")
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn start_instance(http: &reqwest::Client, base: &str) -> String {
    let (status, body) = post(
        http,
        format!("{base}/process-instances"),
        json!({ "key": "p" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["instance"]
        .as_str()
        .unwrap_or_else(|| panic!("an instance id in {body}"))
        .to_owned()
}

async fn all_events(http: &reqwest::Client, base: &str, after: i64) -> Vec<Value> {
    let page: Value = http
        .get(format!("{base}/events?after={after}&limit=1000"))
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("JSON");
    page["events"].as_array().expect("events").clone()
}

async fn webhook_receiver_fails_twice_then_gets_every_event_once_in_order(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "webhook_receiver_fails_twice_then_gets_every_event_once_in_order",
    )
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &["--poll-ms", "20", "--webhook-retry-base-ms", "50"],
    );
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let shared: Shared = Arc::default();
    let hook = start_receiver(shared.clone()).await;

    let (status, body) = post(
        &http,
        format!("{base}/deployments"),
        json!({ "files": [{ "name": "p.bpmn", "xml": PROCESS }] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Events from before the subscription are not sent.
    start_instance(&http, &base).await;
    let before = all_events(&http, &base, 0).await;
    let last_before = before.last().expect("events")["seq"].as_i64().expect("seq");

    // Bad subscriptions are 400s.
    for bad in [
        json!({ "url": "https://example.org/hook", "secret": SECRET }),
        json!({ "url": hook, "secret": "short" }),
        json!({ "url": hook, "secret": SECRET, "kinds": [] }),
    ] {
        let (status, body) = post(&http, format!("{base}/webhooks"), bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} -> {body}");
    }
    let (status, sub) = post(
        &http,
        format!("{base}/webhooks"),
        json!({ "url": hook, "secret": SECRET }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    assert!(sub.get("secret").is_none(), "{sub}");
    assert_eq!(sub["cursor"].as_i64(), Some(last_before), "{sub}");
    let id = sub["id"].as_str().expect("an id").to_owned();

    // Three instances, then the first one cancelled: its events interleave with the others'.
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(start_instance(&http, &base).await);
    }
    let (status, body) = post(
        &http,
        format!("{base}/process-instances/{}/cancel", instances[0]),
        json!({}),
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    let expected: Vec<i64> = all_events(&http, &base, last_before)
        .await
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert!(expected.len() >= 7, "{expected:?}");

    // Waiting for another process (the server's delivery loop): poll the receiver briefly.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let done = shared.lock().expect("not poisoned").accepted.len() >= expected.len();
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {} events accepted; server log:\n{}",
            shared.lock().expect("not poisoned").accepted.len(),
            expected.len(),
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A little longer: nothing more (no duplicate) may arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;

    {
        let r = shared.lock().expect("not poisoned");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert!(r.requests >= expected.len() + 2, "{} requests", r.requests);
        let accepted: Vec<i64> = r.accepted.iter().map(|(s, _)| *s).collect();
        assert_eq!(accepted, expected, "every event once, in feed order");
        // In order per instance, and only instances started after the subscription.
        let mut per_instance: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (seq, event) in &r.accepted {
            let instance = event["instance"].as_str().expect("instance").to_owned();
            per_instance.entry(instance).or_default().push(*seq);
        }
        assert_eq!(
            per_instance.keys().cloned().collect::<BTreeSet<_>>(),
            instances.iter().cloned().collect::<BTreeSet<_>>()
        );
        for seqs in per_instance.values() {
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        }
    }

    // The subscription is healthy again, its cursor at the last event.
    let listed: Value = http
        .get(format!("{base}/webhooks"))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("JSON");
    let row = &listed["webhooks"][0];
    assert_eq!(row["id"], id.as_str(), "{listed}");
    assert_eq!(row["cursor"].as_i64(), expected.last().copied(), "{listed}");
    assert_eq!(row["attempts"], 0, "{listed}");
    assert_eq!(row["failing"], false, "{listed}");
    assert!(row.get("secret").is_none());

    // Unsubscribe; again is a 404.
    for want in [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND] {
        let response = http
            .delete(format!("{base}/webhooks/{id}"))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), want);
    }

    // A retried subscription (same Idempotency-Key) is the same subscription.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = http
            .post(format!("{base}/webhooks"))
            .header("idempotency-key", "subscribe-once")
            .json(&json!({ "url": hook, "secret": SECRET }))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("JSON");
        ids.push(body["id"].as_str().expect("an id").to_owned());
    }
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], id);
    let listed: Value = http
        .get(format!("{base}/webhooks"))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        listed["webhooks"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    server.kill();
}

on_both_databases!(webhook_receiver_fails_twice_then_gets_every_event_once_in_order);
