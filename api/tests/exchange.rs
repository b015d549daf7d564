//! Liên thông between two real engines (issue #9 part 3): a commune's `motcua serve` and a
//! city's, each with its own database (SQLite, and PostgreSQL when `MOTCUA_TEST_DATABASE_URL`
//! is set), its own agency key and the other as its peer, on loopback.
//!
//! The commune receives a dossier and hands it to the city while the city's engine is down: the
//! message waits in the outbox, failing and retried; the city is restarted and the dossier
//! arrives, once. The city decides it; the status flows back and the commune's dossier follows.
//! A redelivered message is acknowledged as a duplicate and changes nothing; a tampered
//! message, one signed by a trusted certificate that is not the peer's, and one from an unknown
//! agency are refused.
//!
//! The waits poll the other process's HTTP API with a deadline (delivery runs in the servers'
//! own executor loops, every 100 ms here); nothing sleeps a fixed time.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{free_port, Server};
use motcua_engine::certificate_fingerprint;
use motcua_signing::{to_pkcs12, SigningIdentity};
use motcua_tests::pki::{Pki, Spec};
use motcua_tests::{on_both_databases, Backend, TestDb};
use serde_json::{json, Value};

const COMMUNE: &str = "000.31.33.H22";
const CITY: &str = "000.00.10.H22";
const PASSWORD: &str = "khóa-liên-thông";

/// A procedure both engines run: the commune's examination, the city's decision.
const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:motcua="urn:motcua:bpmn:1.0" id="d" targetNamespace="urn:test">
  <bpmn:process id="cap-phep-xay-dung" name="Cấp giấy phép xây dựng nhà ở riêng lẻ" isExecutable="true">
    <bpmn:startEvent id="nop" />
    <bpmn:userTask id="xu-ly" name="Xử lý hồ sơ" motcua:candidateGroups="mot-cua" />
    <bpmn:endEvent id="xong" />
    <bpmn:sequenceFlow id="f1" sourceRef="nop" targetRef="xu-ly" />
    <bpmn:sequenceFlow id="f2" sourceRef="xu-ly" targetRef="xong" />
  </bpmn:process>
</bpmn:definitions>"#;

const DRAWING: &[u8] = b"%PDF-1.7 ban ve thiet ke nha o, thua dat 125, to ban do 7";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One engine's files: its signing configuration (the shared root, its agency's key) and its
/// peers file naming the other engine.
fn write_config(
    dir: &Path,
    own: &str,
    key: &SigningIdentity,
    root_pem: &[u8],
    peer: (&str, &str, &SigningIdentity),
) {
    std::fs::create_dir_all(dir).expect("a folder");
    std::fs::write(dir.join("root.pem"), root_pem).expect("the root");
    std::fs::write(
        dir.join("own.p12"),
        to_pkcs12(key, PASSWORD).expect("a PKCS#12"),
    )
    .expect("the key");
    std::fs::write(dir.join("password"), PASSWORD).expect("the password");
    std::fs::write(
        dir.join("signing.toml"),
        format!(
            "trust = [\"root.pem\"]\n\n[[agency_key]]\nagency = \"{own}\"\npkcs12 = \"own.p12\"\npassword_file = \"password\"\n"
        ),
    )
    .expect("signing.toml");
    let (agency, url, identity) = peer;
    std::fs::write(dir.join("peer.pem"), identity.cert().to_pem().expect("PEM"))
        .expect("the peer's certificate");
    std::fs::write(
        dir.join("peers.toml"),
        format!("[[peer]]\nagency = \"{agency}\"\nurl = \"{url}\"\ncertificate = \"peer.pem\"\n"),
    )
    .expect("peers.toml");
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Motcua-User", "can-bo-mot-cua");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        want: u16,
    ) -> Value {
        let (status, body) = self.call(method, path, body).await;
        assert_eq!(status, want, "{path}: {body}");
        body
    }

    async fn get(&self, path: &str) -> Value {
        self.ok(reqwest::Method::GET, path, None, 200).await
    }

    async fn post(&self, path: &str, body: Value, want: u16) -> Value {
        self.ok(reqwest::Method::POST, path, Some(body), want).await
    }

    /// Posts a raw message as a peer would.
    async fn deliver(&self, body: &[u8], signature: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/exchange/messages", self.base))
            .header("content-type", "application/json")
            .header("x-motcua-signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// Polls `probe` until it gives a value or 30 s pass (the other server's executor delivers).
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        // Polling another process: a short pause between looks, not a timed expectation.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The city's dossiers' codes, straight from its database.
async fn dossier_codes(db: &TestDb) -> Vec<String> {
    let engine = db.open().await;
    db.texts(&engine, "SELECT code FROM dossiers ORDER BY code")
        .await
}

/// The commune's queued message (body and signature), straight from its database.
async fn queued(db: &TestDb) -> (String, String) {
    let engine = db.open().await;
    let column =
        |c: &str| format!("SELECT {c} FROM exchange_outbox WHERE kind = 'dossier.transfer'");
    let body = db.texts(&engine, &column("body")).await;
    let signature = db.texts(&engine, &column("signature")).await;
    assert_eq!(body.len(), 1, "one transfer queued");
    (body[0].clone(), signature[0].clone())
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn sign(identity: &SigningIdentity, body: &[u8]) -> String {
    b64(&identity.sign(body, None).expect("signed"))
}

async fn two_engines(backend: Backend) {
    let Some(commune_db) = TestDb::new(backend, "exchange_commune").await else {
        return;
    };
    let Some(city_db) = TestDb::new(backend, "exchange_city").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a folder");
    let pki = Pki::new();
    let commune_key = pki.user(&Spec::user("UBND phường Phú Hội", 310));
    let city_key = pki.user(&Spec::user("Phòng Quản lý đô thị thành phố Huế", 311));
    let stranger = pki.user(&Spec::user("Một cơ quan khác", 312));
    let root = pki.root_pem();
    let (commune_at, city_at) = (free_port(), free_port());
    let (commune_dir, city_dir) = (dir.path().join("commune"), dir.path().join("city"));
    write_config(
        &commune_dir,
        COMMUNE,
        &commune_key,
        &root,
        (CITY, &format!("http://{city_at}"), &city_key),
    );
    write_config(
        &city_dir,
        CITY,
        &city_key,
        &root,
        (COMMUNE, &format!("http://{commune_at}"), &commune_key),
    );
    let args = |d: &Path| -> Vec<String> {
        vec![
            "--poll-ms".into(),
            "100".into(),
            "--signing".into(),
            d.join("signing.toml").display().to_string(),
            "--peers".into(),
            d.join("peers.toml").display().to_string(),
            "--documents".into(),
            d.join("documents").display().to_string(),
        ]
    };
    let commune_args = args(&commune_dir);
    let city_args = args(&city_dir);
    let commune = Server::start_on(
        commune_db.url(),
        &dir.path().join("commune.log"),
        &commune_at,
        &as_strs(&commune_args),
    );
    let city = Server::start_on(
        city_db.url(),
        &dir.path().join("city.log"),
        &city_at,
        &as_strs(&city_args),
    );
    let http = reqwest::Client::new();
    let commune_api = Api {
        http: http.clone(),
        base: commune.base.clone(),
    };
    let city_api = Api {
        http: http.clone(),
        base: city.base.clone(),
    };
    let deployment =
        json!({ "name": "cpxd", "files": [{ "name": "cap-phep-xay-dung.bpmn", "xml": PROCESS }] });
    commune_api
        .post("/deployments", deployment.clone(), 201)
        .await;
    city_api.post("/deployments", deployment, 201).await;

    // The commune receives the dossier and examines it.
    let received = commune_api
        .post(
            "/dossiers",
            json!({
                "procedure": "cap-phep-xay-dung",
                "agency": COMMUNE,
                "applicant": { "kind": "citizen_id", "id": "046090001234", "name": "Trần Văn Bình" },
                "data": { "diaChiCongTrinh": "12 Chi Lăng, Phú Hội", "dienTich": 86.5 },
                "documents": [{ "slot": "ban-ve", "name": "ban-ve.pdf", "media_type": "application/pdf", "content_base64": b64(DRAWING) }],
            }),
            201,
        )
        .await;
    let code = received["code"].as_str().expect("a code").to_owned();
    commune_api
        .post(
            &format!("/dossiers/{code}/transition"),
            json!({ "to": "processing" }),
            200,
        )
        .await;

    // An agency that is no peer is refused; the city's engine goes down.
    commune_api
        .post(
            &format!("/dossiers/{code}/exchange"),
            json!({ "to": "000.99.99.H22", "reason": "thử" }),
            400,
        )
        .await;
    city.kill();
    let sent = commune_api
        .post(
            &format!("/dossiers/{code}/exchange"),
            json!({ "to": CITY, "reason": "Thẩm quyền cấp phép của UBND thành phố" }),
            201,
        )
        .await;
    assert_eq!(sent["kind"], "dossier.transfer");
    let dossier = commune_api.get(&format!("/dossiers/{code}")).await;
    assert_eq!(dossier["state"], "transferred");

    // Delivery fails while the city is down, and is retried.
    let failing = eventually("a failed delivery attempt", || async {
        let x = commune_api.get(&format!("/dossiers/{code}/exchange")).await;
        let m = x["outbox"][0].clone();
        (m["attempts"].as_u64().unwrap_or(0) >= 1).then_some(m)
    })
    .await;
    assert!(failing["delivered_at"].is_null(), "{failing}");
    assert!(
        failing["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("/exchange/messages")),
        "{failing}"
    );
    assert!(dossier_codes(&city_db).await.is_empty());

    // The city comes back on the same address: the dossier arrives, once.
    let city = Server::start_on(
        city_db.url(),
        &dir.path().join("city-2.log"),
        &city_at,
        &as_strs(&city_args),
    );
    eventually("the delivery", || async {
        let x = commune_api.get(&format!("/dossiers/{code}/exchange")).await;
        (!x["outbox"][0]["delivered_at"].is_null()).then_some(())
    })
    .await;
    let city_codes = dossier_codes(&city_db).await;
    assert_eq!(city_codes.len(), 1, "{city_codes:?}");
    let city_code = city_codes[0].clone();
    assert!(city_code.starts_with(CITY), "{city_code}");
    let at_city = city_api.get(&format!("/dossiers/{city_code}")).await;
    assert_eq!(at_city["state"], "received");
    assert_eq!(at_city["applicant"]["name"], "Trần Văn Bình");
    assert_eq!(at_city["data"]["diaChiCongTrinh"], "12 Chi Lăng, Phú Hội");
    let drawing = city_api
        .get(&format!("/dossiers/{city_code}/documents"))
        .await;
    assert_eq!(drawing[0]["slot"], "ban-ve");
    let bytes = http
        .get(format!(
            "{}/dossiers/{city_code}/documents/ban-ve/1",
            city.base
        ))
        .send()
        .await
        .expect("the document")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(
        bytes.as_ref(),
        DRAWING,
        "the document arrived byte for byte"
    );
    let links = city_api
        .get(&format!("/dossiers/{city_code}/exchange"))
        .await;
    assert_eq!(links["links"][0]["direction"], "received");
    assert_eq!(links["links"][0]["remote_code"], json!(code));

    // Redelivery of the same message is a duplicate and changes nothing.
    let (body, signature) = queued(&commune_db).await;
    let (status, ack) = city_api.deliver(body.as_bytes(), &signature).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["duplicate"], true);
    assert_eq!(ack["dossier_code"], json!(city_code));
    assert_eq!(dossier_codes(&city_db).await.len(), 1);

    // Forgeries: one changed byte; a trusted certificate that is not the commune's; an agency
    // that is not a peer (signed by the commune's own key).
    let tampered = body.replacen("Thẩm quyền", "Thẩm quyen", 1);
    let (status, refused) = city_api.deliver(tampered.as_bytes(), &signature).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "signature-invalid");
    assert_eq!(
        refused["report"]["subIndication"], "HASH_FAILURE",
        "{refused}"
    );
    let mut other: Value = serde_json::from_str(&body).expect("an envelope");
    other["id"] = json!("0192f0c4-0000-7000-8000-000000000001");
    let other = serde_json::to_vec(&other).expect("JSON");
    let (status, refused) = city_api.deliver(&other, &sign(&stranger, &other)).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "rejected");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("not by that peer's certificate")),
        "{refused}"
    );
    let mut unknown: Value = serde_json::from_str(&body).expect("an envelope");
    unknown["from"] = json!("000.77.77.H22");
    let unknown = serde_json::to_vec(&unknown).expect("JSON");
    let (status, refused) = city_api
        .deliver(&unknown, &sign(&commune_key, &unknown))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "rejected");
    let (status, _) = city_api.deliver(body.as_bytes(), "not base64!").await;
    assert_eq!(status, 400);
    assert_eq!(
        dossier_codes(&city_db).await.len(),
        1,
        "no forgery took effect"
    );
    assert_ne!(
        certificate_fingerprint(stranger.cert()).expect("fp"),
        certificate_fingerprint(commune_key.cert()).expect("fp")
    );

    // The city decides: its state flows back and the commune's dossier follows.
    city_api
        .post(
            &format!("/dossiers/{city_code}/transition"),
            json!({ "to": "processing" }),
            200,
        )
        .await;
    city_api
        .post(
            &format!("/dossiers/{city_code}/transition"),
            json!({ "to": "done", "reason": "Đã cấp giấy phép số 125/GPXD" }),
            200,
        )
        .await;
    let done = eventually(
        "the commune's dossier to follow the city's decision",
        || async {
            let d = commune_api.get(&format!("/dossiers/{code}")).await;
            (d["state"] == "done").then_some(d)
        },
    )
    .await;
    assert_eq!(done["state"], "done");
    let journal = commune_api
        .get(&format!(
            "/process-instances/{}/journal",
            done["instance"].as_str().expect("instance")
        ))
        .await;
    let kinds: Vec<&str> = journal
        .as_array()
        .expect("a journal")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .filter(|k| k.starts_with("exchange") || *k == "dossier_state_changed")
        .collect();
    assert_eq!(
        kinds,
        vec![
            "dossier_state_changed", // processing
            "dossier_state_changed", // transferred
            "exchange_sent",
            "exchange_received",     // processing at the city: recorded only
            "exchange_received",     // done at the city
            "dossier_state_changed", // done
        ],
        "{journal}"
    );
    let exchange = commune_api.get(&format!("/dossiers/{code}/exchange")).await;
    let received_codes: Vec<&Value> = exchange["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter(|l| l["direction"] == "received")
        .map(|l| &l["remote_code"])
        .collect();
    assert_eq!(received_codes, vec![&json!(city_code), &json!(city_code)]);
    drop(city);
    drop(commune);
}

on_both_databases!(two_engines);
