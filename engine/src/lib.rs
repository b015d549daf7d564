//! motcua's durable execution engine.
//!
//! - [`step`]: the pure step function `(state, command, now) -> (state, events, effects)`; no I/O.
//! - [`store`]: the [`store::Store`] trait and its SQLite backend; one transaction per command.
//! - [`engine`]: the facade tying them together with idempotency keys, optimistic concurrency,
//!   the definition cache and the [`clock::Clock`].
//!
//! This crate knows BPMN only through `motcua-definitions`; it knows nothing of HTTP or the CLI.

pub mod agency;
pub mod audit;
pub mod calendar;
pub mod catalog;
pub mod chain;
pub mod checkpoint;
pub mod clock;
pub mod command;
pub mod directive;
pub mod dossier;
pub mod engine;
pub mod error;
pub mod event;
pub mod exchange;
pub mod executor;
pub mod feed;
mod forms;
pub mod ids;
pub mod merkle;
pub mod messages;
pub mod portal;
pub mod replay;
pub mod signatures;
pub mod slips;
pub mod state;
pub mod step;
pub mod store;
pub mod webhooks;

pub use calendar::WorkCalendar;
pub use clock::{Clock, ManualClock, SystemClock};
pub use command::{Command, Effect, Transition};
pub use dossier::{
    Applicant, ApplicantDocument, ApplicantKind, BlobError, BlobStore, CertifyInput, CertifySlot,
    DocumentInput, DocumentRecord, DossierRecord, DossierState, DossierView, FolderBlobStore,
    SignatureRecord, SubmitDossier,
};
pub use dossier::{
    DossierScope, PayloadDocument, ReroutedTask, TransferDocument, TransferPayload, TransferRecord,
    TransferRequest, TransferState,
};
pub use engine::{CommandOptions, DeployFile, Engine, FetchedJob, Outcome, StartInstance};
pub use error::EngineError;
pub use event::Event;
pub use feed::{CounterSnapshot, Stats};
pub use ids::{DefinitionRef, InstanceId, JobId, TaskId};
pub use messages::{CorrelateMessage, Correlation};
pub use portal::{PortalProgress, PortalRecord};
pub use signatures::{certificate_fingerprint, SignatureSetup, SignerMapping};
pub use state::{InstanceState, InstanceStatus};
pub use store::any::AnyStore;
pub use store::postgres::{PostgresConfig, PostgresStore};
pub use store::sqlite::{Durability, SqliteConfig, SqliteStore};
pub use store::{DeployedForm, Deployment, FormRecord, NewForm};
pub use store::{EventFilter, FeedEvent, StatsFilter, StatsRow};
pub use store::{Store, StoreError, TaskQuery, Workable};
pub use store::{WebhookProgress, WebhookRow};
pub use webhooks::{NewWebhook, WebhookRetry};
