//! Exchange between motcua engines (liên thông across engines, issue #9 part 3): a commune's
//! engine hands a dossier to the city's engine, which decides it and sends its status back.
//!
//! - A message is an [`Envelope`] (id, kind, from and to agency codes, time, payload) written as
//!   compact JSON; those exact bytes are signed by the sending agency's key (a detached CMS, the
//!   signing crate's) and kept with the signature in the `exchange_outbox` table, written in the
//!   SAME transaction as the change that sends it (the dossier transferred, a received
//!   dossier's state changed). Nothing is sent that was not committed; nothing committed is
//!   left unsent.
//! - Delivery (the HTTP half is `api/src/exchange_delivery.rs`) posts the bytes and the
//!   signature to the peer, at least once, retried with back-off until the peer acknowledges
//!   with a 2xx; the engine keeps the leases, attempts and the clock.
//! - Receipt ([`Engine::receive_exchange`](crate::Engine::receive_exchange)) verifies the
//!   signature against the configured trust anchors AND pins the signer certificate to the
//!   sending peer's configured certificate (a valid signature by anyone else is refused), then
//!   applies the message once: a message id already applied answers with its first effect
//!   (the `exchange_links` row is written in the same transaction as the effect, and a received
//!   transfer is submitted under the idempotency key `exchange/<message id>`).
//!
//! Peers are configuration ([`Peer`]: the agency code, the base URL, the certificate the peer
//! signs with); the engine knows no HTTP.

pub mod engine;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dossier::{Applicant, DossierState};

/// The envelope format.
pub const FORMAT: &str = "motcua-exchange/1";

/// Another engine's agency this engine exchanges dossiers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The peer's agency code (messages to this agency go to `url`).
    pub agency: String,
    /// The peer engine's base URL (`http://host:port`); messages are posted to
    /// `<url>/exchange/messages`.
    pub url: String,
    /// SHA-256 (lowercase hex) of the certificate the peer signs with: only its signatures are
    /// accepted as the peer's.
    pub fingerprint: String,
}

/// The peers of this engine.
#[derive(Debug, Clone, Default)]
pub struct ExchangeSetup {
    /// Every configured peer.
    pub peers: Vec<Peer>,
}

impl ExchangeSetup {
    /// The peer serving `agency`, if any.
    pub fn peer(&self, agency: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.agency == agency)
    }
}

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageKind {
    /// A dossier handed to the peer: a [`TransferPayload`].
    #[serde(rename = "dossier.transfer")]
    DossierTransfer,
    /// A received dossier's state, sent back to its origin: a [`StatusPayload`].
    #[serde(rename = "dossier.status")]
    DossierStatus,
}

impl MessageKind {
    /// As stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::DossierTransfer => "dossier.transfer",
            MessageKind::DossierStatus => "dossier.status",
        }
    }
}

/// A message between engines; its compact JSON is what is signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// [`FORMAT`].
    pub format: String,
    /// Unique message id (UUID v7): receivers apply a message once.
    pub id: String,
    /// What it carries.
    pub kind: MessageKind,
    /// The sending agency (its key signs the message).
    pub from: String,
    /// The receiving agency.
    pub to: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// The [`TransferPayload`] or [`StatusPayload`] as JSON.
    pub payload: Value,
}

/// A document travelling with a transfer: its bytes (standard base64) and their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferDocument {
    /// The slot.
    pub slot: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub media_type: String,
    /// SHA-256 of the bytes, lowercase hex (checked on receipt).
    pub sha256: String,
    /// The bytes, standard base64.
    pub content_base64: String,
}

/// A dossier handed to another engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferPayload {
    /// The dossier's code at the origin.
    pub origin_code: String,
    /// The procedure the receiver runs it under (a definition key deployed there).
    pub procedure: String,
    /// Why it is transferred.
    pub reason: String,
    /// The applicant.
    pub applicant: Applicant,
    /// The form data.
    pub data: Map<String, Value>,
    /// The latest version of each document.
    pub documents: Vec<TransferDocument>,
}

/// A received dossier's state, for its origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPayload {
    /// The dossier's code at the origin.
    pub origin_code: String,
    /// Its code at the receiver.
    pub remote_code: String,
    /// Its state there.
    pub state: DossierState,
    /// Why (a refusal's reason, a note).
    pub note: Option<String>,
}

/// A message in the outbox with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    /// The message id.
    pub id: String,
    /// The receiving agency (a configured peer).
    pub peer: String,
    /// `dossier.transfer` or `dossier.status`.
    pub kind: String,
    /// The local dossier it concerns.
    pub dossier_code: String,
    /// The envelope's exact bytes (JSON text).
    pub body: String,
    /// The sending agency's detached CMS over `body` (standard base64 of the DER).
    pub signature: String,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not before.
    pub next_attempt_at: DateTime<Utc>,
    /// When the peer acknowledged it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// Which local dossier a message belongs to, and its code on the other side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRow {
    /// The message id.
    pub message_id: String,
    /// The local dossier.
    pub dossier_code: String,
    /// `sent` or `received`.
    pub direction: String,
    /// `dossier.transfer` or `dossier.status`.
    pub kind: String,
    /// The other side's agency.
    pub peer: String,
    /// The dossier's code on the other side, when known.
    pub remote_code: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// What the stores write with a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeEffect {
    /// Queue a message for delivery.
    Queued(Box<OutboxRow>),
    /// Link a message to its local dossier (a received one's id is unique: applied once).
    Linked(LinkRow),
}

/// A delivery attempt's outcome, written to the leased outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryProgress {
    /// Acknowledged at.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not before.
    pub next_attempt_at: DateTime<Utc>,
    /// The failure.
    pub last_error: Option<String>,
}

/// The receiver's answer to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeAck {
    /// The message id.
    pub id: String,
    /// The local dossier it took effect on.
    pub dossier_code: String,
    /// It had been applied before (a redelivery): nothing changed this time.
    pub duplicate: bool,
}

/// An outbox row's columns as both backends read them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OutboxParts {
    pub id: String,
    pub peer: String,
    pub kind: String,
    pub dossier_code: String,
    pub body: String,
    pub signature: String,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl From<OutboxParts> for OutboxRow {
    fn from(p: OutboxParts) -> Self {
        OutboxRow {
            id: p.id,
            peer: p.peer,
            kind: p.kind,
            dossier_code: p.dossier_code,
            body: p.body,
            signature: p.signature,
            created_at: p.created_at,
            attempts: u32::try_from(p.attempts).unwrap_or(0),
            next_attempt_at: p.next_attempt_at,
            delivered_at: p.delivered_at,
            last_error: p.last_error,
        }
    }
}

/// The outbox columns both backends select.
pub(crate) const OUTBOX_COLUMNS: &str = "id, peer, kind, dossier_code, body, signature, \
     created_at, attempts, next_attempt_at, delivered_at, last_error";

/// A link row's columns.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LinkParts {
    pub message_id: String,
    pub dossier_code: String,
    pub direction: String,
    pub kind: String,
    pub peer: String,
    pub remote_code: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<LinkParts> for LinkRow {
    fn from(p: LinkParts) -> Self {
        LinkRow {
            message_id: p.message_id,
            dossier_code: p.dossier_code,
            direction: p.direction,
            kind: p.kind,
            peer: p.peer,
            remote_code: p.remote_code,
            at: p.at,
        }
    }
}

/// The link columns both backends select.
pub(crate) const LINK_COLUMNS: &str =
    "message_id, dossier_code, direction, kind, peer, remote_code, at";
