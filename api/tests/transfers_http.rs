//! Transfers between agencies over HTTP (issue #9 part 1): the real `motcua serve` binary with
//! tokens on, on a fresh database (SQLite, and PostgreSQL when `MOTCUA_TEST_DATABASE_URL` is
//! set). A commune's servant transfers a dossier to the city (Idempotency-Key honoured, an
//! unknown agency refused); the task leaves the commune's queue for the city's; the commune
//! still reads the dossier and its transfers but no longer changes it; a third agency gets 404
//! everywhere; the city returns it with a reason, then accepts a second transfer; a stale
//! version is a 409.

mod common;

use common::api::{array, b64, form_data, text, token, Api, CITIZEN};
use common::Server;
use motcua_tests::{on_both_databases, Backend, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const BPMN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../definitions/catalog/dang-ky-khai-sinh.bpmn"
));
const DECLARATION_FORM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../definitions/catalog/to-khai-khai-sinh.form"
));

/// The catalog procedure's agency (its tasks route there).
const COMMUNE: &str = "000.00.02.H22";
const CITY: &str = "000.00.10.H22";
const OTHER_TOWN: &str = "000.00.11.H22";

async fn transfers_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "transfers_over_http").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let secret = "mot-bi-mat-du-dai-cho-hs256-0123456789";
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, secret).expect("the secret file");
    let documents = dir.path().join("documents");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &[
            "--documents",
            documents.to_str().expect("a UTF-8 path"),
            "--jwt-secret-file",
            secret_file.to_str().expect("a UTF-8 path"),
        ],
    );
    let as_role = |user: &str, role: &str, agency: Option<&str>| Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
        token: Some(token(secret, user, role, agency)),
    };
    let admin = as_role("quan-tri", "admin", None);
    let commune = as_role("lan", "servant", Some(COMMUNE));
    let city = as_role("minh", "servant", Some(CITY));
    let town = as_role("hoa", "servant", Some(OTHER_TOWN));

    let files = json!([
        { "name": "dang-ky-khai-sinh.bpmn", "xml": BPMN },
        { "name": "to-khai-khai-sinh.form", "xml": DECLARATION_FORM },
    ]);
    admin
        .post("/deployments", json!({ "files": files }))
        .await
        .expect(StatusCode::CREATED);
    let dossier = commune
        .post(
            "/dossiers",
            json!({
                "procedure": "dang-ky-khai-sinh",
                "agency": COMMUNE,
                "applicant": { "kind": "citizen_id", "id": CITIZEN, "name": "Nguyễn Văn An" },
                "data": form_data(),
                "documents": [{ "slot": "to-khai", "name": "a.txt", "media_type": "text/plain", "content_base64": b64(b"to khai") }],
            }),
        )
        .await
        .expect(StatusCode::CREATED);
    let code = text(&dossier, "code").to_owned();
    let tasks = commune.get("/tasks").await.expect(StatusCode::OK);
    assert_eq!(array(&tasks).len(), 1, "{tasks}");
    let task = text(&array(&tasks)[0], "id").to_owned();
    assert!(array(&city.get("/tasks").await.expect(StatusCode::OK)).is_empty());

    // An agency missing from the directory; a third agency cannot even see the dossier.
    commune
        .post(
            &format!("/dossiers/{code}/transfers"),
            json!({ "to_agency": "999.99.99.H99", "reason": "x" }),
        )
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid");
    town.post(
        &format!("/dossiers/{code}/transfers"),
        json!({ "to_agency": CITY, "reason": "x" }),
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not-found");

    // The transfer, retried with its Idempotency-Key.
    let body = json!({
        "to_agency": CITY,
        "reason": "Thuộc thẩm quyền UBND thành phố",
        "documents": ["to-khai"],
        "sla_share_working_days": 1.5,
    });
    let path = format!("/dossiers/{code}/transfers");
    let first = commune
        .send(Method::POST, &path, Some("tr-1"), Some(body.clone()))
        .await
        .expect(StatusCode::CREATED);
    let again = commune
        .send(Method::POST, &path, Some("tr-1"), Some(body))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(first, again);
    let id = text(&first, "id").to_owned();
    assert_eq!(first["state"], "sent");
    assert_eq!(first["from_agency"], COMMUNE);
    assert_eq!(first["receiver_share_working_days"], 1.5);
    assert_eq!(first["tasks"][0]["task"], task.as_str());
    assert_eq!(first["documents"][0]["slot"], "to-khai");
    assert_eq!(first["step_task"], Value::Null);

    // The task moved queues; both agencies read the dossier and its transfers.
    assert!(array(&commune.get("/tasks").await.expect(StatusCode::OK)).is_empty());
    let city_tasks = city.get("/tasks").await.expect(StatusCode::OK);
    assert_eq!(text(&array(&city_tasks)[0], "id"), task);
    for api in [&commune, &city] {
        let d = api
            .get(&format!("/dossiers/{code}"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(d["state"], "transferred");
        let list = api.get(&path).await.expect(StatusCode::OK);
        assert_eq!(array(&list).len(), 1);
        assert_eq!(list[0]["id"], id.as_str());
    }
    // The sender no longer changes it, nor decides the transfer.
    commune
        .post(
            &format!("/dossiers/{code}/transition"),
            json!({ "to": "processing" }),
        )
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    commune
        .post(&format!("/transfers/{id}/accept"), json!({}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    // A third agency: 404 on every route.
    town.get(&format!("/dossiers/{code}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");
    town.get(&path)
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");
    town.post(&format!("/transfers/{id}/accept"), json!({}))
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");
    town.post(&format!("/transfers/{id}/return"), json!({ "reason": "x" }))
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");

    // The city returns it with a reason: the task and the dossier go back.
    let returned = city
        .post(
            &format!("/transfers/{id}/return"),
            json!({ "reason": "Không thuộc thẩm quyền" }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(returned["state"], "returned");
    assert_eq!(returned["returned_reason"], "Không thuộc thẩm quyền");
    assert_eq!(
        array(&commune.get("/tasks").await.expect(StatusCode::OK)).len(),
        1
    );
    city.get(&format!("/dossiers/{code}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");
    // The city still decides nothing more on its returned transfer.
    city.post(&format!("/transfers/{id}/accept"), json!({}))
        .await
        .problem(StatusCode::CONFLICT, "conflict");

    // A stale version, then a second transfer the city accepts.
    let d = commune
        .get(&format!("/dossiers/{code}"))
        .await
        .expect(StatusCode::OK);
    let version = d["version"].as_i64().expect("a version");
    commune
        .post(
            &path,
            json!({ "to_agency": CITY, "reason": "Lần 2", "expected_version": version - 1 }),
        )
        .await
        .problem(StatusCode::CONFLICT, "conflict");
    let second = commune
        .post(
            &path,
            json!({ "to_agency": CITY, "reason": "Lần 2", "expected_version": version }),
        )
        .await
        .expect(StatusCode::CREATED);
    let second_id = text(&second, "id").to_owned();
    let accepted = city
        .post(&format!("/transfers/{second_id}/accept"), json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(accepted["state"], "accepted");
    assert_eq!(accepted["decided_by"], "minh");
    city.post(&format!("/transfers/{second_id}/accept"), json!({}))
        .await
        .problem(StatusCode::CONFLICT, "conflict");
    // The holder now changes the dossier.
    city.post(
        &format!("/dossiers/{code}/transition"),
        json!({ "to": "processing" }),
    )
    .await
    .expect(StatusCode::OK);
    server.kill();
}

on_both_databases!(transfers_over_http);
