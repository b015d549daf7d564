//! The JSON client the HTTP end-to-end tests share: requests with a bearer token or, in open
//! development mode, the `X-Motcua-User` header, and answers checked for their status and
//! RFC 9457 problems.

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// One answer: status, headers we check, and the raw body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub etag: Option<String>,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.bytes).into_owned()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Asserts the status; returns the JSON body.
    pub fn expect(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text());
        self.json()
    }

    /// Asserts an RFC 9457 problem with this status and code; returns the body.
    pub fn problem(&self, status: StatusCode, code: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(self.content_type, "application/problem+json", "{body}");
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["status"], status.as_u16(), "{body}");
        assert!(body["detail"].is_string(), "{body}");
        body
    }
}

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    /// A bearer token; without one the `X-Motcua-User` header names the actor.
    pub token: Option<String>,
}

impl Api {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request.header("X-Motcua-User", "can-bo-lan"),
        };
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let etag = header("etag");
        let status = response.status();
        let bytes = response.bytes().await.expect("a body").to_vec();
        Answer {
            status,
            content_type,
            etag,
            bytes,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, None, Some(body)).await
    }
}

pub fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string field '{field}' in {v}"))
}

pub fn array(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {v}"))
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The applicant of the birth-registration dossiers the tests submit.
pub const CITIZEN: &str = "046090001234";

/// The birth registration's start form, filled in validly for [`CITIZEN`].
pub fn form_data() -> Value {
    json!({
        "applicantName": "Nguyễn Văn An",
        "applicantId": CITIZEN,
        "applicantPhone": "0912 345 678",
        "relationship": "cha",
        "childName": "Nguyễn Thị Bình",
        "childBirthDate": "2026-11-20",
        "childGender": "nu",
        "birthPlace": "Bệnh viện Trung ương Huế",
        "parentsMarried": false,
    })
}

/// A token signed with `secret` for `role` in `agency`, valid for an hour.
pub fn token(secret: &str, user: &str, role: &str, agency: Option<&str>) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 3600;
    let claims =
        json!({ "sub": user, "role": role, "agency": agency, "groups": ["mot-cua"], "exp": exp });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signed")
}
