//! Signing on the web task page (issue #10 part 2: "sign and complete"), over real HTTP on
//! both databases: a step that requires a signature over a document shows it unsigned; its
//! completion is refused with the engine's reason; the servant signs with the agency's key
//! (the `--signing` configuration, server-side); the page shows the signer; the step completes.

mod common;

use base64::Engine as _;
use common::web::{Browser, PASSWORD};
use common::Server;
use motcua_signing::to_pkcs12;
use motcua_tests::pki::{Pki, Spec};
use motcua_tests::{on_both_databases, Backend, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

const BPMN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/chung-thuc-ky-so.bpmn"
));
const AGENCY: &str = "000.00.01.H22";

async fn sign_on_the_task_page(backend: Backend) {
    let Some(db) = TestDb::new(backend, "web_signing").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a folder");
    let pki = Pki::new();
    let counter = pki.user(&Spec::user("Bộ phận một cửa UBND phường Thuận Hòa", 400));
    std::fs::write(dir.path().join("root.pem"), pki.root_pem()).expect("root");
    std::fs::write(
        dir.path().join("counter.p12"),
        to_pkcs12(&counter, "mk").expect("PKCS#12"),
    )
    .expect("key");
    std::fs::write(dir.path().join("password"), "mk").expect("password");
    let signing = dir.path().join("signing.toml");
    std::fs::write(
        &signing,
        format!("trust = [\"root.pem\"]\n[[agency_key]]\nagency = \"{AGENCY}\"\npkcs12 = \"counter.p12\"\npassword_file = \"password\"\n"),
    )
    .expect("signing.toml");
    let hash = motcua_api::web::session::hash_password(PASSWORD, 1000).expect("a hash");
    let users = dir.path().join("users.toml");
    std::fs::write(
        &users,
        format!("[[user]]\nid = \"hoa\"\nname = \"Võ Thị Hoa\"\nrole = \"servant\"\nagency = \"{AGENCY}\"\ngroups = [\"mot-cua\"]\npassword_hash = \"{hash}\"\n"),
    )
    .expect("users.toml");
    let documents = dir.path().join("documents");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &[
            "--signing",
            signing.to_str().expect("UTF-8"),
            "--web-users",
            users.to_str().expect("UTF-8"),
            "--documents",
            documents.to_str().expect("UTF-8"),
        ],
    );
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}{path}", server.base);
    let deployed = http
        .post(api("/deployments"))
        .header("X-Motcua-User", "thiet-ke")
        .json(&json!({ "name": "ky-so", "files": [{ "name": "chung-thuc-ky-so.bpmn", "xml": BPMN }] }))
        .send()
        .await
        .expect("deploy");
    assert_eq!(deployed.status(), StatusCode::CREATED);
    let paper = b"%PDF-1.7 ban chinh: Giay khai sinh so 45/2026";
    let submitted = http
        .post(api("/dossiers"))
        .header("X-Motcua-User", "hoa")
        .json(&json!({
            "procedure": "chung-thuc-ky-so",
            "agency": AGENCY,
            "applicant": { "kind": "citizen_id", "id": "046090001234", "name": "Lê Thị Hoa" },
            "documents": [{ "slot": "ban-chinh", "name": "ban-chinh.pdf", "media_type": "application/pdf",
                            "content_base64": base64::engine::general_purpose::STANDARD.encode(paper) }],
        }))
        .send()
        .await
        .expect("submit");
    assert_eq!(submitted.status(), StatusCode::CREATED);
    let dossier: Value = submitted.json().await.expect("JSON");
    let code = dossier["code"].as_str().expect("a code").to_owned();
    let tasks: Value = http
        .get(api("/tasks?procedure=chung-thuc-ky-so"))
        .send()
        .await
        .expect("tasks")
        .json()
        .await
        .expect("JSON");
    let task = tasks[0]["id"].as_str().expect("the task").to_owned();

    let mut hoa = Browser::new(&server.base);
    hoa.login("hoa").await;
    let page = hoa.get(&format!("/web/tasks/{task}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Ký số"), "{}", page.text);
    assert!(page.text.contains("chưa ký"), "{}", page.text);
    assert!(page.text.contains(&format!("/web/tasks/{task}/sign")));

    // Completing before signing is refused with the engine's reason; nothing changes.
    let csrf = page.csrf();
    let refused = hoa
        .post(&format!("/web/tasks/{task}/complete"), &[("_csrf", &csrf)])
        .await;
    assert!(
        refused.text.contains("Không hoàn thành được công việc:")
            && refused.text.contains("ban-chinh"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("chưa ký"));

    // Signing with the agency's key: the page names the signer; then the step completes.
    let signed = hoa
        .post(
            &format!("/web/tasks/{task}/sign"),
            &[("_csrf", &csrf), ("slot", "ban-chinh")],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text);
    let page = hoa.get(&format!("/web/tasks/{task}")).await;
    assert!(page.text.contains("đã ký"), "{}", page.text);
    assert!(page.text.contains("Bộ phận một cửa UBND phường Thuận Hòa"));
    let stored: Value = http
        .get(api(&format!("/dossiers/{code}/signatures")))
        .send()
        .await
        .expect("signatures")
        .json()
        .await
        .expect("JSON");
    assert_eq!(stored[0]["server_side"], true, "{stored}");
    assert_eq!(stored[0]["signer_agency"], AGENCY, "{stored}");
    let done = hoa
        .post(&format!("/web/tasks/{task}/complete"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert!(done
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/web/tasks?done=")));
}

on_both_databases!(sign_on_the_task_page);
