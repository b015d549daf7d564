//! End-to-end tests of signing in the process (issue #7 part 3) through the real `motcua`
//! binary: a test PKI written to files with a `--signing` configuration (a trusted root, the
//! counter's PKCS#12 key with a password file, signer certificates mapped to users and
//! agencies), then over HTTP (both databases) a tampered signature refused with 422
//! `signature-invalid` and its report, a valid one stored, server-side signing, the list, and
//! the task completed; with tokens on, server-side signing with the caller's own agency's key
//! only; and from the command line `motcua dossier sign|signatures`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use common::Server;
use motcua_engine::certificate_fingerprint;
use motcua_signing::openssl::pkcs12::Pkcs12;
use motcua_signing::openssl::stack::Stack;
use motcua_signing::SigningIdentity;
use motcua_tests::pki::{Pki, Spec};
use motcua_tests::{on_both_databases, Backend, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const BPMN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/chung-thuc-ky-so.bpmn"
));
const AGENCY: &str = "000.00.01.H22";
const OTHER: &str = "000.00.02.H22";
const PAPER: &[u8] = b"%PDF-1.7 ban so hoa: Giay khai sinh so 123/2026";
const PASSWORD: &str = "mật-khẩu-không-bao-giờ-in-ra";

/// The test PKI on disk and its `--signing` file.
struct Keys {
    signing: PathBuf,
    /// Nguyễn Văn A: `nguyenvana` of [`AGENCY`].
    a: SigningIdentity,
    /// Trần Thị B: `tranthib` of [`OTHER`].
    b: SigningIdentity,
}

fn write_keys(dir: &Path) -> Keys {
    let pki = Pki::new();
    let a = pki.user(&Spec::user("Nguyễn Văn A", 100));
    let b = pki.user(&Spec::user("Trần Thị B", 101));
    let counter = pki.user(&Spec::user("Trung tâm Phục vụ hành chính công", 300));
    for sub in ["roots", "keys", "certs"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("roots/root.pem"), pki.root_pem()).unwrap();
    let mut chain = Stack::new().unwrap();
    chain.push(pki.agency.clone()).unwrap();
    let mut builder = Pkcs12::builder();
    builder
        .name("tt-pvhcc")
        .pkey(counter.key())
        .cert(counter.cert())
        .ca(chain);
    let p12 = builder.build2(PASSWORD).unwrap().to_der().unwrap();
    std::fs::write(dir.join("keys/counter.p12"), p12).unwrap();
    std::fs::write(dir.join("keys/password"), format!("{PASSWORD}\n")).unwrap();
    std::fs::write(dir.join("certs/a.pem"), a.cert().to_pem().unwrap()).unwrap();
    // B by fingerprint, written as tools print it (upper case, colons).
    let fp = certificate_fingerprint(b.cert()).unwrap();
    let colons: Vec<String> = fp
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect();
    let signing = dir.join("signing.toml");
    std::fs::write(
        &signing,
        format!(
            r#"trust = ["roots/root.pem"]

[[agency_key]]
agency = "{AGENCY}"
pkcs12 = "keys/counter.p12"
password_file = "keys/password"

[[signer]]
certificate = "certs/a.pem"
user = "nguyenvana"
agency = "{AGENCY}"

[[signer]]
fingerprint = "{}"
user = "tranthib"
agency = "{OTHER}"
"#,
            colons.join(":")
        ),
    )
    .unwrap();
    Keys { signing, a, b }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One answer: the status and the body (JSON, or the text as a JSON string).
struct Answer {
    status: StatusCode,
    content_type: String,
    body: Value,
}

impl Answer {
    fn expect(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        &self.body
    }

    fn problem(&self, status: StatusCode, code: &str) -> &Value {
        let body = self.expect(status);
        assert_eq!(self.content_type, "application/problem+json", "{body}");
        assert_eq!(body["code"], code, "{body}");
        body
    }
}

/// Sends a request as `who`: a bearer token when it looks like a JWT (`eyJ...`), else the
/// user named in `X-Motcua-User` (open development mode).
async fn send(base: &str, method: Method, path: &str, who: &str, body: Option<Value>) -> Answer {
    let request = reqwest::Client::new().request(method, format!("{base}{path}"));
    let mut request = if who.starts_with("eyJ") {
        request.bearer_auth(who)
    } else {
        request.header("X-Motcua-User", who)
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.bytes().await.expect("a body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        content_type,
        body,
    }
}

fn submit_body() -> Value {
    json!({
        "procedure": "chung-thuc-ky-so",
        "agency": AGENCY,
        "applicant": { "kind": "citizen_id", "id": "046090001234", "name": "Lê Thị Hoa" },
        "documents": [
            { "slot": "ban-chinh", "name": "ban-chinh.pdf", "media_type": "application/pdf", "content_base64": b64(PAPER) },
        ],
    })
}

async fn signatures_over_http(backend: Backend) {
    let Some(db) = TestDb::new(backend, "signatures_over_http").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let keys = write_keys(dir.path());
    let documents = dir.path().join("documents");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &[
            "--no-worker",
            "--documents",
            documents.to_str().unwrap(),
            "--signing",
            keys.signing.to_str().unwrap(),
        ],
    );
    let base = server.base.as_str();
    send(
        base,
        Method::POST,
        "/deployments",
        "designer",
        Some(
            json!({ "name": "ky-so", "files": [{ "name": "chung-thuc-ky-so.bpmn", "xml": BPMN }] }),
        ),
    )
    .await
    .expect(StatusCode::CREATED);
    let dossier = send(
        base,
        Method::POST,
        "/dossiers",
        "motcua-1",
        Some(submit_body()),
    )
    .await
    .expect(StatusCode::CREATED)
    .clone();
    let code = dossier["code"].as_str().unwrap().to_owned();
    let instance = dossier["instance"].as_str().unwrap().to_owned();
    let tasks = send(
        base,
        Method::GET,
        &format!("/tasks?instance={instance}"),
        "motcua-1",
        None,
    )
    .await
    .expect(StatusCode::OK)
    .clone();
    let task = tasks[0]["id"].as_str().unwrap().to_owned();
    let attach = format!("/dossiers/{code}/documents/ban-chinh/signatures");

    // A signature over other bytes: 422 with the report; nothing stored.
    let mut tampered = PAPER.to_vec();
    tampered[3] ^= 1;
    let refused = send(
        base,
        Method::POST,
        &attach,
        "nguyenvana",
        Some(json!({ "signature": b64(&keys.a.sign(&tampered, None).unwrap()) })),
    )
    .await;
    let body = refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "signature-invalid");
    assert_eq!(body["report"]["indication"], "TOTAL_FAILED", "{body}");
    assert_eq!(body["report"]["subIndication"], "HASH_FAILURE", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("HASH_FAILURE"),
        "{body}"
    );
    send(
        base,
        Method::POST,
        &attach,
        "nguyenvana",
        Some(json!({ "signature": "not base64!" })),
    )
    .await
    .problem(StatusCode::BAD_REQUEST, "invalid");

    // B's valid signature is stored, but B's certificate is another agency's: no completion.
    let stored = send(
        base,
        Method::POST,
        &attach,
        "nguyenvana",
        Some(json!({ "signature": b64(&keys.b.sign(PAPER, None).unwrap()) })),
    )
    .await;
    let b = stored.expect(StatusCode::CREATED);
    assert_eq!(b["signer_user"], "tranthib", "{b}");
    assert_eq!(b["signer_agency"], OTHER, "{b}");
    let complete = format!("/tasks/{task}/complete");
    let no = send(base, Method::POST, &complete, "nguyenvana", Some(json!({}))).await;
    let detail = no.problem(StatusCode::UNPROCESSABLE_ENTITY, "rejected")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("ban-chinh") && detail.contains(OTHER),
        "{detail}"
    );

    // Server-side signing with the counter's key (open mode: the dossier's agency).
    let signed = send(
        base,
        Method::POST,
        &format!("/dossiers/{code}/documents/ban-chinh/sign"),
        "motcua-1",
        None,
    )
    .await;
    let s = signed.expect(StatusCode::CREATED);
    assert_eq!(s["server_side"], true, "{s}");
    assert_eq!(s["signer_agency"], AGENCY, "{s}");
    assert_eq!(s["version"], 1, "{s}");
    send(
        base,
        Method::POST,
        &format!("/dossiers/{code}/documents/ban-chinh/sign"),
        "motcua-1",
        Some(json!({ "agency": OTHER })),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "rejected");

    let list = send(
        base,
        Method::GET,
        &format!("/dossiers/{code}/signatures"),
        "auditor",
        None,
    )
    .await;
    let list = list.expect(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["signer_user"], "tranthib");
    assert_eq!(list[1]["server_side"], true);

    // The agency signed: the task completes.
    send(base, Method::POST, &complete, "nguyenvana", Some(json!({})))
        .await
        .expect(StatusCode::OK);
    let journal = send(
        base,
        Method::GET,
        &format!("/process-instances/{instance}/journal"),
        "auditor",
        None,
    )
    .await;
    assert!(
        journal.body.to_string().contains("document_signed"),
        "{}",
        journal.body
    );
    // No password in the log.
    assert!(!server.log_text().contains(PASSWORD));
}

/// A token signed with `secret` for `role` in `agency`, valid for an hour.
fn token(secret: &str, user: &str, role: &str, agency: Option<&str>) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let claims =
        json!({ "sub": user, "role": role, "agency": agency, "groups": ["mot-cua"], "exp": exp });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// With tokens on, server-side signing uses the key of the caller's own agency: a servant of
/// another agency does not see the dossier, a servant naming another agency's key is refused,
/// the dossier's servant signs with their agency's key.
async fn server_side_signing_with_tokens(backend: Backend) {
    let Some(db) = TestDb::new(backend, "server_side_signing_with_tokens").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let keys = write_keys(dir.path());
    let secret = "mot-bi-mat-du-dai-cho-hs256-0123456789";
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, secret).unwrap();
    let documents = dir.path().join("documents");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &[
            "--no-worker",
            "--documents",
            documents.to_str().unwrap(),
            "--signing",
            keys.signing.to_str().unwrap(),
            "--jwt-secret-file",
            secret_file.to_str().unwrap(),
        ],
    );
    let base = server.base.as_str();
    let admin = token(secret, "quan-tri", "admin", None);
    let own = token(secret, "lan", "servant", Some(AGENCY));
    let other = token(secret, "hoa", "servant", Some(OTHER));
    let auditor = token(secret, "kiem-tra", "auditor", None);
    send(
        base,
        Method::POST,
        "/deployments",
        &admin,
        Some(json!({ "files": [{ "name": "chung-thuc-ky-so.bpmn", "xml": BPMN }] })),
    )
    .await
    .expect(StatusCode::CREATED);
    let dossier = send(base, Method::POST, "/dossiers", &own, Some(submit_body()))
        .await
        .expect(StatusCode::CREATED)
        .clone();
    let code = dossier["code"].as_str().unwrap().to_owned();
    let sign = format!("/dossiers/{code}/documents/ban-chinh/sign");

    send(base, Method::POST, &sign, &other, None)
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");
    send(
        base,
        Method::GET,
        &format!("/dossiers/{code}/signatures"),
        &other,
        None,
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not-found");
    send(
        base,
        Method::POST,
        &sign,
        &own,
        Some(json!({ "agency": OTHER })),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    send(base, Method::POST, &sign, &auditor, None)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let signed = send(base, Method::POST, &sign, &own, None).await;
    let s = signed.expect(StatusCode::CREATED);
    assert_eq!(s["signer_agency"], AGENCY, "{s}");
    assert_eq!(s["added_by"], "lan", "{s}");
    let list = send(
        base,
        Method::GET,
        &format!("/dossiers/{code}/signatures"),
        &auditor,
        None,
    )
    .await;
    assert_eq!(list.expect(StatusCode::OK).as_array().unwrap().len(), 1);
}

on_both_databases!(signatures_over_http, server_side_signing_with_tokens);

// ---- the command line -------------------------------------------------------------------------

fn motcua(dir: &Path, signing: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .current_dir(dir)
        .env_remove("MOTCUA_DATABASE_URL")
        .env_remove("MOTCUA_USER")
        .env_remove("MOTCUA_LOG")
        .env_remove("MOTCUA_SIGNING")
        .arg("--database")
        .arg(format!("sqlite://{}", dir.join("m.db").display()))
        .arg("--documents")
        .arg(dir.join("documents"))
        .arg("--signing")
        .arg(signing)
        .args(args)
        .output()
        .expect("the motcua binary runs")
}

fn ok(dir: &Path, signing: &Path, args: &[&str]) -> String {
    let out = motcua(dir, signing, args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "motcua {args:?}:\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

#[test]
fn documents_are_signed_and_listed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = write_keys(d);
    let s = keys.signing.as_path();
    let bpmn = d.join("chung-thuc-ky-so.bpmn");
    std::fs::write(&bpmn, BPMN).unwrap();
    std::fs::write(d.join("ban-chinh.pdf"), PAPER).unwrap();
    ok(d, s, &["deploy", bpmn.to_str().unwrap()]);
    let view: Value = serde_json::from_str(&ok(
        d,
        s,
        &[
            "--json",
            "--user",
            "motcua-1",
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

    // A tampered signature file: refused with the report, exit status 1.
    let mut tampered = PAPER.to_vec();
    tampered[0] ^= 1;
    std::fs::write(d.join("sai.p7s"), keys.a.sign(&tampered, None).unwrap()).unwrap();
    let out = motcua(
        d,
        s,
        &[
            "dossier",
            "sign",
            &code,
            "ban-chinh",
            "--signature",
            "sai.p7s",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let printed =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(printed.contains("HASH_FAILURE"), "{printed}");

    // A's signature file, then the agency's key.
    std::fs::write(d.join("a.p7s"), keys.a.sign(PAPER, None).unwrap()).unwrap();
    let text = ok(
        d,
        s,
        &[
            "--user",
            "nguyenvana",
            "dossier",
            "sign",
            &code,
            "ban-chinh",
            "--signature",
            "a.p7s",
        ],
    );
    assert!(
        text.contains("nguyenvana") && text.contains("Nguyễn Văn A"),
        "{text}"
    );
    ok(d, s, &["dossier", "sign", &code, "ban-chinh"]);
    let list: Value =
        serde_json::from_str(&ok(d, s, &["--json", "dossier", "signatures", &code])).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["signer_user"], "nguyenvana");
    assert_eq!(list[1]["server_side"], true);
    assert_eq!(list[1]["signer_agency"], AGENCY);
    let table = ok(d, s, &["dossier", "signatures", &code]);
    assert!(table.contains("ban-chinh"), "{table}");
}
