//! The HTTP API (axum): JSON resources over the engine, for the portal, the Hue-S app, the IOC
//! and civil servants' front ends. `motcua serve` runs it with [`serve`].
//!
//! [`app`] merges one router per resource (`deployments`, `instances`, `tasks`,
//! `external_tasks`, `incidents`, `events`, `stats`, `metrics`, `health`, `dossiers`,
//! `directives`, `audit`, `forms`, `webhooks`, `messages`, `exchange`, `transfers`, `portal`,
//! `openapi`: the OpenAPI 3 document at `/openapi.json` and a page of it at `/docs`), and the
//! web front's pages (`crate::web`, server-rendered HTML); handlers are thin:
//! extract, call the engine, turn the answer into JSON with the same functions as the CLI's
//! `--json` (`crate::output`).
//! Every failure is an [`ApiError`], answered as RFC 9457 problem+json with a stable `code`;
//! every extractor rejects with one too (`extract`), so no client sees axum's plain-text errors.
//!
//! With a key configured every route but `auth::PUBLIC_PATHS` needs a bearer token (`auth`:
//! JWT, role table, agency scope); without one the server runs in open development mode and the
//! `X-Motcua-User` header names the actor. An `Idempotency-Key` header on a command makes a
//! retry return the first answer. This module knows the engine facade only: no SQL, no store backend.

pub mod audit;
pub mod auth;
pub mod deployments;
pub mod directives;
pub mod dossiers;
pub mod error;
pub mod events;
pub mod exchange;
pub mod external_tasks;
pub mod extract;
pub mod forms;
pub mod health;
pub mod incidents;
pub mod instances;
pub mod messages;
pub mod metrics;
pub mod openapi;
pub mod portal;
pub mod state;
pub mod stats;
pub mod tasks;
pub mod transfers;
pub mod webhooks;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::DefaultBodyLimit;
use axum::Router;
use motcua_engine::store::any::AnyStore;
use motcua_engine::Engine;
use tokio::sync::watch;

pub use error::ApiError;
pub use state::AppState;

use crate::output::say;

/// The largest request body: a deployment of several big BPMN files fits.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How long a graceful shutdown waits for requests in flight before it stops anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The whole API.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(deployments::router())
        .merge(instances::router())
        .merge(tasks::router())
        .merge(external_tasks::router())
        .merge(incidents::router())
        .merge(events::router())
        .merge(stats::router())
        .merge(metrics::router())
        .merge(openapi::router())
        .merge(webhooks::router())
        .merge(dossiers::router())
        .merge(transfers::router())
        .merge(portal::router())
        .merge(forms::router())
        .merge(audit::router())
        .merge(directives::router())
        .merge(exchange::router())
        .merge(messages::router())
        .merge(crate::web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("there is no resource at {}", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The job executor that runs beside the server.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The runner's id, recorded on the jobs it leases.
    pub id: String,
    /// How often to look for due jobs, in milliseconds.
    pub poll_ms: u64,
}

/// What `motcua serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The address to listen on (`127.0.0.1:8080`; port 0 picks a free one).
    pub listen: String,
    /// The job executor to run in the background, if any.
    pub worker: Option<WorkerConfig>,
    /// Where the bearer-token keys come from; none configured is open development mode.
    pub auth: auth::AuthConfig,
    /// The web front's users file (`--web-users`); none: nobody logs in to the web pages.
    pub web_users: Option<std::path::PathBuf>,
}

/// Serves the API until Ctrl-C or SIGTERM. Prints one line, `listening on http://ADDR`, once the
/// socket is bound. On the signal it stops taking connections, lets requests in flight finish
/// (at most [`SHUTDOWN_GRACE`]), stops the job executor between two passes and closes the
/// database.
pub async fn serve(engine: Engine<AnyStore>, config: ServeConfig) -> Result<()> {
    let keys = config.auth.load()?;
    if keys.is_none() {
        tracing::warn!(
            "no --jwt-secret-file or --jwks-file: open development mode, every request is \
             allowed and X-Motcua-User names the actor"
        );
    }
    let engine = Arc::new(engine);
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = config.worker.map(|w| {
        let engine = engine.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move { crate::worker::run_until(&engine, &w.id, w.poll_ms, stop).await })
    });

    let mut state = AppState::new(engine.clone());
    if let Some(path) = &config.web_users {
        let users = crate::web::session::Users::load(path)?;
        tracing::info!(users = users.len(), "web front: users loaded");
        state = state.with_web(crate::web::Web::new(
            users,
            crate::web::session::SessionKey::random()?,
        ));
    }
    if let Some(keys) = keys {
        state = state.with_auth(keys);
    }
    let app = app(state);
    let server = axum::serve(listener, app).with_graceful_shutdown({
        let stop_tx = stop_tx.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = stop_tx.send(true);
        }
    });
    say!("listening on http://{address}");

    let mut stopping = stop_rx.clone();
    let result = tokio::select! {
        r = server => r.context("the HTTP server failed"),
        _ = async {
            let _ = stopping.wait_for(|stop| *stop).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}: stopping anyway");
            Ok(())
        }
    };
    let _ = stop_tx.send(true);
    tracing::info!("HTTP server stopped; stopping the job executor");
    if let Some(worker) = worker {
        if let Err(e) = worker.await {
            tracing::error!(error = %e, "the job executor ended abnormally");
        }
    }
    engine.store().close().await;
    tracing::info!("database closed");
    result
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM. A signal that cannot be watched is never awaited
/// rather than taken as a request to stop.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
