//! `motcua token`: issues an HS256 bearer token with motcua's claims (`sub`, `role`, `agency`,
//! `groups`, `exp`), signed with the same secret file `motcua serve --jwt-secret-file` reads.
//! For local use and the demo; in production an identity provider issues tokens (`--jwks-file`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::http::auth::{read_secret, Claims, Role};

/// `motcua token` options.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The file holding the HS256 secret (at least 32 bytes).
    #[arg(long, env = "MOTCUA_JWT_SECRET_FILE")]
    pub secret_file: PathBuf,
    /// The user id (`sub`), recorded in the journal as the actor.
    #[arg(long)]
    pub sub: String,
    /// designer, servant, leader, auditor, integrator, worker or admin.
    #[arg(long)]
    pub role: String,
    /// The agency (required for a servant), e.g. `000.00.02.H22`.
    #[arg(long)]
    pub agency: Option<String>,
    /// Candidate groups, comma-separated, e.g. `mot-cua,tu-phap-ho-tich`.
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<String>,
    /// Lifetime in minutes.
    #[arg(long, default_value_t = 60)]
    pub ttl_minutes: u64,
    /// The issuer (`iss`), when the server requires one.
    #[arg(long)]
    pub issuer: Option<String>,
}

/// Signs `claims` with an HS256 secret.
pub fn sign(secret: &[u8], claims: &Claims) -> Result<String> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .context("cannot sign the token")
}

/// Prints a token.
pub fn run(args: &TokenArgs) -> Result<()> {
    let Some(role) = Role::parse(&args.role) else {
        bail!(
            "--role takes designer, servant, leader, auditor, integrator, worker or admin, not '{}'",
            args.role
        );
    };
    if role == Role::Servant && args.agency.is_none() {
        bail!("a servant's token needs --agency");
    }
    if args.sub.trim().is_empty() {
        bail!("--sub must not be empty");
    }
    if args.ttl_minutes == 0 || args.ttl_minutes > 60 * 24 * 366 {
        bail!("--ttl-minutes must be between 1 and 527040 (a year)");
    }
    let secret = read_secret(&args.secret_file)?;
    // The same check the server makes, so a token is never signed with a secret it refuses.
    crate::http::auth::Keys::secret(&secret)?;
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: args.sub.clone(),
        role: role.as_str().to_owned(),
        agency: args.agency.clone(),
        groups: args
            .groups
            .iter()
            .filter(|g| !g.is_empty())
            .cloned()
            .collect(),
        exp: now + args.ttl_minutes * 60,
        iat: Some(now),
        iss: args.issuer.clone(),
    };
    println!("{}", sign(&secret, &claims)?);
    Ok(())
}
