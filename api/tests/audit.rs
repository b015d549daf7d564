//! The auditor's trail end to end through the real `motcua` binary, on SQLite and PostgreSQL: a
//! dossier signed server-side by the counter's key, exported (a checkpoint and the manifest
//! signed by the engine key of `--signing`), verified offline by `motcua verify`; an edited
//! journal row in the archive, and one in the database, found and named; the same over HTTP
//! (`GET /dossiers/{code}/export`, `POST /verify`, `GET /dossiers/{code}/verification`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Server;
use motcua_engine::audit::archive::JOURNAL;
use motcua_engine::audit::Archive;
use motcua_signing::{to_pkcs12, SigningIdentity};
use motcua_tests::pki::{Pki, Spec, Usage, DAY};
use motcua_tests::{on_both_databases, Backend, TestDb};
use serde_json::{json, Value};

const BPMN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/chung-thuc-ky-so.bpmn"
);
const AGENCY: &str = "000.00.01.H22";
const PASSWORD: &str = "khóa-máy-chủ";

/// The PKI on disk: a root, the counter's key and the engine's key, and the `--signing` file.
fn write_keys(dir: &Path) -> PathBuf {
    let pki = Pki::new();
    let identity = |cn: &str, serial: u32| -> SigningIdentity {
        pki.user(&Spec {
            cn,
            org: "UBND tỉnh Thừa Thiên Huế",
            serial,
            usage: Usage::Signing,
            from: -30 * DAY,
            to: 365 * DAY,
        })
    };
    let counter = identity("Trung tâm Phục vụ hành chính công", 300);
    let engine = identity("motcua — khóa hệ thống", 301);
    std::fs::write(dir.join("root.pem"), pki.root_pem()).unwrap();
    std::fs::write(
        dir.join("counter.p12"),
        to_pkcs12(&counter, PASSWORD).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("engine.p12"),
        to_pkcs12(&engine, PASSWORD).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("password"), PASSWORD).unwrap();
    std::fs::write(
        dir.join("ban-chinh.pdf"),
        b"%PDF-1.7 ban so hoa giay khai sinh",
    )
    .unwrap();
    let signing = dir.join("signing.toml");
    std::fs::write(
        &signing,
        format!(
            r#"trust = ["root.pem"]

[engine_key]
pkcs12 = "engine.p12"
password_file = "password"

[[agency_key]]
agency = "{AGENCY}"
pkcs12 = "counter.p12"
password_file = "password"
"#
        ),
    )
    .unwrap();
    signing
}

fn motcua(dir: &Path, database: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .current_dir(dir)
        .env_remove("MOTCUA_DATABASE_URL")
        .env_remove("MOTCUA_SIGNING")
        .args(["--database", database, "--documents", "documents"])
        .args(["--signing", "signing.toml"])
        .args(args)
        .output()
        .expect("the motcua binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(dir: &Path, database: &str, args: &[&str]) -> String {
    let out = motcua(dir, database, args);
    assert!(
        out.status.success(),
        "motcua {args:?}: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A command that must fail with status 1 and no panic: stdout and stderr together.
fn fails(dir: &Path, database: &str, args: &[&str]) -> String {
    let out = motcua(dir, database, args);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(1),
        "motcua {args:?} should fail: {all}"
    );
    assert!(!all.contains("panicked"), "{all}");
    all
}

/// A deployed procedure, a dossier received and its paper signed with the counter's key.
fn signed_dossier(dir: &Path, database: &str) -> String {
    ok(dir, database, &["deploy", BPMN]);
    let view: Value = serde_json::from_str(&ok(
        dir,
        database,
        &[
            "--json",
            "dossier",
            "submit",
            "--procedure",
            "chung-thuc-ky-so",
            "--agency",
            AGENCY,
            "--applicant-id",
            "046090001234",
            "--applicant-name",
            "Lê Thị Hoa",
            "--document",
            "ban-chinh=ban-chinh.pdf",
        ],
    ))
    .unwrap();
    let code = view["dossier"]["code"].as_str().unwrap().to_owned();
    ok(dir, database, &["dossier", "sign", &code, "ban-chinh"]);
    code
}

/// Rewrites the dossier_received row of the dossier's journal in the database.
async fn edit_received_row(db: &TestDb, code: &str) {
    let engine = db.open().await;
    let instance = engine.dossier(code).await.unwrap().dossier.instance;
    let sql = format!(
        "UPDATE journal SET data = replace(data, 'Lê Thị Hoa', 'Lê Thị Hòa') \
         WHERE instance_id = '{instance}' AND kind = 'dossier_received'"
    );
    db.execute(&engine, &sql, &sql).await;
}

async fn archives_are_exported_and_verified_from_the_command_line(backend: Backend) {
    let Some(db) = TestDb::new(backend, "archives_from_the_command_line").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_keys(d);
    let url = db.url();
    let code = signed_dossier(d, url);

    let said = ok(d, url, &["dossier", "export", &code, "-o", "hoso.zip"]);
    assert!(said.contains("hoso.zip"), "{said}");
    let verified = ok(d, url, &["verify", "hoso.zip", "--trust", "root.pem"]);
    assert!(verified.contains("HỢP LỆ (PASSED)"), "{verified}");
    assert!(
        verified.contains("[ OK ] signatures: 1 document signature(s) verified"),
        "{verified}"
    );
    let json: Value = serde_json::from_str(&ok(
        d,
        url,
        &["--json", "verify", "hoso.zip", "--trust", "root.pem"],
    ))
    .unwrap();
    assert_eq!(json["passed"], json!(true));
    assert_eq!(json["dossier"], json!(code));

    // Another root: the engine's and the counter's signatures are not trusted.
    let stranger = Pki::new();
    std::fs::write(d.join("other.pem"), stranger.root_pem()).unwrap();
    let refused = fails(d, url, &["verify", "hoso.zip", "--trust", "other.pem"]);
    assert!(refused.contains("NO_CERTIFICATE_CHAIN_FOUND"), "{refused}");

    // An edited journal row inside the archive is named.
    let mut archive = Archive::from_zip(&std::fs::read(d.join("hoso.zip")).unwrap()).unwrap();
    let journal = String::from_utf8(archive.files[JOURNAL].clone()).unwrap();
    archive.files.insert(
        JOURNAL.into(),
        journal.replace("Lê Thị Hoa", "Lê Thị Hòa").into_bytes(),
    );
    std::fs::write(d.join("sua.zip"), archive.to_zip().unwrap()).unwrap();
    let refused = fails(d, url, &["verify", "sua.zip", "--trust", "root.pem"]);
    assert!(
        refused.contains("(dossier_received) does not match its hash"),
        "{refused}"
    );
    assert!(
        refused.contains("journal.jsonl does not match its SHA-256"),
        "{refused}"
    );
    let garbage = fails(d, url, &["verify", "root.pem", "--trust", "root.pem"]);
    assert!(garbage.contains("not a dossier archive"), "{garbage}");

    // In place: verified, then an edited row in the database is named.
    let verified = ok(d, url, &["dossier", "verify", &code, "--trust", "root.pem"]);
    assert!(verified.contains("HỢP LỆ"), "{verified}");
    edit_received_row(&db, &code).await;
    let refused = fails(d, url, &["dossier", "verify", &code, "--trust", "root.pem"]);
    assert!(
        refused.contains("(dossier_received) does not match its hash"),
        "{refused}"
    );

    // A checkpoint on demand: nothing new to cover after the export signed one.
    let said = ok(d, url, &["journal", "checkpoint"]);
    assert!(said.contains("already covered"), "{said}");
}

async fn auditors_export_and_verify_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "auditors_over_http").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let signing = write_keys(d);
    let code = signed_dossier(d, db.url());
    let documents = d.join("documents");
    let server = Server::start(
        db.url(),
        &d.join("server.log"),
        &[
            "--no-worker",
            "--documents",
            documents.to_str().unwrap(),
            "--signing",
            signing.to_str().unwrap(),
        ],
    );
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);

    let zip = http
        .get(url(&format!("/dossiers/{code}/export")))
        .header("X-Motcua-User", "kiem-toan")
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let zip = zip.bytes().await.unwrap();
    let report: Value = http
        .post(url("/verify"))
        .header("content-type", "application/zip")
        .body(zip.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["passed"], json!(true), "{report}");
    assert_eq!(report["signatures"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        report["signatures"][0]["report"]["indication"],
        json!("TOTAL_PASSED")
    );

    let garbage = http
        .post(url("/verify"))
        .body("not a zip")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    let problem: Value = garbage.json().await.unwrap();
    assert_eq!(problem["code"], json!("invalid"));

    let unknown = http
        .get(url("/dossiers/000.00.01.H22-000000-0000/verification"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let verification = url(&format!("/dossiers/{code}/verification"));
    let report: Value = http
        .get(&verification)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["passed"], json!(true), "{report}");
    edit_received_row(&db, &code).await;
    let report: Value = http
        .get(&verification)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["passed"], json!(false));
    let journal = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == json!("journal"))
        .unwrap();
    assert_eq!(journal["passed"], json!(false));
    assert!(
        journal["message"]
            .as_str()
            .unwrap()
            .contains("(dossier_received) does not match its hash"),
        "{journal}"
    );
}

on_both_databases!(
    archives_are_exported_and_verified_from_the_command_line,
    auditors_export_and_verify_over_http,
);
