//! End-to-end tests of the HTTP API: each test starts the real `motcua serve` binary on a fresh
//! database (a SQLite file, and a fresh PostgreSQL database when `MOTCUA_TEST_DATABASE_URL` is
//! set; otherwise the PostgreSQL run reports `SKIPPED ... on postgres`), reads the line
//! `listening on http://ADDR`, drives the procedure over real HTTP, and stops the server with
//! SIGTERM, expecting a clean exit.

mod common;

use common::Server;

use motcua_tests::{on_both_databases, Backend, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const BIRTH_REGISTRATION: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../definitions/catalog/dang-ky-khai-sinh.bpmn"
));

/// A BPMN file with an unsupported element at line 5, column 5.
const BAD_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">
  <bpmn:process id="bad" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="script" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script" />
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"#;

/// One answer: status, content type and the body (JSON, or the text as a JSON string).
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: String,
    body: Value,
}

impl Answer {
    /// Asserts the status; returns the body.
    fn expect(self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {self:?}");
        self.body
    }

    /// Asserts an RFC 9457 problem with this status and code; returns the body.
    fn problem(self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {self:?}");
        assert_eq!(self.content_type, "application/problem+json", "{self:?}");
        assert_eq!(self.body["code"], code, "{self:?}");
        assert_eq!(self.body["status"], status.as_u16(), "{self:?}");
        assert!(self.body["title"].is_string(), "{self:?}");
        assert!(self.body["detail"].is_string(), "{self:?}");
        self.body
    }
}

/// A small client over one server.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// Sends a request with optional headers and body (`Some(json)`, or raw text).
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request = match body {
            Body::None => request,
            Body::Json(v) => request.json(&v),
            Body::Raw(text) => request
                .header("content-type", "application/json")
                .body(text.to_owned()),
        };
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            content_type,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], Body::None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, &[], Body::Json(body)).await
    }

    async fn post_as(&self, user: &str, path: &str, body: Value) -> Answer {
        self.send(
            Method::POST,
            path,
            &[("X-Motcua-User", user)],
            Body::Json(body),
        )
        .await
    }
}

enum Body<'a> {
    None,
    Json(Value),
    Raw(&'a str),
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string field '{field}' in {v}"))
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {v}"))
}

/// The instance's one open task in `group`, checked to be at `node`; claimed by `user` and
/// completed with `variables`. Returns the completion's outcome.
async fn work(
    api: &Api,
    instance: &str,
    group: &str,
    node: &str,
    user: &str,
    variables: Value,
) -> Value {
    let tasks = api
        .get(&format!("/tasks?group={group}&instance={instance}"))
        .await
        .expect(StatusCode::OK);
    let tasks = array(&tasks);
    assert_eq!(tasks.len(), 1, "open tasks of {group}: {tasks:?}");
    assert_eq!(text(&tasks[0], "node"), node);
    assert_eq!(text(&tasks[0], "state"), "open");
    let task = text(&tasks[0], "id");
    let claimed = api
        .post_as(user, &format!("/tasks/{task}/claim"), json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(text(&claimed, "status"), "active");
    api.post_as(
        user,
        &format!("/tasks/{task}/complete"),
        json!({ "variables": variables }),
    )
    .await
    .expect(StatusCode::OK)
}

/// The birth registration's whole life over HTTP, with every error kind on the way.
async fn procedure_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "procedure_over_http").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &["--poll-ms", "100"],
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };

    // Operations.
    assert_eq!(api.get("/healthz").await.expect(StatusCode::OK), "ok");
    api.get("/readyz").await.expect(StatusCode::OK);

    // Deploy: 201, then the same content again is the same version (200, not created).
    let files = json!([{ "name": "dang-ky-khai-sinh.bpmn", "xml": BIRTH_REGISTRATION }]);
    let deployed = api
        .post(
            "/deployments",
            json!({ "name": "khai-sinh", "files": files }),
        )
        .await
        .expect(StatusCode::CREATED);
    let def = &deployed["definitions"][0];
    assert_eq!(
        (text(def, "key"), &def["version"], &def["created"]),
        ("dang-ky-khai-sinh", &json!(1), &json!(true))
    );
    let again = api
        .post("/deployments", json!({ "files": files }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["definitions"][0]["created"], false);
    let defs = api.get("/definitions").await.expect(StatusCode::OK);
    assert_eq!(array(&defs).len(), 1);
    let xml = api
        .get("/definitions/dang-ky-khai-sinh/xml?version=1")
        .await;
    assert!(xml.content_type.starts_with("application/xml"), "{xml:?}");
    assert_eq!(xml.expect(StatusCode::OK), BIRTH_REGISTRATION);
    api.get("/definitions/dang-ky-khai-sinh/xml?version=9")
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");

    // A refused deployment names the element and its position, and stores nothing.
    let refused = api
        .post(
            "/deployments",
            json!({ "files": [{ "name": "bad.bpmn", "xml": BAD_BPMN }] }),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "deploy-refused");
    let first = &array(&refused["errors"])[0];
    assert_eq!(
        (
            text(first, "file"),
            text(first, "element"),
            text(first, "id"),
            &first["line"],
            &first["column"],
            text(first, "code")
        ),
        (
            "bad.bpmn",
            "scriptTask",
            "script",
            &json!(5),
            &json!(5),
            "unsupported-element"
        ),
        "{refused}"
    );
    assert!(!text(first, "message").is_empty());
    let defs = api.get("/definitions").await.expect(StatusCode::OK);
    assert_eq!(
        array(&defs).len(),
        1,
        "nothing of the refused file is stored"
    );

    // Start, retried with the same Idempotency-Key: the same instance, nothing new.
    let start = json!({
        "key": "dang-ky-khai-sinh",
        "businessKey": "HS-1",
        "variables": { "applicantName": "Nguyễn Văn An" },
    });
    let headers = [
        ("Idempotency-Key", "start-HS-1"),
        ("X-Motcua-User", "cong-dan"),
    ];
    let started = api
        .send(
            Method::POST,
            "/process-instances",
            &headers,
            Body::Json(start.clone()),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(text(&started, "status"), "active");
    assert_eq!(started["version"], 1);
    assert_eq!(array(&started["tasks"]).len(), 1);
    let retried = api
        .send(
            Method::POST,
            "/process-instances",
            &headers,
            Body::Json(start),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(retried, started, "a retry returns the first answer");
    let other = json!({ "key": "dang-ky-khai-sinh", "businessKey": "HS-2" });
    api.send(
        Method::POST,
        "/process-instances",
        &headers,
        Body::Json(other),
    )
    .await
    .problem(StatusCode::CONFLICT, "conflict");
    let instance = text(&started, "instance").to_owned();
    let queue = api
        .get(&format!("/tasks?group=mot-cua&instance={instance}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(array(&queue).len(), 1, "the retry made no second task");

    // The one-stop counter's queue; a claim by one clerk; a conflicting claim by another.
    let queue = api.get("/tasks?group=mot-cua").await.expect(StatusCode::OK);
    let task = &array(&queue)[0];
    assert_eq!(
        (text(task, "node"), text(task, "name")),
        ("tiep-nhan", "Tiếp nhận và kiểm tra hồ sơ")
    );
    let task_id = text(task, "id").to_owned();
    api.post_as("lan", &format!("/tasks/{task_id}/claim"), json!({}))
        .await
        .expect(StatusCode::OK);
    let conflict = api
        .post(&format!("/tasks/{task_id}/claim"), json!({ "user": "hoa" }))
        .await
        .problem(StatusCode::CONFLICT, "conflict");
    assert!(text(&conflict, "detail").contains("lan"), "{conflict}");
    let mine = api.get("/tasks?assignee=lan").await.expect(StatusCode::OK);
    assert_eq!(array(&mine).len(), 1);
    let one = api
        .get(&format!("/tasks/{task_id}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(text(&one, "assignee"), "lan");
    // Release and take it again.
    api.send(
        Method::POST,
        &format!("/tasks/{task_id}/unclaim"),
        &[],
        Body::None,
    )
    .await
    .expect(StatusCode::OK);
    let one = api
        .get(&format!("/tasks/{task_id}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(one["assignee"], Value::Null);

    // The whole procedure: the counter, the officer (dossier complete), the leader, the counter.
    let steps = [
        ("mot-cua", "tiep-nhan", "lan", json!({})),
        (
            "tu-phap-ho-tich",
            "tham-dinh",
            "minh",
            json!({ "dossierComplete": true }),
        ),
        ("lanh-dao", "phe-duyet", "chu-tich", json!({})),
        ("mot-cua", "tra-ket-qua", "lan", json!({})),
    ];
    let mut last = Value::Null;
    for (group, node, user, variables) in steps {
        last = work(&api, &instance, group, node, user, variables).await;
    }
    assert_eq!(text(&last, "status"), "completed");
    api.post_as("lan", &format!("/tasks/{task_id}/complete"), json!({}))
        .await
        .problem(StatusCode::CONFLICT, "conflict");

    let state = api
        .get(&format!("/process-instances/{instance}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(text(&state, "status"), "completed");
    assert_eq!(text(&state, "businessKey"), "HS-1");
    assert_eq!(state["variables"]["dossierComplete"], true);
    assert_eq!(state["variables"]["applicantName"], "Nguyễn Văn An");

    let journal = api
        .get(&format!("/process-instances/{instance}/journal"))
        .await
        .expect(StatusCode::OK);
    let journal = array(&journal);
    assert!(journal.len() >= 9, "{journal:?}");
    for (i, entry) in journal.iter().enumerate() {
        assert_eq!(entry["seq"], json!(i + 1), "a gap-free journal: {entry}");
    }
    assert_eq!(journal[0]["actor"], "cong-dan");
    assert!(
        journal.iter().any(|e| e["actor"] == "chu-tich"),
        "the leader is in the journal"
    );

    // Cancel a second instance; cancelling it again is a conflict.
    let second = api
        .post(
            "/process-instances",
            json!({ "key": "dang-ky-khai-sinh", "version": 1 }),
        )
        .await
        .expect(StatusCode::CREATED);
    let second = text(&second, "instance");
    let path = format!("/process-instances/{second}/cancel");
    let cancelled = api
        .post_as("lan", &path, json!({ "reason": "công dân rút hồ sơ" }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(text(&cancelled, "status"), "cancelled");
    api.send(Method::POST, &path, &[], Body::None)
        .await
        .problem(StatusCode::CONFLICT, "conflict");

    // Bad input: malformed JSON, unknown ids, bad ids, an unknown route.
    api.send(
        Method::POST,
        "/process-instances",
        &[],
        Body::Raw("{\"key\": \"dang-ky"),
    )
    .await
    .problem(StatusCode::BAD_REQUEST, "invalid");
    let unknown = "0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d";
    api.get(&format!("/tasks/{unknown}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");
    api.post_as("lan", &format!("/tasks/{unknown}/complete"), json!({}))
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");
    api.get("/process-instances/not-an-id")
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid");
    api.post("/process-instances", json!({ "key": "khong-co" }))
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");
    api.get("/nowhere")
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");

    // External workers and incidents: nothing to fetch, nothing raised.
    let fetched = api
        .post(
            "/external-tasks/fetch-and-lock",
            json!({ "workerId": "w1", "topic": "ky-so", "maxTasks": 5, "lockSeconds": 60 }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(fetched, json!([]));
    assert_eq!(
        api.get("/incidents").await.expect(StatusCode::OK),
        json!([])
    );

    let log = server.log_text();
    let status = server.terminate().await;
    assert!(
        status.success(),
        "exit after SIGTERM: {status}; log:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

/// An external worker's job through HTTP: fetch-and-lock, a failure with retries left, the
/// wrong worker refused, completion.
async fn external_worker_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "external_worker_over_http").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &["--poll-ms", "100"],
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let bpmn = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:motcua="urn:motcua:bpmn:1.0" id="d" targetNamespace="urn:t">
  <bpmn:process id="ky-so" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:serviceTask id="sign" motcua:topic="ky-so" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sign" />
    <bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"#;
    api.post(
        "/deployments",
        json!({ "files": [{ "name": "ky-so.bpmn", "xml": bpmn }] }),
    )
    .await
    .expect(StatusCode::CREATED);
    let started = api
        .post(
            "/process-instances",
            json!({ "key": "ky-so", "variables": { "hoSo": "HS-9" } }),
        )
        .await
        .expect(StatusCode::CREATED);
    let instance = text(&started, "instance").to_owned();
    let fetch = json!({ "workerId": "w1", "topic": "ky-so", "lockSeconds": 600 });
    let fetched = api
        .post("/external-tasks/fetch-and-lock", fetch.clone())
        .await
        .expect(StatusCode::OK);
    let job = &array(&fetched)[0];
    assert_eq!(text(job, "instance"), instance);
    assert_eq!(job["variables"]["hoSo"], "HS-9");
    let job = text(job, "id").to_owned();

    api.post(
        &format!("/external-tasks/{job}/complete"),
        json!({ "workerId": "w2" }),
    )
    .await
    .problem(StatusCode::CONFLICT, "conflict");
    api.post(
        &format!("/external-tasks/{job}/failure"),
        json!({ "workerId": "w1", "errorMessage": "HSM offline", "retries": 2 }),
    )
    .await
    .expect(StatusCode::OK);
    api.post(
        &format!("/external-tasks/{job}/complete"),
        json!({ "workerId": "w1" }),
    )
    .await
    .problem(StatusCode::CONFLICT, "conflict");
    api.post(
        &format!("/external-tasks/{job}/complete"),
        json!({ "workerId": "w1", "extra": 1 }),
    )
    .await
    .problem(StatusCode::BAD_REQUEST, "invalid");

    let state = api
        .get(&format!("/process-instances/{instance}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(text(&state, "status"), "active");

    drop(server);
}

on_both_databases!(
    procedure_over_http,
    external_worker_over_http,
    count_assign_delegate_resolve_over_http
);

/// `GET /tasks/count`, and assign, delegate and resolve shaped after Camunda 7.
async fn count_assign_delegate_resolve_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "count_assign_delegate_resolve_over_http").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let server = Server::start(db.url(), &dir.path().join("server.log"), &[]);
    let api = Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let files = json!([{ "name": "dang-ky-khai-sinh.bpmn", "xml": BIRTH_REGISTRATION }]);
    api.post("/deployments", json!({ "files": files }))
        .await
        .expect(StatusCode::CREATED);
    let mut instances = Vec::new();
    for _ in 0..2 {
        let started = api
            .post("/process-instances", json!({ "key": "dang-ky-khai-sinh" }))
            .await
            .expect(StatusCode::CREATED);
        instances.push(text(&started, "instance").to_owned());
    }
    let count = |query: &str| {
        let api = &api;
        let path = format!("/tasks/count{query}");
        async move { api.get(&path).await.expect(StatusCode::OK) }
    };
    assert_eq!(count("").await, json!({ "count": 2 }));
    assert_eq!(count("?group=mot-cua").await["count"], 2);
    assert_eq!(count("?group=lanh-dao").await["count"], 0);
    assert_eq!(
        count(&format!("?instance={}", instances[0])).await["count"],
        1
    );
    api.get("/tasks/count?limit=5")
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid");

    // Cursor paging: a full page names the next one in X-Next-Cursor; the body stays an array.
    let page = |query: Vec<(&'static str, String)>| {
        let api = &api;
        async move {
            let response = api
                .http
                .get(format!("{}/tasks", api.base))
                .query(&query)
                .send()
                .await
                .expect("the server answers");
            assert_eq!(response.status(), StatusCode::OK);
            let cursor = response
                .headers()
                .get("x-next-cursor")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: Value = response.json().await.expect("JSON");
            let ids: Vec<String> = array(&body)
                .iter()
                .map(|t| text(t, "id").to_owned())
                .collect();
            (ids, cursor)
        }
    };
    let (all, none) = page(vec![]).await;
    assert_eq!(all.len(), 2);
    assert_eq!(none, None, "a page that is not full has no next cursor");
    let (first, cursor) = page(vec![("limit", "1".into())]).await;
    let cursor = cursor.expect("a full page has a next cursor");
    let (second, _) = page(vec![("limit", "1".into()), ("cursor", cursor.clone())]).await;
    assert_eq!(
        [first, second].concat(),
        all,
        "every task once across pages"
    );
    let (rest, end) = page(vec![("limit", "2".into()), ("cursor", cursor.clone())]).await;
    assert_eq!((rest.len(), end), (1, None));
    for bad in [
        format!("/tasks?cursor={cursor}&sort=due"),
        format!("/tasks?cursor={cursor}&offset=0"),
        "/tasks?cursor=not-a-cursor".to_owned(),
    ] {
        api.get(&bad)
            .await
            .problem(StatusCode::BAD_REQUEST, "invalid");
    }
    // Text over HTTP, Vietnamese as written, and the procedure filter.
    let (found, _) = page(vec![("text", "tiếp nhận".into())]).await;
    assert_eq!(found, all);
    let (found, _) = page(vec![("text", "thẩm định".into())]).await;
    assert!(found.is_empty());
    assert_eq!(
        count("?text=ti%E1%BA%BFp&procedure=dang-ky-khai-sinh").await["count"],
        2
    );
    assert_eq!(count("?procedure=khac").await["count"], 0);

    let queue = api
        .get(&format!("/tasks?instance={}", instances[0]))
        .await
        .expect(StatusCode::OK);
    let task = text(&array(&queue)[0], "id").to_owned();
    api.post_as("lan", &format!("/tasks/{task}/claim"), json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(count("?assignee=lan").await["count"], 1);

    // Assign over lan's claim.
    api.post_as(
        "chu-tich",
        &format!("/tasks/{task}/assign"),
        json!({ "user": "hoa" }),
    )
    .await
    .expect(StatusCode::OK);
    api.post(&format!("/tasks/{task}/assign"), json!({}))
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid");
    assert_eq!(count("?assignee=lan").await["count"], 0);
    assert_eq!(count("?agency=khong-co-co-quan-nay").await["count"], 0);
    assert_eq!(count("?assignee=hoa").await["count"], 1);

    // Delegate to minh; the task cannot be completed until minh resolves it.
    api.post_as(
        "hoa",
        &format!("/tasks/{task}/delegate"),
        json!({ "user": "minh" }),
    )
    .await
    .expect(StatusCode::OK);
    let one = api
        .get(&format!("/tasks/{task}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(text(&one, "assignee"), "minh");
    // Camunda-style identity links: the candidate group, the delegate as assignee, the owner.
    let links = api
        .get(&format!("/tasks/{task}/identity-links"))
        .await
        .expect(StatusCode::OK);
    let kinds: Vec<(String, String)> = links
        .as_array()
        .expect("an array")
        .iter()
        .map(|l| {
            let who = l["userId"].as_str().or(l["groupId"].as_str()).unwrap_or("");
            (text(l, "type").to_owned(), who.to_owned())
        })
        .collect();
    assert!(
        kinds.contains(&("assignee".into(), "minh".into())),
        "{links}"
    );
    assert!(kinds.contains(&("owner".into(), "hoa".into())), "{links}");
    assert!(kinds.iter().any(|(k, _)| k == "candidate"), "{links}");
    let refused = api
        .post_as("minh", &format!("/tasks/{task}/complete"), json!({}))
        .await
        .problem(StatusCode::CONFLICT, "conflict");
    assert!(
        text(&refused, "detail").contains("resolve it first"),
        "{refused}"
    );
    api.post_as(
        "minh",
        &format!("/tasks/{task}/resolve"),
        json!({ "variables": { "dossierComplete": true } }),
    )
    .await
    .expect(StatusCode::OK);
    let one = api
        .get(&format!("/tasks/{task}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(text(&one, "assignee"), "hoa");
    api.post_as("hoa", &format!("/tasks/{task}/resolve"), json!({}))
        .await
        .problem(StatusCode::CONFLICT, "conflict");
    api.post_as("hoa", &format!("/tasks/{task}/complete"), json!({}))
        .await
        .expect(StatusCode::OK);

    let journal = api
        .get(&format!("/process-instances/{}/journal", instances[0]))
        .await
        .expect(StatusCode::OK);
    let journal = array(&journal);
    let assigned = journal
        .iter()
        .find(|e| e["kind"] == "task_assigned")
        .expect("a task_assigned event");
    assert_eq!(assigned["actor"], "chu-tich");
    let kinds: Vec<&str> = journal.iter().map(|e| text(e, "kind")).collect();
    for kind in ["task_delegated", "task_resolved", "task_completed"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let state = api
        .get(&format!("/process-instances/{}", instances[0]))
        .await
        .expect(StatusCode::OK);
    assert_eq!(state["variables"]["dossierComplete"], true);

    let status = server.terminate().await;
    assert!(status.success(), "exit after SIGTERM: {status}");
}
