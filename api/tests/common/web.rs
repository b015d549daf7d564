//! What the web front's tests share: a `motcua serve` with bearer tokens on and a users file,
//! the birth registration catalog deployed and one dossier submitted over the API, and a
//! cookie-keeping client for the pages.

use std::path::Path;

use base64::Engine as _;
use motcua_api::http::auth::Claims;
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::Server;

const BPMN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../definitions/catalog/dang-ky-khai-sinh.bpmn"
));
const FORMS: [(&str, &str); 3] = [
    (
        "to-khai-khai-sinh.form",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../definitions/catalog/to-khai-khai-sinh.form"
        )),
    ),
    (
        "khai-sinh-tiep-nhan.form",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../definitions/catalog/khai-sinh-tiep-nhan.form"
        )),
    ),
    (
        "khai-sinh-tham-dinh.form",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../definitions/catalog/khai-sinh-tham-dinh.form"
        )),
    ),
];

/// The agency of the catalog's process (UBND xã Phú Thượng).
pub const AGENCY: &str = "000.00.02.H22";
/// Another agency.
pub const OTHER_AGENCY: &str = "000.00.09.H22";
/// The applicant's citizen id (must never appear on the public page).
pub const CITIZEN: &str = "046090001234";
/// The applicant's phone (must never appear on the public page).
pub const PHONE: &str = "0912345678";
/// The applicant's name.
pub const APPLICANT: &str = "Nguyễn Văn An";
/// Every user's password in the tests.
pub const PASSWORD: &str = "Mật-khẩu-2026";

/// The users file: the counter (`lan`), the justice officer (`binh`), a servant of another
/// agency (`cuong`) and a leader (`lanh-dao`).
pub fn users_file(dir: &Path) -> std::path::PathBuf {
    let hash = motcua_api::web::session::hash_password(PASSWORD, 1000).expect("a hash");
    let text = format!(
        r#"[[user]]
id = "lan"
name = "Trần Thị Lan"
role = "servant"
agency = "{AGENCY}"
groups = ["mot-cua"]
password_hash = "{hash}"

[[user]]
id = "binh"
name = "Lê Văn Bình"
role = "servant"
agency = "{AGENCY}"
groups = ["tu-phap-ho-tich"]
password_hash = "{hash}"

[[user]]
id = "cuong"
name = "Phạm Văn Cường"
role = "servant"
agency = "{OTHER_AGENCY}"
groups = ["mot-cua"]
password_hash = "{hash}"

[[user]]
id = "lanh-dao"
name = "Hồ Thị Dung"
role = "leader"
agency = "{AGENCY}"
password_hash = "{hash}"
"#
    );
    let path = dir.join("users.toml");
    std::fs::write(&path, text).expect("the users file");
    path
}

/// A server with tokens on, the catalog deployed and one dossier received.
pub struct Setup {
    /// The server.
    pub server: Server,
    /// The dossier's code.
    pub code: String,
    /// The receiving task's id.
    pub task: String,
    /// An admin's bearer token.
    pub token: String,
    _dir: tempfile::TempDir,
}

/// Starts the server on `database`, deploys the catalog and submits a dossier.
pub async fn setup(database: &str) -> Setup {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let secret = "w".repeat(40);
    let secret_file = dir.path().join("jwt.secret");
    std::fs::write(&secret_file, &secret).expect("the secret");
    let documents = dir.path().join("documents");
    std::fs::create_dir_all(&documents).expect("a documents folder");
    let users = users_file(dir.path());
    let server = Server::start(
        database,
        &dir.path().join("server.log"),
        &[
            "--poll-ms",
            "100",
            "--documents",
            documents.to_str().expect("UTF-8"),
            "--jwt-secret-file",
            secret_file.to_str().expect("UTF-8"),
            "--web-users",
            users.to_str().expect("UTF-8"),
        ],
    );
    let token = motcua_api::token::sign(
        secret.as_bytes(),
        &Claims {
            sub: "quan-tri".into(),
            role: "admin".into(),
            agency: None,
            groups: vec![],
            exp: 4_000_000_000,
            iat: None,
            iss: None,
        },
    )
    .expect("a token");
    let http = reqwest::Client::new();
    let mut files = vec![json!({ "name": "dang-ky-khai-sinh.bpmn", "xml": BPMN })];
    for (name, xml) in FORMS {
        files.push(json!({ "name": name, "xml": xml }));
    }
    let deployed = http
        .post(format!("{}/deployments", server.base))
        .bearer_auth(&token)
        .json(&json!({ "name": "khai-sinh", "files": files }))
        .send()
        .await
        .expect("deploy");
    assert_eq!(deployed.status(), StatusCode::CREATED);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let submitted = http
        .post(format!("{}/dossiers", server.base))
        .bearer_auth(&token)
        .json(&json!({
            "procedure": "dang-ky-khai-sinh",
            "agency": AGENCY,
            "applicant": { "kind": "citizen_id", "id": CITIZEN, "name": APPLICANT, "address": "Phú Thượng, Huế", "phone": PHONE },
            "data": {
                "applicantName": APPLICANT, "applicantId": CITIZEN, "applicantPhone": "0912 345 678",
                "relationship": "cha", "childName": "Nguyễn Thị Bình", "childBirthDate": "2026-11-20",
                "childGender": "nu", "birthPlace": "Bệnh viện Trung ương Huế", "parentsMarried": false,
            },
            "documents": [
                { "slot": "to-khai", "name": "to-khai.pdf", "media_type": "application/pdf", "content_base64": b64(b"%PDF-1.7 to khai\n") },
                { "slot": "giay-chung-sinh", "name": "giay-chung-sinh.pdf", "media_type": "application/pdf", "content_base64": b64(b"%PDF-1.7 giay chung sinh\n") },
            ],
        }))
        .send()
        .await
        .expect("submit");
    assert_eq!(submitted.status(), StatusCode::CREATED);
    let dossier: Value = submitted.json().await.expect("JSON");
    let code = dossier["code"].as_str().expect("a code").to_owned();
    let tasks: Value = http
        .get(format!("{}/tasks?procedure=dang-ky-khai-sinh", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("tasks")
        .json()
        .await
        .expect("JSON");
    let task = tasks
        .as_array()
        .and_then(|t| t.first())
        .and_then(|t| t["id"].as_str())
        .unwrap_or_else(|| panic!("no task in {tasks}"))
        .to_owned();
    Setup {
        server,
        code,
        task,
        token,
        _dir: dir,
    }
}

/// A page client that keeps the session cookie and follows no redirect.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

/// An answer: status, `Location`, `Set-Cookie` and the body.
pub struct Page {
    /// Status.
    pub status: StatusCode,
    /// `Location`.
    pub location: Option<String>,
    /// `Set-Cookie`.
    pub set_cookie: Option<String>,
    /// Body.
    pub text: String,
}

impl Page {
    /// The page's CSRF token (the first `_csrf` field).
    pub fn csrf(&self) -> String {
        let at = self
            .text
            .find("name=\"_csrf\" value=\"")
            .unwrap_or_else(|| panic!("no CSRF field in {}", self.text));
        let rest = &self.text[at + "name=\"_csrf\" value=\"".len()..];
        rest[..rest.find('"').expect("a closing quote")].to_owned()
    }
}

impl Browser {
    /// A client for `base` with no session.
    pub fn new(base: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("a client"),
            base: base.to_owned(),
            cookie: None,
        }
    }

    async fn answer(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(c) => request.header("cookie", c),
            None => request,
        };
        let response = request.send().await.expect("the server answers");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let page = Page {
            status: response.status(),
            location: header("location"),
            set_cookie: header("set-cookie"),
            text: String::new(),
        };
        let text = response.text().await.expect("a body");
        Page { text, ..page }
    }

    /// GET a page.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.answer(request).await
    }

    /// POST a form.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(fields);
        self.answer(request).await
    }

    /// Logs in; panics unless it worked.
    pub async fn login(&mut self, user: &str) {
        let page = self
            .post(
                "/web/login",
                &[
                    ("user", user),
                    ("password", PASSWORD),
                    ("next", "/web/tasks"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
        let cookie = page.set_cookie.expect("a session cookie");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        self.cookie = Some(cookie.split(';').next().expect("name=value").to_owned());
    }
}
