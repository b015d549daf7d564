//! Signed checkpoints over the journal's chain heads: at intervals the engine signs, with its own
//! key, the Merkle root (see [`crate::merkle`]) of the heads of every instance whose journal grew
//! since the last checkpoint. Someone who rewrites history in the database can recompute the
//! hash chain, but not this signature, so the rewrite shows: the head at the checkpointed
//! sequence number no longer matches the signed leaf.
//!
//! A leaf is the compact JSON `["motcua-head/1", <instance id>, <seq>, <hash>]`. The signed
//! payload is the compact JSON of [`CheckpointPayload`]; each names the SHA-256 of the payload
//! before it, so checkpoints form a chain of their own. The signature is a detached CMS over the
//! payload's bytes (the `signing` crate), verifiable with openssl alone.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use motcua_signing::SigningIdentity;

use crate::chain::{hashed_time, hex};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::merkle;
use crate::store::{Store, StoreError};

/// The payload's format tag.
pub const FORMAT: &str = "motcua-checkpoint/1";
/// A leaf's format tag.
pub const HEAD_FORMAT: &str = "motcua-head/1";
/// How often checkpoints are signed unless configured otherwise.
pub const DEFAULT_INTERVAL: chrono::Duration = chrono::Duration::minutes(5);
/// Most heads in one checkpoint; more make several checkpoints in one run.
pub const MAX_LEAVES: i64 = 50_000;

/// The head of an instance's chain as a checkpoint covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The instance.
    pub instance: String,
    /// The last journal row's sequence number.
    pub seq: i64,
    /// That row's hash.
    pub hash: String,
}

impl Head {
    /// The leaf's bytes.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        json!([HEAD_FORMAT, self.instance, self.seq, self.hash])
            .to_string()
            .into_bytes()
    }

    /// The leaf's Merkle hash.
    pub fn leaf_hash(&self) -> merkle::Hash {
        merkle::leaf_hash(&self.leaf_bytes())
    }
}

/// What a checkpoint signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointPayload {
    /// [`FORMAT`].
    pub format: String,
    /// 1, 2, 3, ...
    pub id: i64,
    /// SHA-256 (hex) of the previous checkpoint's payload text; none for the first.
    pub previous: Option<String>,
    /// When it was made: RFC 3339, UTC, microseconds.
    pub at: String,
    /// How many heads it covers.
    pub size: u64,
    /// The Merkle root of the heads, hex.
    pub root: String,
}

impl CheckpointPayload {
    /// The payload's text as signed (field order as declared).
    pub fn text(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecord {
    /// 1, 2, 3, ...
    pub id: i64,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// How many heads it covers.
    pub size: i64,
    /// The Merkle root, hex.
    pub root: String,
    /// The signed payload text.
    pub payload: String,
    /// The detached CMS signature over the payload's bytes (DER).
    pub signature: Vec<u8>,
}

/// A checkpoint covering one instance: the checkpoint, the instance's leaf and its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// The checkpoint.
    pub checkpoint: CheckpointRecord,
    /// The instance's head it signed.
    pub head: Head,
    /// The leaf's index in the checkpoint's tree.
    pub leaf: i64,
}

/// SHA-256 of a payload text, hex (what the next checkpoint names as `previous`).
pub fn payload_digest(payload: &str) -> String {
    crate::dossier::blobs::sha256_hex(payload.as_bytes())
}

/// Hex of a Merkle hash; and back.
pub fn parse_hash(s: &str) -> Option<merkle::Hash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

impl<S: Store> Engine<S> {
    /// Signs checkpoints over the heads of every instance whose journal grew since it was last
    /// covered (several checkpoints when there are more than [`MAX_LEAVES`]); returns them.
    /// Two nodes racing for the same checkpoint number: one writes it, the other reads again.
    pub async fn checkpoint(
        &self,
        key: &SigningIdentity,
    ) -> Result<Vec<CheckpointRecord>, EngineError> {
        let mut made = Vec::new();
        let mut lost_races = 0;
        loop {
            let heads = self.store.unchecked_heads(MAX_LEAVES).await?;
            if heads.is_empty() {
                return Ok(made);
            }
            let previous = self.store.last_checkpoint().await?;
            let now = self.clock.now();
            let leaves: Vec<merkle::Hash> = heads.iter().map(Head::leaf_hash).collect();
            let payload = CheckpointPayload {
                format: FORMAT.to_owned(),
                id: previous.as_ref().map_or(1, |p| p.id + 1),
                previous: previous.as_ref().map(|p| payload_digest(&p.payload)),
                at: hashed_time(now),
                size: heads.len() as u64,
                root: hex(&merkle::root(&leaves)),
            };
            let text = payload
                .text()
                .map_err(|e| EngineError::Fatal(format!("checkpoint payload: {e}")))?;
            let signature = key
                .sign(text.as_bytes(), Some(SystemTime::from(now)))
                .map_err(|e| {
                    EngineError::Fatal(format!("the engine key could not sign a checkpoint: {e}"))
                })?;
            let record = CheckpointRecord {
                id: payload.id,
                at: now,
                size: heads.len() as i64,
                root: payload.root.clone(),
                payload: text,
                signature,
            };
            match self.store.insert_checkpoint(&record, &heads).await {
                Ok(()) => made.push(record),
                Err(StoreError::Duplicate(_)) if lost_races < 8 => lost_races += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Signs checkpoints when `every` has passed since the last one (by the engine's clock), or
    /// when there is none yet; the job executor's pass calls it with the engine's key. Returns
    /// what it signed (nothing when it is not due or nothing changed).
    pub async fn checkpoint_if_due(
        &self,
        key: &SigningIdentity,
        every: chrono::Duration,
    ) -> Result<Vec<CheckpointRecord>, EngineError> {
        if let Some(last) = self.store.last_checkpoint().await? {
            if self.clock.now() < last.at + every {
                return Ok(Vec::new());
            }
        }
        self.checkpoint(key).await
    }

    /// Sets how often [`Engine::run_due_checkpoint`] signs (default [`DEFAULT_INTERVAL`]).
    pub fn with_checkpoint_interval(mut self, every: chrono::Duration) -> Self {
        self.checkpoint_every = every;
        self
    }

    /// The job executor's checkpoint step: with the engine key configured, signs checkpoints
    /// when the interval has passed; without a key, does nothing.
    pub async fn run_due_checkpoint(&self) -> Result<Vec<CheckpointRecord>, EngineError> {
        match self.engine_key() {
            Some(key) => self.checkpoint_if_due(key, self.checkpoint_every).await,
            None => Ok(Vec::new()),
        }
    }

    /// The checkpoints covering an instance, oldest first.
    pub async fn checkpoints_of(
        &self,
        instance: crate::ids::InstanceId,
    ) -> Result<Vec<Coverage>, EngineError> {
        Ok(self.store.checkpoints_of(&instance.to_string()).await?)
    }

    /// The audit path of leaf `leaf` of checkpoint `id`.
    pub async fn audit_path(&self, id: i64, leaf: i64) -> Result<Vec<String>, EngineError> {
        let heads = self.store.checkpoint_leaves(id).await?;
        let leaves: Vec<merkle::Hash> = heads.iter().map(Head::leaf_hash).collect();
        let index = usize::try_from(leaf)
            .map_err(|_| EngineError::Fatal(format!("checkpoint {id}: leaf {leaf}")))?;
        Ok(merkle::audit_path(&leaves, index)
            .iter()
            .map(|h| hex(h))
            .collect())
    }
}

/// A stored checkpoint's row, as both stores read it (the signature is stored as base64).
pub(crate) fn record_from_row(
    id: i64,
    at: DateTime<Utc>,
    size: i64,
    root: String,
    payload: String,
    signature: &str,
) -> Result<CheckpointRecord, StoreError> {
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|e| StoreError::Corrupt(format!("checkpoint {id}: signature: {e}")))?;
    Ok(CheckpointRecord {
        id,
        at,
        size,
        root,
        payload,
        signature,
    })
}

/// A checkpoint's signature as stored.
pub(crate) fn signature_text(record: &CheckpointRecord) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(&record.signature)
}
