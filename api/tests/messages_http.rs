//! BPMN messages over real HTTP (`POST /messages` against `motcua serve`, SQLite and
//! PostgreSQL when `MOTCUA_TEST_DATABASE_URL` is set) and from the command line (`motcua
//! message send`): a fee-payment message correlated by the dossier code to the one instance
//! waiting for it, a message that arrives before its catcher buffered and then taken, a
//! repeated message id applied once, a message start event starting an instance (a citizen's
//! field report from Hue-S), and bad input refused.
//!
//! The waits poll the server's HTTP API with a deadline: a buffered message is handed over by
//! the server after the commit that arms its catcher.

mod common;

use std::time::{Duration, Instant};

use common::Server;
use motcua_tests::{on_both_databases, Backend, TestDb};
use serde_json::{json, Value};

const PROCESSES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:motcua="urn:motcua:bpmn:1.0" id="d" targetNamespace="urn:test">
  <bpmn:message id="m-fee" name="da-nop-phi"/>
  <bpmn:message id="m-report" name="phan-anh-moi"/>
  <bpmn:process id="cho-nop-phi" name="Chờ nộp phí" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:receiveTask id="nop-phi" name="Chờ công dân nộp phí" messageRef="m-fee" motcua:correlationKey="=maHoSo"/>
    <bpmn:userTask id="tra-ket-qua" name="Trả kết quả" motcua:candidateGroups="mot-cua"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="nop-phi"/>
    <bpmn:sequenceFlow id="f2" sourceRef="nop-phi" targetRef="tra-ket-qua"/>
    <bpmn:sequenceFlow id="f3" sourceRef="tra-ket-qua" targetRef="e"/>
  </bpmn:process>
  <bpmn:process id="phan-anh" name="Phản ánh hiện trường" isExecutable="true">
    <bpmn:startEvent id="nhan"><bpmn:messageEventDefinition messageRef="m-report"/></bpmn:startEvent>
    <bpmn:userTask id="phan-loai" name="Phân loại phản ánh" motcua:candidateGroups="ioc"/>
    <bpmn:endEvent id="xong"/>
    <bpmn:sequenceFlow id="g1" sourceRef="nhan" targetRef="phan-loai"/>
    <bpmn:sequenceFlow id="g2" sourceRef="phan-loai" targetRef="xong"/>
  </bpmn:process>
</bpmn:definitions>"#;

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("X-Motcua-User", "cong-thanh-toan")
            .json(&body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        response.json().await.expect("JSON")
    }

    async fn start(&self, code: &str) -> String {
        let (status, started) = self
            .post(
                "/process-instances",
                json!({ "key": "cho-nop-phi", "businessKey": code, "variables": { "maHoSo": code } }),
            )
            .await;
        assert_eq!(status, 201, "{started}");
        started["instance"].as_str().expect("an id").to_owned()
    }

    /// The nodes the instance's tokens wait at.
    async fn waiting_at(&self, instance: &str) -> Vec<String> {
        let state = self.get(&format!("/process-instances/{instance}")).await;
        state["tokens"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t["node"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn messages_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "messages_over_http").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a folder");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &["--poll-ms", "100"],
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let (status, deployed) = api
        .post(
            "/deployments",
            json!({ "name": "thong-diep", "files": [{ "name": "thong-diep.bpmn", "xml": PROCESSES }] }),
        )
        .await;
    assert_eq!(status, 201, "{deployed}");

    // Two dossiers wait for their fee; the message for HS-2 goes to HS-2's instance only.
    let first = api.start("HS-1").await;
    let second = api.start("HS-2").await;
    assert_eq!(api.waiting_at(&second).await, vec!["nop-phi"]);
    let (status, answer) = api
        .post(
            "/messages",
            json!({ "name": "da-nop-phi", "correlationKey": "HS-2", "variables": { "soTien": 50000 }, "messageId": "bien-lai-0002" }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"], "correlated");
    assert_eq!(answer["instance"], json!(second));
    assert_eq!(api.waiting_at(&second).await, vec!["tra-ket-qua"]);
    assert_eq!(api.waiting_at(&first).await, vec!["nop-phi"]);
    let state = api.get(&format!("/process-instances/{second}")).await;
    assert_eq!(state["variables"]["soTien"], 50000);

    // The same message id again changes nothing.
    let (_, again) = api
        .post(
            "/messages",
            json!({ "name": "da-nop-phi", "correlationKey": "HS-1", "messageId": "bien-lai-0002" }),
        )
        .await;
    assert_eq!(again["result"], "duplicate", "{again}");
    assert_eq!(api.waiting_at(&first).await, vec!["nop-phi"]);

    // A payment recorded before its dossier's instance waits is kept, then taken.
    let (_, kept) = api
        .post(
            "/messages",
            json!({ "name": "da-nop-phi", "correlationKey": "HS-3", "ttl": "PT1H" }),
        )
        .await;
    assert_eq!(kept["result"], "buffered", "{kept}");
    assert!(kept["expiresAt"].is_string(), "{kept}");
    let third = api.start("HS-3").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.waiting_at(&third).await != vec!["tra-ket-qua"] {
        assert!(
            Instant::now() < deadline,
            "the buffered message was not taken"
        );
        // Polling the server: a short pause between looks, not a timed expectation.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A field report from Hue-S starts an instance through its message start event.
    let (_, started) = api
        .post(
            "/messages",
            json!({ "name": "phan-anh-moi", "variables": { "noiDung": "Đèn đường hỏng trên đường Lê Lợi" } }),
        )
        .await;
    assert_eq!(started["result"], "started", "{started}");
    let report = started["instance"].as_str().expect("an instance");
    assert_eq!(api.waiting_at(report).await, vec!["phan-loai"]);

    // Bad input is refused, naming the field.
    for (body, needle) in [
        (json!({ "name": "da-nop-phi", "ttl": "một giờ" }), "ttl"),
        (json!({ "correlationKey": "HS-1" }), "name"),
    ] {
        let (status, problem) = api.post("/messages", body).await;
        assert_eq!(status, 400, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(needle)),
            "{problem}"
        );
    }

    // The command line: the first dossier's payment, sent by an operator.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args([
            "--database",
            db.url(),
            "--json",
            "message",
            "send",
            "da-nop-phi",
            "--key",
            "HS-1",
            "--var",
            "soTien=50000",
        ])
        .env_remove("MOTCUA_DATABASE_URL")
        .output()
        .expect("motcua runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    assert_eq!(printed["result"], "correlated", "{printed}");
    assert_eq!(api.waiting_at(&first).await, vec!["tra-ket-qua"]);
}

on_both_databases!(messages_over_http);
