//! [`AppState`]: what every handler shares. Cheap to clone (`Arc`s): the engine, the
//! bearer-token keys (none: open development mode) and the web front's users and session key.

use std::sync::Arc;

use motcua_engine::store::any::AnyStore;
use motcua_engine::Engine;

use super::auth::Keys;
use crate::web::Web;

/// The state behind the router.
#[derive(Clone)]
pub struct AppState {
    /// The engine on SQLite or PostgreSQL. The job executor of `motcua serve` shares it, and with
    /// it the caches of models and active instances.
    pub engine: Arc<Engine<AnyStore>>,
    /// The keys bearer tokens are checked with; `None` runs the open development mode, where
    /// the `X-Motcua-User` header names the actor and every request is allowed.
    pub auth: Option<Arc<Keys>>,
    /// The web front's users, session key and templates (`crate::web`).
    pub web: Arc<Web>,
}

impl AppState {
    /// State over an engine, in open development mode (no tokens).
    pub fn new(engine: Arc<Engine<AnyStore>>) -> Self {
        AppState {
            engine,
            auth: None,
            web: Arc::new(Web::without_users()),
        }
    }

    /// Requires bearer tokens checked with `keys`.
    pub fn with_auth(mut self, keys: Keys) -> Self {
        self.auth = Some(Arc::new(keys));
        self
    }

    /// Serves the web front with these users and session key.
    pub fn with_web(mut self, web: Web) -> Self {
        self.web = Arc::new(web);
        self
    }
}
