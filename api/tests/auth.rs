//! Bearer tokens over real HTTP: `motcua serve --jwt-secret-file` (HS256) and `--jwks-file`
//! (RS256 and ES256 keys of an identity provider, test keys in `tests/fixtures/`), on SQLite
//! and on PostgreSQL (`MOTCUA_TEST_DATABASE_URL`; otherwise `SKIPPED ... on postgres`).
//!
//! The heart is isolation: a civil servant of one agency gets exactly the answer for an id
//! that does not exist (404, same body) on every task and instance route of another agency's
//! dossier, and their task list does not show it.

mod common;

use common::Server;

use std::path::{Path, PathBuf};
use std::process::Command;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use motcua_tests::{on_both_databases, Backend, TestDb};
use reqwest::Method;
use serde_json::{json, Value};

const BIRTH_REGISTRATION: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../definitions/catalog/dang-ky-khai-sinh.bpmn"
));

const SECRET: &str = "a-test-secret-of-at-least-32-bytes-0123456789";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A running `motcua serve`; killed (and reaped) when dropped.
struct Api {
    http: reqwest::Client,
    base: String,
}

/// An answer: status, body (JSON, or a JSON string), and whether it challenged for a token.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
    challenge: bool,
}

impl Api {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Value) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            // Ignored when tokens are on: the actor is the token's `sub`.
            .header("X-Motcua-User", "mallory");
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("Bearer"));
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            body,
            challenge,
        }
    }

    async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), Value::Null).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), body).await
    }
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// An HS256 token signed with `secret`.
fn hs256(secret: &str, sub: &str, role: &str, agency: Option<&str>, groups: &[&str]) -> String {
    let claims = json!({
        "sub": sub, "role": role, "agency": agency, "groups": groups, "exp": now() + 600,
    });
    sign_hs256(secret, &claims)
}

fn sign_hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signed")
}

fn sign_pem(alg: Algorithm, kid: &str, pem_file: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(pem_file)).expect("a fixture key");
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .expect("a PEM key");
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).expect("signed")
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string field '{field}' in {v}"))
        .to_owned()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|t| text(t, "id"))
        .collect()
}

/// Two agencies run the birth registration; each servant sees, claims and completes only
/// their own agency's dossier; every other role gets what the role table says.
async fn two_agencies(backend: Backend) {
    let Some(db) = TestDb::new(backend, "auth_two_agencies").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let secret_file = dir.path().join("jwt.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).expect("write the secret");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &[
            "--jwt-secret-file",
            secret_file.to_str().expect("a UTF-8 path"),
        ],
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };

    // `motcua token` makes tokens the server accepts.
    let output = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args([
            "token",
            "--secret-file",
            secret_file.to_str().expect("UTF-8"),
        ])
        .args([
            "--sub",
            "lan",
            "--role",
            "servant",
            "--agency",
            "000.00.02.H22",
        ])
        .args(["--groups", "mot-cua", "--ttl-minutes", "60"])
        .output()
        .expect("motcua token runs");
    assert!(output.status.success(), "{output:?}");
    let lan = String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned();

    let designer = hs256(SECRET, "thiet-ke", "designer", None, &[]);
    let minh = hs256(SECRET, "minh", "servant", Some("xa-phu-mau"), &["mot-cua"]);
    let hoa = hs256(
        SECRET,
        "hoa",
        "servant",
        Some("000.00.02.H22"),
        &["tu-phap-ho-tich"],
    );
    let leader_b = hs256(
        SECRET,
        "chu-tich-b",
        "leader",
        Some("xa-phu-mau"),
        &["lanh-dao"],
    );
    let auditor = hs256(SECRET, "thanh-tra", "auditor", None, &[]);
    let integrator = hs256(SECRET, "cong-dvc", "integrator", None, &[]);
    let worker = hs256(SECRET, "worker-1", "worker", None, &[]);
    let admin = hs256(SECRET, "root", "admin", None, &[]);

    // Probes need no token; everything else does.
    assert_eq!(
        api.call(Method::GET, "/healthz", None, Value::Null)
            .await
            .status,
        200
    );
    for (token, why) in [
        (None, "missing"),
        (Some("garbage".to_owned()), "malformed"),
        (
            Some(sign_hs256(
                SECRET,
                &json!({"sub": "lan", "role": "admin", "exp": now() - 120}),
            )),
            "expired",
        ),
        (
            Some(hs256(
                "another-secret-of-at-least-32-bytes-xxxxxxx",
                "lan",
                "admin",
                None,
                &[],
            )),
            "bad signature",
        ),
        (
            Some(sign_hs256(SECRET, &json!({"sub": "lan", "role": "admin"}))),
            "no exp",
        ),
    ] {
        let a = api
            .call(Method::GET, "/definitions", token.as_deref(), Value::Null)
            .await;
        assert_eq!((a.status, a.challenge), (401, true), "{why}: {a:?}");
        assert_eq!(a.body["code"], "unauthorized", "{why}: {a:?}");
    }

    // A servant cannot deploy; a designer can, two agencies' processes.
    let file_a = json!([{ "name": "a.bpmn", "xml": BIRTH_REGISTRATION }]);
    let xml_b = BIRTH_REGISTRATION
        .replace(
            "motcua:agency=\"000.00.02.H22\"",
            "motcua:agency=\"xa-phu-mau\"",
        )
        .replace("id=\"dang-ky-khai-sinh\"", "id=\"khai-sinh-b\"");
    let file_b = json!([{ "name": "b.bpmn", "xml": xml_b }]);
    let a = api
        .post("/deployments", &lan, json!({ "files": file_a }))
        .await;
    assert_eq!(
        (a.status, &a.body["code"]),
        (403, &json!("forbidden")),
        "{a:?}"
    );
    for files in [file_a, file_b] {
        let a = api
            .post("/deployments", &designer, json!({ "files": files }))
            .await;
        assert_eq!(a.status, 201, "{a:?}");
    }
    assert_eq!(api.get("/definitions", &lan).await.status, 200);

    // Each servant starts a dossier of their agency; an integrator may start, a designer not.
    let start = |key: &str| json!({ "key": key, "businessKey": "HS-1" });
    let a = api
        .post("/process-instances", &lan, start("dang-ky-khai-sinh"))
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let inst_a = text(&a.body, "instance");
    let a = api
        .post("/process-instances", &minh, start("khai-sinh-b"))
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let inst_b = text(&a.body, "instance");
    let a = api
        .post("/process-instances", &designer, start("khai-sinh-b"))
        .await;
    assert_eq!(a.status, 403, "{a:?}");
    let a = api
        .post("/process-instances", &integrator, start("khai-sinh-b"))
        .await;
    assert_eq!(a.status, 201, "{a:?}");

    // Each servant's queue holds their agency's tasks only.
    let a = api.get("/tasks", &lan).await;
    assert_eq!(a.status, 200, "{a:?}");
    let lan_tasks = ids(&a.body);
    assert_eq!(lan_tasks.len(), 1, "{a:?}");
    let task_a = lan_tasks[0].clone();
    let minh_tasks = ids(&api.get("/tasks", &minh).await.body);
    assert_eq!(minh_tasks.len(), 2, "minh sees both xa-phu-mau dossiers");
    assert!(!minh_tasks.contains(&task_a));
    // Not by filters either, nor with closed tasks.
    for q in [
        format!("/tasks?instance={inst_a}"),
        format!("/tasks?instance={inst_a}&all=true"),
        "/tasks?group=mot-cua&all=true&sort=due".to_owned(),
        "/tasks?group=mot-cua".to_owned(),
    ] {
        let listed = ids(&api.get(&q, &minh).await.body);
        assert!(!listed.contains(&task_a), "{q}: {listed:?}");
    }
    // A servant of the right agency but another group does not see it either.
    assert_eq!(
        ids(&api.get("/tasks", &hoa).await.body),
        Vec::<String>::new()
    );

    // Every task and instance route, with the wrong agency's token: the same 404 as an unknown id.
    let unknown_task = "0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d";
    let unknown_inst = "0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6e";
    let task_routes = |t: &str| {
        vec![
            (Method::GET, format!("/tasks/{t}"), Value::Null),
            (Method::POST, format!("/tasks/{t}/claim"), json!({})),
            (Method::POST, format!("/tasks/{t}/unclaim"), Value::Null),
            (
                Method::POST,
                format!("/tasks/{t}/complete"),
                json!({"variables": {}}),
            ),
        ]
    };
    let inst_routes = |i: &str| {
        vec![
            (Method::GET, format!("/process-instances/{i}"), Value::Null),
            (
                Method::GET,
                format!("/process-instances/{i}/journal"),
                Value::Null,
            ),
        ]
    };
    for (token, who) in [(&minh, "minh"), (&hoa, "hoa")] {
        let routes = task_routes(&task_a)
            .into_iter()
            .zip(task_routes(unknown_task))
            .chain(if who == "minh" {
                inst_routes(&inst_a)
                    .into_iter()
                    .zip(inst_routes(unknown_inst))
                    .collect()
            } else {
                Vec::new()
            });
        for ((method, path, body), (_, unknown_path, _)) in routes {
            let a = api
                .call(method.clone(), &path, Some(token), body.clone())
                .await;
            let u = api
                .call(method.clone(), &unknown_path, Some(token), body)
                .await;
            assert_eq!(a.status, 404, "{who} {method} {path}: {a:?}");
            assert_eq!(a.body["code"], "not-found");
            let a_detail = text(&a.body, "detail")
                .replace(&task_a, "ID")
                .replace(&inst_a, "ID");
            let u_detail = text(&u.body, "detail")
                .replace(unknown_task, "ID")
                .replace(unknown_inst, "ID");
            assert_eq!(
                a_detail, u_detail,
                "{who} {method} {path}: indistinguishable"
            );
        }
    }
    // Cancelling is not a servant's: the same 403 for any id, so nothing is learnt.
    for i in [&inst_a, &inst_b] {
        let a = api
            .post(&format!("/process-instances/{i}/cancel"), &minh, json!({}))
            .await;
        assert_eq!(a.status, 403, "{a:?}");
    }

    // The right servant works the task; the actor is the token's `sub`, not X-Motcua-User.
    let a = api
        .post(
            &format!("/tasks/{task_a}/claim"),
            &lan,
            json!({"user": "minh"}),
        )
        .await;
    assert_eq!(a.status, 403, "a servant claims for themselves only: {a:?}");
    let a = api.get(&format!("/process-instances/{inst_a}"), &lan).await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = api
        .post(&format!("/tasks/{task_a}/claim"), &lan, json!({}))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = api
        .post(&format!("/tasks/{task_a}/unclaim"), &lan, Value::Null)
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = api
        .post(&format!("/tasks/{task_a}/claim"), &lan, Value::Null)
        .await;
    assert_eq!(a.status, 200, "{a:?}");

    // An auditor reads everything and changes nothing.
    assert_eq!(ids(&api.get("/tasks", &auditor).await.body).len(), 3);
    let a = api
        .post(
            &format!("/tasks/{task_a}/complete"),
            &auditor,
            json!({"variables": {"dossierComplete": true}}),
        )
        .await;
    assert_eq!(
        (a.status, &a.body["code"]),
        (403, &json!("forbidden")),
        "{a:?}"
    );
    assert_eq!(
        api.get(&format!("/process-instances/{inst_b}"), &auditor)
            .await
            .status,
        200
    );
    assert_eq!(api.get("/incidents", &auditor).await.status, 200);
    // The event feed and statistics: all-agency readers yes, a servant no; metrics are public.
    assert_eq!(api.get("/events", &auditor).await.status, 200);
    assert_eq!(api.get("/statistics", &auditor).await.status, 200);
    assert_eq!(api.get("/events", &lan).await.status, 403);
    assert_eq!(api.get("/statistics", &lan).await.status, 403);
    assert_eq!(
        api.call(Method::GET, "/metrics", None, json!(null))
            .await
            .status,
        200
    );

    let a = api
        .post(
            &format!("/tasks/{task_a}/complete"),
            &lan,
            json!({"variables": {"dossierComplete": true}, "user": "mallory"}),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let journal = api
        .get(&format!("/process-instances/{inst_a}/journal"), &auditor)
        .await;
    let actors: Vec<&Value> = journal
        .body
        .as_array()
        .expect("a journal")
        .iter()
        .map(|e| &e["actor"])
        .collect();
    assert!(actors.iter().all(|a| *a == "lan"), "{actors:?}");

    // A leader reads every agency but works only in their own.
    assert_eq!(
        api.get(&format!("/process-instances/{inst_a}"), &leader_b)
            .await
            .status,
        200
    );
    let next_a = ids(&api
        .get(&format!("/tasks?instance={inst_a}"), &leader_b)
        .await
        .body);
    assert_eq!(next_a.len(), 1);
    let a = api
        .post(&format!("/tasks/{}/claim", next_a[0]), &leader_b, json!({}))
        .await;
    assert_eq!(a.status, 403, "{a:?}");
    let a = api
        .post(
            &format!("/process-instances/{inst_a}/cancel"),
            &leader_b,
            json!({}),
        )
        .await;
    assert_eq!(a.status, 403, "{a:?}");
    let a = api
        .post(
            &format!("/process-instances/{inst_b}/cancel"),
            &leader_b,
            json!({}),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = api
        .post("/deployments", &leader_b, json!({"files": []}))
        .await;
    assert_eq!(a.status, 403, "{a:?}");

    // Counting obeys the same scope as listing.
    let count = |token: &str| {
        let api = &api;
        let token = token.to_owned();
        async move { api.get("/tasks/count", &token).await.body["count"].clone() }
    };
    assert_eq!(count(&hoa).await, json!(1));
    assert_eq!(
        count(&auditor).await,
        json!(ids(&api.get("/tasks", &auditor).await.body).len())
    );
    // Assigning is for leaders (of the task's agency) and admins; delegating and resolving for
    // the assignee too.
    let next = next_a[0].clone();
    let a = api
        .post(
            &format!("/tasks/{next}/assign"),
            &hoa,
            json!({"user": "hoa"}),
        )
        .await;
    assert_eq!(
        (a.status, &a.body["code"]),
        (403, &json!("forbidden")),
        "{a:?}"
    );
    let a = api
        .post(
            &format!("/tasks/{next}/assign"),
            &leader_b,
            json!({"user": "hoa"}),
        )
        .await;
    assert_eq!(a.status, 403, "{a:?}");
    let a = api
        .post(
            &format!("/tasks/{next}/delegate"),
            &hoa,
            json!({"user": "lan"}),
        )
        .await;
    assert_eq!(a.status, 403, "not the assignee yet: {a:?}");
    let a = api
        .post(&format!("/tasks/{next}/claim"), &hoa, json!({}))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = api
        .post(
            &format!("/tasks/{next}/delegate"),
            &hoa,
            json!({"user": "lan"}),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = api
        .post(&format!("/tasks/{next}/resolve"), &hoa, json!({}))
        .await;
    assert_eq!(a.status, 403, "the delegate resolves, not the owner: {a:?}");
    let a = api
        .post(&format!("/tasks/{next}/resolve"), &lan, json!({}))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = api.get(&format!("/tasks/{next}"), &hoa).await;
    assert_eq!(a.body["assignee"], "hoa", "{a:?}");
    let a = api
        .post(
            &format!("/tasks/{next}/assign"),
            &admin,
            json!({"user": "minh"}),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");

    // Integrators read instances, not queues; workers only external tasks; admins anything.
    assert_eq!(
        api.get(&format!("/process-instances/{inst_a}"), &integrator)
            .await
            .status,
        200
    );
    assert_eq!(api.get("/tasks", &integrator).await.status, 403);
    let fetch = json!({"workerId": "w", "topic": "none"});
    assert_eq!(
        api.post("/external-tasks/fetch-and-lock", &worker, fetch.clone())
            .await
            .status,
        200
    );
    assert_eq!(
        api.post("/external-tasks/fetch-and-lock", &lan, fetch.clone())
            .await
            .status,
        403
    );
    assert_eq!(api.get("/tasks", &worker).await.status, 403);
    assert_eq!(
        api.post("/external-tasks/fetch-and-lock", &admin, fetch)
            .await
            .status,
        200
    );
    assert_eq!(ids(&api.get("/tasks?all=true", &admin).await.body).len(), 4);
    drop(server);
}

/// An identity provider's keys from a JWKS file: RS256 and ES256 tokens with the configured
/// issuer and audience pass; another key's signature, HS256, or a wrong issuer or audience do not.
async fn jwks_keys(backend: Backend) {
    let Some(db) = TestDb::new(backend, "auth_jwks_keys").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let jwks = fixture("jwks.json");
    let server = Server::start(
        db.url(),
        &dir.path().join("server.log"),
        &[
            "--jwks-file",
            jwks.to_str().expect("a UTF-8 path"),
            "--jwt-issuer",
            "https://idp.test",
            "--jwt-audience",
            "motcua",
        ],
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let claims = |iss: &str, aud: &str| json!({"sub": "thanh-tra", "role": "auditor", "exp": now() + 600, "iss": iss, "aud": aud});
    let good = claims("https://idp.test", "motcua");
    let cases = [
        (
            sign_pem(Algorithm::RS256, "test-rsa", "rsa-private.pem", &good),
            200,
            "RS256",
        ),
        (
            sign_pem(Algorithm::ES256, "test-ec", "ec-private.pem", &good),
            200,
            "ES256",
        ),
        (
            sign_pem(Algorithm::RS256, "test-rsa", "rsa-other-private.pem", &good),
            401,
            "another key",
        ),
        (
            sign_pem(Algorithm::RS256, "unknown", "rsa-other-private.pem", &good),
            401,
            "unknown kid",
        ),
        (sign_hs256(SECRET, &good), 401, "HS256"),
        (
            sign_pem(
                Algorithm::RS256,
                "test-rsa",
                "rsa-private.pem",
                &claims("https://evil.test", "motcua"),
            ),
            401,
            "wrong issuer",
        ),
        (
            sign_pem(
                Algorithm::RS256,
                "test-rsa",
                "rsa-private.pem",
                &claims("https://idp.test", "other"),
            ),
            401,
            "wrong audience",
        ),
        (
            sign_pem(
                Algorithm::RS256,
                "test-rsa",
                "rsa-private.pem",
                &json!({"sub": "x", "role": "auditor", "exp": now() - 120, "iss": "https://idp.test", "aud": "motcua"}),
            ),
            401,
            "expired",
        ),
    ];
    for (token, status, why) in cases {
        let a = api.get("/tasks", &token).await;
        assert_eq!(a.status, status, "{why}: {a:?}");
    }
    drop(server);
}

on_both_databases!(two_agencies, jwks_keys);
