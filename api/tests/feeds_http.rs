//! The event feed, statistics and metrics over real HTTP: `motcua serve` on a fresh database
//! (SQLite, and PostgreSQL when `MOTCUA_TEST_DATABASE_URL` is set). Reads `/events` in pages,
//! follows `/events/stream`, disconnects, resumes with `Last-Event-ID` and checks that every
//! event arrives exactly once; checks the shapes of `/statistics` and `/metrics`.

mod common;

use common::Server;

use std::collections::BTreeSet;
use std::time::Duration;

use motcua_tests::{on_both_databases, Backend, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

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

async fn get_json(http: &reqwest::Client, url: String) -> Value {
    let response = http.get(&url).send().await.expect("the server answers");
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.json().await.expect("JSON")
}

async fn start_instances(http: &reqwest::Client, base: &str, n: usize) {
    for _ in 0..n {
        let response = http
            .post(format!("{base}/process-instances"))
            .header("x-motcua-user", "citizen")
            .json(&json!({ "key": "p" }))
            .send()
            .await
            .expect("the server answers");
        assert!(response.status().is_success(), "{:?}", response.status());
    }
}

/// One server-sent event: (id, event, data).
type Sse = (i64, String, Value);

/// Reads events from an open stream until `want` arrived (or panics after a while).
async fn read_sse(response: &mut reqwest::Response, buffer: &mut String, want: usize) -> Vec<Sse> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while out.len() < want {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().parse::<i64>().expect("a numeric id"));
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if let Some(id) = id {
                out.push((id, event, serde_json::from_str(&data).expect("JSON data")));
            }
        }
        if out.len() >= want {
            break;
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("only {} of {want} events arrived", out.len()))
            .expect("the stream continues")
            .expect("the stream is open");
        buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
    }
    out
}

async fn feed_stream_and_statistics_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "feed_stream_and_statistics_over_http").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let server = Server::start(db.url(), &dir.path().join("server.log"), &[]);
    let base = server.base.clone();
    let http = reqwest::Client::new();

    let deployed = http
        .post(format!("{base}/deployments"))
        .json(&json!({ "files": [{ "name": "p.bpmn", "xml": PROCESS }] }))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(
        deployed.status(),
        StatusCode::CREATED,
        "{}",
        server.log_text()
    );
    start_instances(&http, &base, 3).await;

    // Pages of /events: oldest first, `next` is the cursor, the last page is empty.
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = get_json(&http, format!("{base}/events?after={after}&limit=4")).await;
        let events = page["events"].as_array().expect("events").clone();
        let next = page["next"].as_i64().expect("next");
        if events.is_empty() {
            assert_eq!(next, after);
            break;
        }
        for e in &events {
            for field in ["seq", "instance", "definitionKey", "kind", "at", "event"] {
                assert!(!e[field].is_null(), "{field} in {e}");
            }
            assert_eq!(e["agency"], "so-tu-phap");
        }
        assert_eq!(
            next,
            events.last().expect("one")["seq"].as_i64().expect("seq")
        );
        after = next;
        paged.extend(events);
    }
    let total_before = paged.len();
    assert!(total_before >= 6, "{paged:?}");
    let bad = http
        .get(format!("{base}/events?after=-1"))
        .send()
        .await
        .expect("answer");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // The stream from the start; disconnect after a few events.
    let mut stream = http
        .get(format!("{base}/events/stream"))
        .send()
        .await
        .expect("the stream opens");
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .starts_with("text/event-stream"));
    let mut buffer = String::new();
    let first = read_sse(&mut stream, &mut buffer, 5).await;
    drop(stream);
    let first: Vec<Sse> = first.into_iter().take(5).collect();
    let last_id = first.last().expect("events").0;

    // Events written while disconnected, then resume with Last-Event-ID.
    start_instances(&http, &base, 2).await;
    let all = get_json(&http, format!("{base}/events?after=0&limit=1000")).await;
    let all: Vec<i64> = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert!(all.len() > total_before);
    let mut resumed = http
        .get(format!("{base}/events/stream"))
        .header("last-event-id", last_id.to_string())
        .send()
        .await
        .expect("the stream opens");
    let mut buffer = String::new();
    let rest = read_sse(&mut resumed, &mut buffer, all.len() - first.len()).await;

    let mut seen = Vec::new();
    for (id, kind, data) in first.iter().chain(&rest) {
        assert_eq!(data["seq"].as_i64(), Some(*id));
        assert_eq!(data["kind"].as_str(), Some(kind.as_str()));
        seen.push(*id);
    }
    assert_eq!(
        seen, all,
        "every event once, in order, across the reconnect"
    );
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>().len(),
        seen.len(),
        "no duplicates"
    );
    // Nothing more is pending: new events continue the same stream.
    start_instances(&http, &base, 1).await;
    let more = read_sse(&mut resumed, &mut buffer, 1).await;
    assert!(more[0].0 > *all.last().expect("events"));
    assert_eq!(more[0].1, "instance_started");
    drop(resumed);

    // ?after= works like Last-Event-ID.
    let mut from_query = http
        .get(format!("{base}/events/stream?after={}", all[all.len() - 2]))
        .send()
        .await
        .expect("the stream opens");
    let mut buffer = String::new();
    let one = read_sse(&mut from_query, &mut buffer, 1).await;
    assert_eq!(one[0].0, all[all.len() - 1]);
    drop(from_query);

    // Statistics.
    let stats = get_json(&http, format!("{base}/statistics?agency=so-tu-phap")).await;
    assert_eq!(stats["total"]["received"], 6, "{stats}");
    assert_eq!(stats["total"]["inProgress"], 6);
    assert_eq!(stats["total"]["overdue"], 0);
    assert!(stats["total"]["onTimeRate"].is_null());
    let row = &stats["byProcedure"][0];
    assert_eq!(
        (&row["agency"], &row["procedure"]),
        (&json!("so-tu-phap"), &json!("p"))
    );
    for field in ["doneOnTime", "doneEarly", "doneLate"] {
        assert_eq!(row[field], 0, "{field}");
    }
    assert!(stats["from"].is_string() && stats["to"].is_string() && stats["at"].is_string());
    assert_eq!(stats["byAgency"].as_array().map(Vec::len), Some(1));
    let dated = get_json(
        &http,
        format!("{base}/statistics?from=2000-01-01&to=2000-02-01"),
    )
    .await;
    assert_eq!(dated["total"]["received"], 0);
    let bad = http
        .get(format!("{base}/statistics?from=yesterday"))
        .send()
        .await
        .expect("answer");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Metrics: Prometheus text with the expected families.
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("answer");
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .starts_with("text/plain; version=0.0.4"));
    let text = metrics.text().await.expect("text");
    for expected in [
        "# TYPE motcua_http_requests_total counter",
        "motcua_http_requests_total{route=\"/events\",method=\"GET\",status=\"200\"}",
        "motcua_http_requests_total{route=\"/events\",method=\"GET\",status=\"400\"} 1",
        "# TYPE motcua_http_request_duration_seconds histogram",
        "motcua_http_request_duration_seconds_bucket{route=\"/process-instances\",le=\"+Inf\"} 6",
        "motcua_commands_total 6",
        "motcua_jobs_fired_total",
        "motcua_incidents_open 0",
        "motcua_instances{agency=\"so-tu-phap\",procedure=\"p\",status=\"active\"} 6",
        "motcua_instances{agency=\"so-tu-phap\",procedure=\"p\",status=\"overdue\"} 0",
        "motcua_instances_received{agency=\"so-tu-phap\",procedure=\"p\"} 6",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

on_both_databases!(feed_stream_and_statistics_over_http);
