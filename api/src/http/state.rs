//! [`AppState`]: what every handler shares. Cheap to clone (one `Arc`); bearer-token keys and
//! event-feed senders will join the engine here.

use std::sync::Arc;

use motcua_engine::store::any::AnyStore;
use motcua_engine::Engine;

/// The state behind the router.
#[derive(Clone)]
pub struct AppState {
    /// The engine on SQLite or PostgreSQL. The job executor of `motcua serve` shares it, and with
    /// it the caches of models and active instances.
    pub engine: Arc<Engine<AnyStore>>,
}

impl AppState {
    /// State over an engine.
    pub fn new(engine: Arc<Engine<AnyStore>>) -> Self {
        AppState { engine }
    }
}
