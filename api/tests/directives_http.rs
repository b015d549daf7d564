//! Leadership directives over real HTTP with bearer tokens: `motcua serve --jwt-secret-file` on
//! SQLite and PostgreSQL (`MOTCUA_TEST_DATABASE_URL`; otherwise `SKIPPED ... on postgres`).
//!
//! A Vice-Chairman issues a directive to a lead and a co-ordinating agency (a retry under the
//! same Idempotency-Key issues nothing twice); each agency's servant sees only its own
//! assignment (another's answers 404 like an unknown id) and reports on it; a stale version is a
//! conflict; an extension is requested by the agency and decided by the issuer only; the
//! lead's department gets a child task; completion and acceptance; the IOC (an integrator)
//! reads the statistics as JSON and Prometheus text, and the secretariat the CSV for the
//! meeting. Time-driven behaviour (reminders, report requests, overdue) is tested with a
//! controlled clock in `tests/tests/directives.rs`.

mod common;

use base64::Engine as _;
use common::Server;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use motcua_tests::{on_both_databases, Backend, TestDb};
use reqwest::Method;
use serde_json::{json, Value};

const PROCESS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../definitions/catalog/theo-doi-chi-dao.bpmn"
));

const SECRET: &str = "a-test-secret-of-at-least-32-bytes-0123456789";
const LEAD: &str = "000.00.10.H22";
const COORD: &str = "000.00.11.H22";
const LEADER: &str = "pho-chu-tich-hoa";

/// A token for `sub` in `role` (and `agency`).
fn token(sub: &str, role: &str, agency: Option<&str>) -> String {
    let claims = json!({
        "sub": sub,
        "role": role,
        "agency": agency,
        "exp": jsonwebtoken::get_current_timestamp() + 600,
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("signed")
}

struct Api {
    http: reqwest::Client,
    base: String,
}

/// Status, content type and body (JSON, or the text as a JSON string).
struct Answer {
    status: u16,
    content_type: String,
    body: Value,
}

impl Answer {
    fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        &self.body
    }

    fn problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        assert_eq!(self.content_type, "application/problem+json");
        assert_eq!(self.body["code"], code, "{}", self.body);
    }
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
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

    async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, token, None, None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, token, None, Some(body)).await
    }
}

fn field(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("no string '{name}' in {v}"))
        .to_owned()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn detail_of(api: &Api, id: &str, token: &str) -> Value {
    let answer = api
        .get(&format!("/directive-assignments/{id}"), token)
        .await;
    answer.ok(200).clone()
}

fn assignment_ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {list}"))
        .iter()
        .map(|v| field(&v["assignment"], "id"))
        .collect()
}

async fn directives_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "directives_over_http").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let secret_file = dir.path().join("jwt.secret");
    std::fs::write(&secret_file, SECRET).expect("write the secret");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &["--jwt-secret-file", secret_file.to_str().expect("UTF-8")],
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let admin = token("quan-tri", "admin", None);
    let leader = token(LEADER, "leader", Some("000.00.00.H22"));
    let other_leader = token("chu-tich", "leader", Some("000.00.00.H22"));
    let lead_servant = token("cv-so-tnmt", "servant", Some(LEAD));
    let coord_servant = token("cv-so-xd", "servant", Some(COORD));
    let ioc = token("ioc", "integrator", None);

    api.post(
        "/deployments",
        &admin,
        json!({ "name": "chi-dao", "files": [{ "name": "theo-doi-chi-dao.bpmn", "xml": PROCESS }] }),
    )
    .await
    .ok(201);

    // Issue: a servant may not; a leader may not issue in another's name.
    let directive = json!({
        "summary": "Khắc phục ngập úng đường Lê Duẩn",
        "content": "Sở TN&MT chủ trì, phối hợp Sở Xây dựng khảo sát, đề xuất giải pháp.",
        "document_number": "125/UBND-TH",
        "date": "2026-11-30",
        "deadline": { "working_days": 15 },
        "priority": "khẩn",
        "lead": LEAD,
        "coordinate": [COORD],
        "report_every_days": 7,
    });
    api.post("/directives", &lead_servant, directive.clone())
        .await
        .problem(403, "forbidden");
    let mut as_other = directive.clone();
    as_other["issuer"] = json!("chu-tich");
    api.post("/directives", &leader, as_other)
        .await
        .problem(403, "forbidden");
    let mut two_leads = directive.clone();
    two_leads["coordinate"] = json!([LEAD]);
    api.post("/directives", &leader, two_leads)
        .await
        .problem(400, "invalid");
    let mut bad_deadline = directive.clone();
    bad_deadline["deadline"] = json!({ "date": "2026-12-20", "working_days": 3 });
    api.post("/directives", &leader, bad_deadline)
        .await
        .problem(400, "invalid");

    let issued = api
        .call(
            Method::POST,
            "/directives",
            &leader,
            Some("chi-dao-125"),
            Some(directive.clone()),
        )
        .await;
    let issued = issued.ok(201).clone();
    let made = issued.as_array().expect("the assignments");
    assert_eq!(made.len(), 2);
    assert_eq!(made[0]["agency"], LEAD, "the lead's first");
    assert_eq!(made[0]["role"], "lead");
    assert_eq!(made[0]["directive"]["issuer"], LEADER);
    assert_eq!(made[0]["directive"]["report_every_days"], 7);
    assert_eq!(
        made[0]["directive"]["source"],
        json!({"kind": "document", "number": "125/UBND-TH", "date": "2026-11-30"})
    );
    let lead_id = field(&made[0], "id");
    let coord_id = field(&made[1], "id");
    let directive_id = field(&made[0]["directive"], "id");

    // A retry under the same key answers the same assignments and issues nothing twice; the
    // same key for another request is a conflict.
    let retried = api
        .call(
            Method::POST,
            "/directives",
            &leader,
            Some("chi-dao-125"),
            Some(directive.clone()),
        )
        .await;
    let retried = retried.ok(201);
    assert_eq!(retried[0]["id"], made[0]["id"]);
    assert_eq!(retried[1]["id"], made[1]["id"]);
    let mut changed = directive.clone();
    changed["summary"] = json!("Một việc khác");
    api.call(
        Method::POST,
        "/directives",
        &leader,
        Some("chi-dao-125"),
        Some(changed),
    )
    .await
    .problem(409, "conflict");
    let all = api
        .get(
            &format!("/directive-assignments?directive={directive_id}"),
            &admin,
        )
        .await;
    assert_eq!(assignment_ids(all.ok(200)).len(), 2, "issued once");

    // Each servant sees its own agency's assignment only.
    let mine = api.get("/directive-assignments", &lead_servant).await;
    assert_eq!(assignment_ids(mine.ok(200)), vec![lead_id.clone()]);
    let asked_for_other = api
        .get(
            &format!("/directive-assignments?agency={COORD}"),
            &lead_servant,
        )
        .await;
    assert_eq!(
        assignment_ids(asked_for_other.ok(200)),
        vec![lead_id.clone()]
    );
    let hidden = api
        .get(&format!("/directive-assignments/{coord_id}"), &lead_servant)
        .await;
    hidden.problem(404, "not-found");
    let unknown = api
        .get("/directive-assignments/no-such-assignment", &lead_servant)
        .await;
    unknown.problem(404, "not-found");
    assert_eq!(
        field(&hidden.body, "detail").replace(&coord_id, "ID"),
        field(&unknown.body, "detail").replace("no-such-assignment", "ID"),
        "another agency's assignment answers like an unknown one"
    );
    api.post(
        &format!("/directive-assignments/{coord_id}/reports"),
        &lead_servant,
        json!({ "percent": 10, "text": "không phải việc của tôi" }),
    )
    .await
    .problem(404, "not-found");

    // Progress: reported at version 1; a report against version 1 again is a conflict.
    let reported = api
        .post(
            &format!("/directive-assignments/{lead_id}/reports"),
            &lead_servant,
            json!({ "percent": 40, "text": "Đã khảo sát hiện trạng, đang lập phương án.", "version": 1 }),
        )
        .await;
    let reported = reported.ok(200);
    assert_eq!(reported["progress"], 40);
    assert_eq!(reported["version"], 2);
    api.post(
        &format!("/directive-assignments/{lead_id}/reports"),
        &lead_servant,
        json!({ "percent": 50, "text": "cũ", "version": 1 }),
    )
    .await
    .problem(409, "conflict");
    api.post(
        &format!("/directive-assignments/{lead_id}/reports"),
        &lead_servant,
        json!({ "percent": 140, "text": "quá" }),
    )
    .await
    .problem(400, "invalid");
    // A report retried under its Idempotency-Key is recorded once.
    for _ in 0..2 {
        let again = api
            .call(
                Method::POST,
                &format!("/directive-assignments/{lead_id}/reports"),
                &lead_servant,
                Some("bao-cao-tuan-2"),
                Some(json!({ "percent": 60, "text": "Đã trình phương án." })),
            )
            .await;
        assert_eq!(again.ok(200)["version"], 3);
    }
    let detail = api
        .get(&format!("/directive-assignments/{lead_id}"), &lead_servant)
        .await;
    let reports = detail.ok(200)["reports"].clone();
    assert_eq!(
        reports
            .as_array()
            .map(|r| r.iter().map(|x| x["percent"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(40), json!(60)])
    );

    // Documents: the issuer attaches the source document to the lead's task, the lead's
    // servant a report's attachment; each reads back byte for byte with its SHA-256.
    let source = "CÔNG VĂN 125/UBND-TH\nV/v khắc phục ngập úng".as_bytes();
    let attached = api
        .post(
            &format!("/directive-assignments/{lead_id}/documents"),
            &leader,
            json!({ "name": "125-UBND-TH.txt", "media_type": "text/plain", "content_base64": b64(source) }),
        )
        .await;
    let attached = attached.ok(201).clone();
    assert_eq!(attached["sha256"], sha256_hex(source));
    assert_eq!(attached["signature_sha256"], Value::Null);
    let report_id = field(
        &detail_of(&api, &lead_id, &lead_servant).await["reports"][0],
        "id",
    );
    api.post(
        &format!("/directive-assignments/{lead_id}/documents"),
        &lead_servant,
        json!({ "name": "anh-hien-truong.jpg", "media_type": "image/jpeg", "content_base64": b64(b"\xff\xd8 not really a photo"), "report": report_id }),
    )
    .await
    .ok(201);
    for (who, body, status, code) in [
        (
            &coord_servant,
            json!({ "name": "x.txt", "media_type": "text/plain", "content_base64": b64(b"x") }),
            404,
            "not-found",
        ),
        (
            &lead_servant,
            json!({ "name": "x.txt", "media_type": "text/plain", "content_base64": "***" }),
            400,
            "invalid",
        ),
        (
            &lead_servant,
            json!({ "name": "x.txt", "media_type": "text/plain", "content_base64": b64(b"x"), "sign_as_agency": LEAD }),
            400,
            "invalid",
        ),
        (
            &lead_servant,
            json!({ "name": "x.txt", "media_type": "text/plain", "content_base64": b64(b"x"), "sign_as_agency": COORD }),
            403,
            "forbidden",
        ),
    ] {
        api.post(
            &format!("/directive-assignments/{lead_id}/documents"),
            who,
            body,
        )
        .await
        .problem(status, code);
    }
    let listed = api
        .get(
            &format!("/directive-assignments/{lead_id}/documents"),
            &lead_servant,
        )
        .await;
    let listed = listed.ok(200).clone();
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(listed[1]["report"], json!(report_id));
    let bytes = api
        .http
        .get(format!(
            "{}/directive-assignments/{lead_id}/documents/{}",
            api.base,
            field(&attached, "id")
        ))
        .bearer_auth(&lead_servant)
        .send()
        .await
        .expect("an answer");
    assert_eq!(bytes.status().as_u16(), 200);
    assert_eq!(
        bytes.headers().get("etag").and_then(|v| v.to_str().ok()),
        Some(format!("\"{}\"", sha256_hex(source)).as_str())
    );
    assert_eq!(bytes.bytes().await.expect("the bytes").as_ref(), source);
    assert_eq!(
        detail_of(&api, &lead_id, &lead_servant).await["documents"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // The department gets a child task, not later than the parent.
    let child = api
        .post(
            &format!("/directive-assignments/{lead_id}/children"),
            &lead_servant,
            json!({ "agency": "000.10.10.H22", "title": "Đo đạc cao độ mặt đường", "deadline": { "working_days": 5 } }),
        )
        .await;
    let child = child.ok(201);
    assert_eq!(child["parent"], json!(lead_id));
    api.post(
        &format!("/directive-assignments/{lead_id}/children"),
        &lead_servant,
        json!({ "agency": "000.10.11.H22", "title": "Quá hạn cha", "deadline": { "working_days": 40 } }),
    )
    .await
    .problem(400, "invalid");

    // An extension: asked by the co-ordinating agency, decided by the issuer only.
    let asked = api
        .post(
            &format!("/directive-assignments/{coord_id}/extension-requests"),
            &coord_servant,
            json!({ "deadline": { "working_days": 25 }, "reason": "Chờ số liệu quan trắc mùa mưa" }),
        )
        .await;
    assert_eq!(asked.ok(200)["state"], "extension_requested");
    for who in [&coord_servant, &other_leader] {
        api.post(
            &format!("/directive-assignments/{coord_id}/extension-decision"),
            who,
            json!({ "approve": true }),
        )
        .await
        .problem(403, "forbidden");
    }
    let decided = api
        .post(
            &format!("/directive-assignments/{coord_id}/extension-decision"),
            &leader,
            json!({ "approve": true }),
        )
        .await;
    let decided = decided.ok(200).clone();
    assert_eq!(decided["state"], "in_progress");
    assert!(
        field(&decided, "deadline") > field(&decided, "original_deadline"),
        "the new deadline is later, the original kept: {decided}"
    );
    let detail = api
        .get(
            &format!("/directive-assignments/{coord_id}"),
            &coord_servant,
        )
        .await;
    let detail = detail.ok(200);
    assert_eq!(detail["extensions"][0]["approved"], true);
    assert_eq!(detail["status"]["status"], "in_progress");

    // Completion by the lead, acceptance by the issuer.
    api.post(
        &format!("/directive-assignments/{lead_id}/completion"),
        &lead_servant,
        json!({ "evidence": "Báo cáo số 88/BC-STNMT" }),
    )
    .await
    .ok(200);
    api.post(
        &format!("/directive-assignments/{lead_id}/acceptance"),
        &leader,
        json!({ "accept": false }),
    )
    .await
    .problem(400, "invalid");
    let accepted = api
        .post(
            &format!("/directive-assignments/{lead_id}/acceptance"),
            &leader,
            json!({ "accept": true }),
        )
        .await;
    assert_eq!(accepted.ok(200)["state"], "accepted");

    // The IOC: statistics as JSON and Prometheus text; the lead is done on time.
    let stats = api.get("/directive-statistics", &ioc).await;
    let stats = stats.ok(200);
    assert_eq!(stats["by_agency"][LEAD]["done_on_time"], 1, "{stats}");
    assert_eq!(stats["by_agency"][LEAD]["on_time_rate"], 1.0, "{stats}");
    assert_eq!(stats["by_agency"][COORD]["in_progress"], 1, "{stats}");
    assert_eq!(stats["by_leader"][LEADER]["total"], 3, "{stats}");
    let text = api.get("/directive-statistics/prometheus", &ioc).await;
    assert_eq!(text.status, 200);
    assert!(text.content_type.starts_with("text/plain"));
    let text = text.body.as_str().expect("text").to_owned();
    assert!(
        text.contains(&format!(
            "motcua_directive_assignments{{agency=\"{LEAD}\",status=\"done_on_time\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "motcua_directive_on_time_ratio{{leader=\"{LEADER}\"}} 1"
        )),
        "{text}"
    );
    api.get("/directive-statistics?status=late", &ioc)
        .await
        .problem(400, "invalid");
    // A servant's statistics are their agency's only.
    let own = api.get("/directive-statistics", &coord_servant).await;
    let own = own.ok(200);
    assert_eq!(
        own["by_agency"]
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec![COORD.to_owned()])
    );

    // The CSV for the meeting: a byte-order mark, Vietnamese headers, one row per assignment.
    let response = api
        .http
        .get(format!(
            "{}/directive-assignments.csv?leader={LEADER}",
            api.base
        ))
        .bearer_auth(&leader)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/csv")));
    let bytes = response.bytes().await.expect("the CSV");
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    let csv = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
    assert!(csv.starts_with("Mã nhiệm vụ,Mã chỉ đạo,Nguồn"), "{csv}");
    assert_eq!(
        csv.lines().count(),
        4,
        "a header and three assignments: {csv}"
    );
    let lead_row = csv
        .lines()
        .find(|l| l.starts_with(&lead_id))
        .unwrap_or_else(|| panic!("no row for the lead: {csv}"));
    assert!(lead_row.contains("125/UBND-TH"), "{lead_row}");
    assert!(lead_row.contains("chủ trì"), "{lead_row}");
    assert!(lead_row.contains("Hoàn thành đúng hạn"), "{lead_row}");
}

on_both_databases!(directives_over_http);
