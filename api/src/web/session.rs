//! Who is using the web front: the users file, password hashes, the signed session cookie and
//! the CSRF token bound to it.
//!
//! - The users file (`motcua serve --web-users FILE`) is TOML: `[[user]]` tables with `id`,
//!   `name`, `role` (one of the API's roles), `agency`, `groups` and `password_hash`.
//! - A password hash is `pbkdf2-sha256$ITERATIONS$SALT$HASH` (salt and hash in base64):
//!   PBKDF2-HMAC-SHA256 through OpenSSL's `PKCS5_PBKDF2_HMAC`; `motcua web hash-password` makes
//!   one. Comparison is constant-time.
//! - The session cookie (`motcua_web`, HttpOnly, SameSite=Strict, Path=/) is
//!   `base64url(JSON).base64url(HMAC-SHA256)`: user, role, agency, groups, expiry and a random
//!   nonce, signed with a key drawn at start-up (a restart logs everybody out). It yields the
//!   same [`Principal`] a bearer token does, so the agency scope rules are the API's.
//! - The CSRF token of a session is HMAC(key, `csrf:` + nonce): every form posts it back.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use motcua_signing::openssl;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::http::auth::{Principal, Role};

/// The session cookie's name.
pub const COOKIE: &str = "motcua_web";

/// How long a session lasts: one working day.
pub const SESSION_SECONDS: i64 = 10 * 3600;

/// PBKDF2 iterations of new hashes (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const DEFAULT_ITERATIONS: u32 = 600_000;

/// The prefix of a hash string.
const SCHEME: &str = "pbkdf2-sha256";

/// One user of the web front.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebUser {
    /// The login, recorded as the actor in the journal.
    pub id: String,
    /// Shown in the page header.
    pub name: String,
    /// One of the API's roles (`servant`, `leader`, `auditor`, `admin`...).
    pub role: String,
    /// The agency (required for servants).
    #[serde(default)]
    pub agency: Option<String>,
    /// Candidate groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// `pbkdf2-sha256$ITERATIONS$SALT$HASH`.
    pub password_hash: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    user: Vec<WebUser>,
}

/// The users, by id.
#[derive(Debug, Clone, Default)]
pub struct Users {
    by_id: HashMap<String, WebUser>,
}

impl Users {
    /// Reads and checks a users file: known roles, agencies for servants, well-formed hashes,
    /// no duplicate ids.
    pub fn load(path: &Path) -> Result<Users> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the users file {}", path.display()))?;
        Users::parse(&text).with_context(|| format!("bad users file {}", path.display()))
    }

    /// [`Users::load`] on text.
    pub fn parse(text: &str) -> Result<Users> {
        let file: UsersFile = toml::from_str(text).context("not a users file")?;
        let mut by_id = HashMap::new();
        for (i, user) in file.user.into_iter().enumerate() {
            let at = format!("[[user]] #{} ('{}')", i + 1, user.id);
            if user.id.trim().is_empty() {
                bail!("{at}: the id is empty");
            }
            let Some(role) = Role::parse(&user.role) else {
                bail!("{at}: role '{}' is not one of motcua's roles", user.role);
            };
            if role == Role::Servant && user.agency.as_deref().is_none_or(str::is_empty) {
                bail!("{at}: a servant needs an agency");
            }
            PasswordHash::parse(&user.password_hash)
                .with_context(|| format!("{at}: bad password_hash"))?;
            if by_id.insert(user.id.clone(), user).is_some() {
                bail!("{at}: the id appears twice");
            }
        }
        Ok(Users { by_id })
    }

    /// The user with this id and password; `None` for an unknown id or a wrong password (the
    /// same answer, and a hash computed either way so timing tells nothing).
    pub fn check(&self, id: &str, password: &str) -> Option<&WebUser> {
        match self.by_id.get(id) {
            Some(user) => match PasswordHash::parse(&user.password_hash) {
                Ok(hash) if hash.matches(password) => Some(user),
                _ => None,
            },
            None => {
                // Spend the same time as a wrong password.
                let _ = derive(password, b"motcua-no-such-user", DEFAULT_ITERATIONS);
                None
            }
        }
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none (nobody can log in).
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// A parsed `pbkdf2-sha256$ITERATIONS$SALT$HASH`.
struct PasswordHash {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl PasswordHash {
    fn parse(text: &str) -> Result<PasswordHash> {
        let parts: Vec<&str> = text.trim().split('$').collect();
        let [scheme, iterations, salt, hash] = parts.as_slice() else {
            bail!("expected pbkdf2-sha256$ITERATIONS$SALT$HASH (make one with `motcua web hash-password`)");
        };
        if *scheme != SCHEME {
            bail!("the scheme '{scheme}' is not {SCHEME}");
        }
        let iterations: u32 = iterations
            .parse()
            .ok()
            .filter(|n| *n >= 1000)
            .context("the iterations must be a number of at least 1000")?;
        let salt = STANDARD.decode(salt).context("the salt is not base64")?;
        let hash = STANDARD.decode(hash).context("the hash is not base64")?;
        if salt.len() < 8 || hash.len() != 32 {
            bail!("the salt needs at least 8 bytes and the hash 32");
        }
        Ok(PasswordHash {
            iterations,
            salt,
            hash,
        })
    }

    fn matches(&self, password: &str) -> bool {
        match derive(password, &self.salt, self.iterations) {
            Some(got) => openssl::memcmp::eq(&got, &self.hash),
            None => false,
        }
    }
}

fn derive(password: &str, salt: &[u8], iterations: u32) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    openssl::pkcs5::pbkdf2_hmac(
        password.as_bytes(),
        salt,
        iterations as usize,
        openssl::hash::MessageDigest::sha256(),
        &mut out,
    )
    .ok()?;
    Some(out)
}

/// A new hash string for `password` with a random 16-byte salt.
pub fn hash_password(password: &str, iterations: u32) -> Result<String> {
    if iterations < 1000 {
        bail!("use at least 1000 iterations");
    }
    let mut salt = [0u8; 16];
    openssl::rand::rand_bytes(&mut salt).context("no random bytes")?;
    let hash = derive(password, &salt, iterations).context("PBKDF2 failed")?;
    Ok(format!(
        "{SCHEME}${iterations}${}${}",
        STANDARD.encode(salt),
        STANDARD.encode(hash)
    ))
}

/// What the session cookie carries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// User id.
    pub u: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub r: String,
    /// Agency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<String>,
    /// Groups.
    #[serde(default)]
    pub g: Vec<String>,
    /// Expiry, seconds since 1970.
    pub exp: i64,
    /// A random nonce: the CSRF token is derived from it.
    pub n: String,
}

impl Session {
    /// A new session for `user` from `now` (seconds since 1970).
    pub fn new(user: &WebUser, now: i64) -> Session {
        let mut nonce = [0u8; 16];
        // Without random bytes the nonce is the time: still unique per login, only guessable.
        if openssl::rand::rand_bytes(&mut nonce).is_err() {
            nonce[..8].copy_from_slice(&now.to_be_bytes());
        }
        Session {
            u: user.id.clone(),
            name: user.name.clone(),
            r: user.role.clone(),
            a: user.agency.clone().filter(|a| !a.is_empty()),
            g: user.groups.clone(),
            exp: now + SESSION_SECONDS,
            n: URL_SAFE_NO_PAD.encode(nonce),
        }
    }

    /// The API's principal for this session (`None` for a role no longer known).
    pub fn principal(&self) -> Option<Principal> {
        Some(Principal {
            user: self.u.clone(),
            role: Role::parse(&self.r)?,
            agency: self.a.clone(),
            groups: self.g.clone(),
        })
    }
}

/// The key sessions are signed with.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// A fresh random key.
    pub fn random() -> Result<SessionKey> {
        let mut key = [0u8; 32];
        openssl::rand::rand_bytes(&mut key).context("no random bytes for the session key")?;
        Ok(SessionKey(key))
    }

    /// A fixed key (tests).
    pub fn from_bytes(key: [u8; 32]) -> SessionKey {
        SessionKey(key)
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length: new_from_slice cannot fail here.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mut mac) => {
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }

    /// The cookie value of a session.
    pub fn seal(&self, session: &Session) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(session).unwrap_or_default());
        let tag = URL_SAFE_NO_PAD.encode(self.mac(body.as_bytes()));
        format!("{body}.{tag}")
    }

    /// The session of a cookie value, if its signature holds and it has not expired at `now`.
    pub fn open(&self, value: &str, now: i64) -> Option<Session> {
        let (body, tag) = value.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let expected = self.mac(body.as_bytes());
        // memcmp::eq wants equal lengths: compare them first.
        if tag.len() != expected.len() || !openssl::memcmp::eq(&expected, &tag) {
            return None;
        }
        let session: Session = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        (session.exp > now).then_some(session)
    }

    /// The CSRF token of a session.
    pub fn csrf(&self, session: &Session) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(format!("csrf:{}", session.n).as_bytes()))
    }

    /// Whether `token` is the CSRF token of `session`.
    pub fn csrf_ok(&self, session: &Session, token: &str) -> bool {
        let expected = self.csrf(session);
        expected.len() == token.len() && openssl::memcmp::eq(expected.as_bytes(), token.as_bytes())
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(hash: &str) -> String {
        format!(
            "[[user]]\nid = \"lan\"\nname = \"Trần Thị Lan\"\nrole = \"servant\"\nagency = \"000.00.01.H22\"\ngroups = [\"mot-cua\"]\npassword_hash = \"{hash}\"\n"
        )
    }

    #[test]
    fn a_hash_checks_its_password_only() {
        let hash = hash_password("mật khẩu đúng", 1000).unwrap();
        assert!(hash.starts_with("pbkdf2-sha256$1000$"));
        let users = Users::parse(&user(&hash)).unwrap();
        assert_eq!(
            users.check("lan", "mật khẩu đúng").unwrap().name,
            "Trần Thị Lan"
        );
        assert!(users.check("lan", "sai").is_none());
        assert!(users.check("ai-do", "mật khẩu đúng").is_none());
    }

    #[test]
    fn bad_users_files_are_refused_with_the_entry() {
        let hash = hash_password("x", 1000).unwrap();
        let no_agency = user(&hash).replace("agency = \"000.00.01.H22\"\n", "");
        assert!(format!("{:#}", Users::parse(&no_agency).unwrap_err()).contains("agency"));
        let bad_role = user(&hash).replace("servant", "king");
        assert!(format!("{:#}", Users::parse(&bad_role).unwrap_err()).contains("king"));
        let bad_hash = user("md5$abc");
        assert!(format!("{:#}", Users::parse(&bad_hash).unwrap_err()).contains("pbkdf2"));
        let twice = format!("{}{}", user(&hash), user(&hash));
        assert!(format!("{:#}", Users::parse(&twice).unwrap_err()).contains("twice"));
    }

    #[test]
    fn sessions_are_signed_expire_and_carry_the_principal() {
        let hash = hash_password("x", 1000).unwrap();
        let users = Users::parse(&user(&hash)).unwrap();
        let u = users.check("lan", "x").unwrap();
        let key = SessionKey::from_bytes([7; 32]);
        let session = Session::new(u, 1_000);
        let value = key.seal(&session);
        assert_eq!(key.open(&value, 1_001), Some(session.clone()));
        assert_eq!(key.open(&value, 1_000 + SESSION_SECONDS), None, "expired");
        let other = SessionKey::from_bytes([8; 32]);
        assert_eq!(other.open(&value, 1_001), None, "another key");
        let (body, tag) = value.split_once('.').unwrap();
        let forged = format!("{}x.{tag}", body);
        assert_eq!(key.open(&forged, 1_001), None, "a changed body");
        assert_eq!(key.open("garbage", 1_001), None);
        let p = session.principal().unwrap();
        assert_eq!(p.role, Role::Servant);
        assert_eq!(p.agency.as_deref(), Some("000.00.01.H22"));
        assert_eq!(p.groups, vec!["mot-cua".to_owned()]);
        let csrf = key.csrf(&session);
        assert!(key.csrf_ok(&session, &csrf));
        assert!(!key.csrf_ok(&session, "x"));
        assert!(
            !key.csrf_ok(&Session::new(u, 1_000), &csrf),
            "another session"
        );
    }

    #[test]
    fn cookies_are_found_by_name() {
        assert_eq!(cookie("a=1; motcua_web=v.t; b=2", COOKIE), Some("v.t"));
        assert_eq!(cookie("a=1", COOKIE), None);
    }
}
