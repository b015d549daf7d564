//! End-to-end tests of the dossier and form endpoints: the real `motcua serve` binary with a
//! document folder (`--documents DIR`) on a fresh database (SQLite, and PostgreSQL when
//! `MOTCUA_TEST_DATABASE_URL` is set), the birth registration catalog deployed over HTTP with
//! its three forms, then a dossier's life at the counter: receipt with documents, invalid form
//! data, the bytes back, a supplement, a refused transition, the receipt slip, certification
//! and reuse by the same applicant, and a task's form as HTML.

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
const RECEIPT_FORM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../definitions/catalog/khai-sinh-tiep-nhan.form"
));
const EXAMINATION_FORM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../definitions/catalog/khai-sinh-tham-dinh.form"
));

const AGENCY: &str = "000.00.01.H22";

fn applicant() -> Value {
    json!({
        "kind": "citizen_id",
        "id": CITIZEN,
        "name": "Nguyễn Văn An",
        "address": "Phú Thượng, Huế",
        "phone": "0912345678",
    })
}

/// A dossier's life over HTTP.
async fn dossier_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "dossier_over_http").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let documents = dir.path().join("documents");
    std::fs::create_dir_all(&documents).expect("a documents folder");
    let documents = documents.to_str().expect("a UTF-8 path").to_owned();
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &["--poll-ms", "100", "--documents", &documents],
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
        token: None,
    };

    // The catalog: the BPMN and its three forms, in one deployment.
    let files = json!([
        { "name": "dang-ky-khai-sinh.bpmn", "xml": BPMN },
        { "name": "to-khai-khai-sinh.form", "xml": DECLARATION_FORM },
        { "name": "khai-sinh-tiep-nhan.form", "xml": RECEIPT_FORM },
        { "name": "khai-sinh-tham-dinh.form", "xml": EXAMINATION_FORM },
    ]);
    api.post(
        "/deployments",
        json!({ "name": "khai-sinh", "files": files }),
    )
    .await
    .expect(StatusCode::CREATED);
    let form = api
        .get("/forms/to-khai-khai-sinh")
        .await
        .expect(StatusCode::OK);
    assert_eq!(text(&form, "id"), "to-khai-khai-sinh");
    assert!(array(&form["components"]).len() > 5, "{form}");
    api.get("/forms/khong-co")
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");

    // Invalid form data: 422 naming every failing field, and no dossier.
    let declaration = b"%PDF-1.7 to khai dang ky khai sinh\n".to_vec();
    let birth_paper: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let docs = json!([
        { "slot": "to-khai", "name": "to-khai.pdf", "media_type": "application/pdf", "content_base64": b64(&declaration) },
        { "slot": "giay-chung-sinh", "name": "giay-chung-sinh.jpg", "media_type": "image/jpeg", "content_base64": b64(&birth_paper) },
    ]);
    let invalid = api
        .post(
            "/dossiers",
            json!({
                "procedure": "dang-ky-khai-sinh",
                "agency": AGENCY,
                "applicant": applicant(),
                "data": { "applicantName": "Nguyễn Văn An", "applicantId": "123" },
                "documents": docs,
            }),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "form-invalid");
    let paths: Vec<&str> = array(&invalid["errors"])
        .iter()
        .map(|e| text(e, "path"))
        .collect();
    for field in [
        "applicantId",
        "relationship",
        "childName",
        "childBirthDate",
        "childGender",
        "birthPlace",
    ] {
        assert!(paths.contains(&field), "{field} missing from {invalid}");
    }
    assert!(!paths.contains(&"applicantName"), "{invalid}");
    assert_eq!(text(&invalid, "form"), "to-khai-khai-sinh");

    // Bad base64: 400 naming the document.
    let bad = api
        .post(
            "/dossiers",
            json!({
                "procedure": "dang-ky-khai-sinh",
                "agency": AGENCY,
                "applicant": applicant(),
                "data": form_data(),
                "documents": [
                    docs[0].clone(),
                    { "slot": "giay-chung-sinh", "name": "x.jpg", "media_type": "image/jpeg", "content_base64": "!!not base64!!" },
                ],
            }),
        )
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid");
    assert!(text(&bad, "detail").contains("documents[1]"), "{bad}");

    // Receipt with two documents, certifying the birth paper at once; a retry with the same
    // Idempotency-Key answers the same dossier.
    let submit = json!({
        "procedure": "dang-ky-khai-sinh",
        "agency": AGENCY,
        "applicant": applicant(),
        "data": form_data(),
        "documents": docs,
        "certify": [{ "slot": "giay-chung-sinh", "doc_type": "giay-chung-sinh", "number": "CS-123", "issued_on": "2026-11-20" }],
    });
    let first = api
        .send(
            Method::POST,
            "/dossiers",
            Some("submit-1"),
            Some(submit.clone()),
        )
        .await;
    let dossier = first.expect(StatusCode::CREATED);
    let code = text(&dossier, "code").to_owned();
    let prefix = format!("{AGENCY}-");
    let rest = code
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{code}"));
    let (day, number) = rest.split_once('-').unwrap_or_else(|| panic!("{code}"));
    assert!(
        day.len() == 6 && day.chars().all(|c| c.is_ascii_digit()) && number == "0001",
        "{code} does not match ^000\\.00\\.01\\.H22-\\d{{6}}-0001$"
    );
    assert_eq!(text(&dossier, "state"), "received");
    assert_eq!(text(&dossier, "state_label"), "Đã tiếp nhận");
    assert_eq!(text(&dossier, "procedure"), "dang-ky-khai-sinh");
    assert_eq!(text(&dossier["applicant"], "id"), CITIZEN);
    assert_eq!(dossier["version"], 1);
    assert_eq!(dossier["overdue"], false);
    assert!(dossier["due_at"].is_string(), "the SLA sets a return date");
    assert_eq!(array(&dossier["documents"]).len(), 2);
    let again = api
        .send(Method::POST, "/dossiers", Some("submit-1"), Some(submit))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        text(&again, "code"),
        code,
        "a retry answers the same dossier"
    );

    // Read it back, and the bytes, identical, with their media type and ETag.
    let read = api
        .get(&format!("/dossiers/{code}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(read, dossier);
    let bytes = api
        .get(&format!("/dossiers/{code}/documents/giay-chung-sinh/1"))
        .await;
    assert_eq!(bytes.status, StatusCode::OK);
    assert_eq!(bytes.content_type, "image/jpeg");
    assert_eq!(bytes.bytes, birth_paper);
    let sha = array(&dossier["documents"])
        .iter()
        .find(|d| d["slot"] == "giay-chung-sinh")
        .map(|d| text(d, "sha256").to_owned())
        .expect("the birth paper");
    assert_eq!(bytes.etag.as_deref(), Some(format!("\"{sha}\"").as_str()));
    api.get(&format!("/dossiers/{code}/documents/giay-chung-sinh/9"))
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");
    api.get(&format!("/dossiers/{AGENCY}-991231-0001"))
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");

    // A supplement: version 2 of the declaration; both versions are listed.
    let declaration_v2 = b"%PDF-1.7 to khai (ban sua)\n".to_vec();
    let added = api
        .post(
            &format!("/dossiers/{code}/documents"),
            json!({ "slot": "to-khai", "name": "to-khai-v2.pdf", "media_type": "application/pdf", "content_base64": b64(&declaration_v2) }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(added["version"], 2, "{added}");
    let all = api
        .get(&format!("/dossiers/{code}/documents"))
        .await
        .expect(StatusCode::OK);
    let versions: Vec<(&str, &Value)> = array(&all)
        .iter()
        .map(|d| (text(d, "slot"), &d["version"]))
        .collect();
    assert_eq!(versions.len(), 3, "{all}");
    assert!(versions.contains(&("to-khai", &json!(1))));
    assert!(versions.contains(&("to-khai", &json!(2))));
    let v2 = api
        .get(&format!("/dossiers/{code}/documents/to-khai/2"))
        .await;
    assert_eq!(v2.bytes, declaration_v2);
    let v1 = api
        .get(&format!("/dossiers/{code}/documents/to-khai/1"))
        .await;
    assert_eq!(v1.bytes, declaration, "earlier versions stay");

    // A forbidden transition: 409, nothing changed.
    let before = api
        .get(&format!("/dossiers/{code}"))
        .await
        .expect(StatusCode::OK);
    api.post(
        &format!("/dossiers/{code}/transition"),
        json!({ "to": "result_returned" }),
    )
    .await
    .problem(StatusCode::CONFLICT, "conflict");
    api.post(
        &format!("/dossiers/{code}/transition"),
        json!({ "to": "processing", "expected_version": 1 }),
    )
    .await
    .problem(StatusCode::CONFLICT, "conflict");
    api.post(
        &format!("/dossiers/{code}/transition"),
        json!({ "to": "no-such-state" }),
    )
    .await
    .problem(StatusCode::BAD_REQUEST, "invalid");
    let after = api
        .get(&format!("/dossiers/{code}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(after, before, "a refused transition changes nothing");
    let version = before["version"].clone();
    let moved = api
        .post(
            &format!("/dossiers/{code}/transition"),
            json!({ "to": "processing", "expected_version": version }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(text(&moved, "state"), "processing");
    assert_eq!(text(&moved, "state_label"), "Đang xử lý");

    // The receipt slip (form 01).
    let slip = api.get(&format!("/dossiers/{code}/slips/01")).await;
    assert_eq!(slip.status, StatusCode::OK, "{}", slip.text());
    assert_eq!(slip.content_type, "text/html; charset=utf-8");
    let html = slip.text();
    assert!(html.contains(&code), "the slip names the dossier");
    assert!(
        html.contains("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"),
        "the slip's title"
    );
    api.get(&format!("/dossiers/{code}/slips/99"))
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid");

    // Certify the supplemented declaration too; the applicant's store has both papers.
    let certified = api
        .post(
            &format!("/dossiers/{code}/documents/to-khai/2/certify"),
            json!({ "doc_type": "to-khai-khai-sinh" }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(text(&certified, "source_dossier"), code);
    let store = api
        .get(&format!("/applicants/citizen_id/{CITIZEN}/documents"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(array(&store).len(), 2, "{store}");
    let birth = array(&store)
        .iter()
        .find(|d| d["doc_type"] == "giay-chung-sinh")
        .expect("the birth paper is certified");
    let birth_id = text(birth, "id").to_owned();
    assert_eq!(text(birth, "sha256"), sha);

    // A second dossier of the same applicant reuses the certified birth paper.
    let second = api
        .post(
            "/dossiers",
            json!({
                "procedure": "dang-ky-khai-sinh",
                "agency": AGENCY,
                "applicant": applicant(),
                "data": form_data(),
                "documents": [
                    docs[0].clone(),
                    { "slot": "giay-chung-sinh", "reuse": birth_id },
                ],
            }),
        )
        .await
        .expect(StatusCode::CREATED);
    let second_code = text(&second, "code").to_owned();
    assert!(second_code.ends_with("-0002"), "{second_code}");
    let reused = array(&second["documents"])
        .iter()
        .find(|d| d["slot"] == "giay-chung-sinh")
        .expect("the reused paper");
    assert_eq!(text(reused, "reused_from"), birth_id);
    assert_eq!(text(reused, "sha256"), sha);
    let reused_bytes = api
        .get(&format!(
            "/dossiers/{second_code}/documents/giay-chung-sinh/1"
        ))
        .await;
    assert_eq!(reused_bytes.bytes, birth_paper);
    // Another applicant may not reuse it.
    let mut stranger = applicant();
    stranger["id"] = json!("046090009999");
    let refused = api
        .post(
            "/dossiers",
            json!({
                "procedure": "dang-ky-khai-sinh",
                "agency": AGENCY,
                "applicant": stranger,
                "data": form_data(),
                "documents": [docs[0].clone(), { "slot": "giay-chung-sinh", "reuse": birth_id }],
            }),
        )
        .await;
    assert!(
        refused.status.is_client_error(),
        "another applicant's document is refused: {}",
        refused.text()
    );

    // The counter's task form, rendered with its labels.
    let instance = text(&dossier, "instance");
    let tasks = api
        .get(&format!("/tasks?instance={instance}"))
        .await
        .expect(StatusCode::OK);
    let task = text(&array(&tasks)[0], "id").to_owned();
    let page = api.get(&format!("/tasks/{task}/form")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.content_type.starts_with("text/html"), "{page:?}");
    let html = page.text();
    assert!(html.contains("Giấy tờ đã nhận"), "{html}");
    assert!(html.contains("<label"), "{html}");
    api.get("/tasks/0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d/form")
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");

    // The register (form 06) of the agency for a wide period.
    let register = api
        .get(&format!(
            "/agencies/{AGENCY}/register?from=2000-01-01&to=2099-12-31"
        ))
        .await;
    assert_eq!(register.status, StatusCode::OK, "{}", register.text());
    assert!(register.text().contains(&second_code));

    let status = server.terminate().await;
    assert!(status.success(), "motcua serve exits cleanly: {status:?}");
}

/// With tokens on, a servant of another agency gets exactly the answer for an unknown code on
/// every dossier route; the dossier's own servant reads and changes it; an auditor reads only.
async fn dossier_scope_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "dossier_scope_over_http").await else {
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
    let own = as_role("lan", "servant", Some(AGENCY));
    let other = as_role("hoa", "servant", Some("000.00.02.H22"));
    let auditor = as_role("kiem-tra", "auditor", None);

    let files = json!([
        { "name": "dang-ky-khai-sinh.bpmn", "xml": BPMN },
        { "name": "to-khai-khai-sinh.form", "xml": DECLARATION_FORM },
    ]);
    admin
        .post("/deployments", json!({ "files": files }))
        .await
        .expect(StatusCode::CREATED);
    let submit = json!({
        "procedure": "dang-ky-khai-sinh",
        "agency": AGENCY,
        "applicant": applicant(),
        "data": form_data(),
        "documents": [{ "slot": "to-khai", "name": "a.txt", "media_type": "text/plain", "content_base64": b64(b"to khai") }],
    });
    other
        .post("/dossiers", submit.clone())
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let dossier = own
        .post("/dossiers", submit)
        .await
        .expect(StatusCode::CREATED);
    let code = text(&dossier, "code").to_owned();
    let unknown = format!("{AGENCY}-991231-0001");

    // Another agency's servant: every route answers like an unknown code.
    let routes = [
        (Method::GET, "".to_owned(), None),
        (Method::GET, "/documents".to_owned(), None),
        (Method::GET, "/documents/to-khai/1".to_owned(), None),
        (Method::GET, "/slips/01".to_owned(), None),
        (
            Method::POST,
            "/transition".to_owned(),
            Some(json!({ "to": "processing" })),
        ),
        (
            Method::POST,
            "/documents".to_owned(),
            Some(
                json!({ "slot": "to-khai", "name": "b.txt", "media_type": "text/plain", "content_base64": b64(b"x") }),
            ),
        ),
        (
            Method::POST,
            "/documents/to-khai/1/certify".to_owned(),
            Some(json!({ "doc_type": "to-khai" })),
        ),
    ];
    for (method, tail, body) in &routes {
        let hidden = other
            .send(
                method.clone(),
                &format!("/dossiers/{code}{tail}"),
                None,
                body.clone(),
            )
            .await
            .problem(StatusCode::NOT_FOUND, "not-found");
        let missing = other
            .send(
                method.clone(),
                &format!("/dossiers/{unknown}{tail}"),
                None,
                body.clone(),
            )
            .await
            .problem(StatusCode::NOT_FOUND, "not-found");
        assert_eq!(
            hidden["detail"].as_str().map(|d| d.replace(&code, "CODE")),
            missing["detail"]
                .as_str()
                .map(|d| d.replace(&unknown, "CODE")),
            "{method} {tail}"
        );
    }
    other
        .get(&format!(
            "/agencies/{AGENCY}/register?from=2000-01-01&to=2099-12-31"
        ))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");

    // The auditor reads, never changes; the dossier's own servant does both.
    auditor
        .get(&format!("/dossiers/{code}"))
        .await
        .expect(StatusCode::OK);
    auditor
        .post(
            &format!("/dossiers/{code}/transition"),
            json!({ "to": "processing" }),
        )
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    own.get(&format!("/dossiers/{code}/documents/to-khai/1"))
        .await
        .expect(StatusCode::OK);
    let moved = own
        .post(
            &format!("/dossiers/{code}/transition"),
            json!({ "to": "processing" }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(text(&moved, "state"), "processing");

    let status = server.terminate().await;
    assert!(status.success(), "motcua serve exits cleanly: {status:?}");
}

on_both_databases!(dossier_over_http, dossier_scope_over_http);
