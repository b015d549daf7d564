//! The engine's exchange methods: hand a dossier to a peer engine
//! ([`Engine::send_dossier_to_peer`]), apply a message a peer sent
//! ([`Engine::receive_exchange`]), report a received dossier's state changes back to its origin
//! (from [`Engine::transition_dossier`], in the same commit), and the delivery bookkeeping the
//! HTTP half calls (`claim_exchange`, `record_delivery`).

use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    DeliveryProgress, Envelope, ExchangeAck, ExchangeEffect, ExchangeSetup, LinkRow, MessageKind,
    OutboxRow, StatusPayload, TransferDocument, TransferPayload, FORMAT,
};
use crate::command::Effect;
use crate::dossier::blobs::sha256_hex;
use crate::dossier::{DocumentInput, DossierEffect, DossierRecord, DossierState, SubmitDossier};
use crate::engine::{CommandOptions, Engine};
use crate::error::EngineError;
use crate::event::Event;
use crate::store::{Store, StoreError};

/// How many times a change is re-committed after losing a race on the instance.
const ATTEMPTS: usize = 3;

/// The largest message body accepted (documents travel inside, as base64).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(what: &str, text: &str) -> Result<Vec<u8>, EngineError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| EngineError::Invalid(format!("{what} is not standard base64: {e}")))
}

impl<S: Store> Engine<S> {
    /// Sets the peer engines this engine exchanges dossiers with.
    pub fn with_exchange(mut self, setup: ExchangeSetup) -> Self {
        self.exchange = Some(Arc::new(setup));
        self
    }

    /// The configured peers, if any.
    pub fn exchange_setup(&self) -> Option<&ExchangeSetup> {
        self.exchange.as_deref()
    }

    fn peer_url(&self, agency: &str) -> Option<String> {
        self.exchange
            .as_ref()
            .and_then(|x| x.peer(agency))
            .map(|p| p.url.clone())
    }

    /// Whether `agency` is served by a peer engine (a transfer to it goes through the outbox).
    pub fn is_peer_agency(&self, agency: &str) -> bool {
        self.peer_url(agency).is_some()
    }

    /// The envelope's bytes and the sending agency's signature over them, as an outbox row.
    async fn seal(
        &self,
        kind: MessageKind,
        from: &str,
        to: &str,
        dossier_code: &str,
        payload: Value,
    ) -> Result<OutboxRow, EngineError> {
        let now = self.clock.now();
        let envelope = Envelope {
            format: FORMAT.to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            kind,
            from: from.to_owned(),
            to: to.to_owned(),
            sent_at: now,
            payload,
        };
        let body = serde_json::to_string(&envelope)
            .map_err(|e| EngineError::Fatal(format!("an exchange message: {e}")))?;
        let signature = self
            .sign_with_agency_key(from, body.as_bytes().to_vec())
            .await?;
        Ok(OutboxRow {
            id: envelope.id,
            peer: to.to_owned(),
            kind: kind.as_str().to_owned(),
            dossier_code: dossier_code.to_owned(),
            body,
            signature: b64(&signature),
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            delivered_at: None,
            last_error: None,
        })
    }

    /// The events and effects that queue `row` (and link it to its dossier), for a commit.
    fn queue(row: OutboxRow, remote_code: Option<String>) -> (Event, Vec<Effect>) {
        let event = Event::ExchangeSent {
            message: row.id.clone(),
            message_kind: row.kind.clone(),
            peer: row.peer.clone(),
        };
        let link = LinkRow {
            message_id: row.id.clone(),
            dossier_code: row.dossier_code.clone(),
            direction: "sent".into(),
            kind: row.kind.clone(),
            peer: row.peer.clone(),
            remote_code,
            at: row.created_at,
        };
        let effects = vec![
            Effect::Exchange(ExchangeEffect::Queued(Box::new(row))),
            Effect::Exchange(ExchangeEffect::Linked(link)),
        ];
        (event, effects)
    }

    /// Hands dossier `code` to the peer engine serving `to_agency`: the dossier becomes
    /// `transferred`, and a signed `dossier.transfer` message (its applicant, form data and the
    /// latest version of every document, bytes included) is queued in the same commit. The
    /// dossier's own agency signs it (its key must be configured in `--signing`).
    pub async fn send_dossier_to_peer(
        &self,
        code: &str,
        to_agency: &str,
        reason: &str,
        options: CommandOptions,
    ) -> Result<OutboxRow, EngineError> {
        if !self.is_peer_agency(to_agency) {
            return Err(EngineError::Invalid(format!(
                "cơ quan '{to_agency}' không phải là hệ thống liên thông đã cấu hình (--peers)"
            )));
        }
        if reason.trim().is_empty() {
            return Err(EngineError::Invalid(
                "chuyển hồ sơ liên thông cần nêu lý do".into(),
            ));
        }
        let print = options.idempotency_key.as_ref().map(|_| {
            json!({"op": "send_dossier_to_peer", "code": code, "to": to_agency, "reason": reason})
        });
        if self.replay_answer(&options, &print).await?.is_some() {
            return self.sent_message(code, to_agency).await;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let row = self.dossier_row(code).await?;
            if !row.state.can_go_to(DossierState::Transferred) {
                return Err(EngineError::Conflict(format!(
                    "hồ sơ {code} đang ở trạng thái '{}' ({}): không thể chuyển liên thông",
                    row.state,
                    row.state.label()
                )));
            }
            let latest =
                crate::dossier::engine::latest_versions(self.store.dossier_documents(code).await?);
            let slots: Vec<(String, String, String, String)> = latest
                .into_iter()
                .map(|d| (d.slot, d.name, d.media_type, d.sha256))
                .collect();
            let message = self
                .transfer_message(&row, &row.agency, to_agency, reason.trim(), slots)
                .await?;
            let sent = message.clone();
            let (sent_event, mut effects) = Self::queue(message, None);
            let events = vec![
                Event::DossierStateChanged {
                    from: row.state.as_str().to_owned(),
                    to: DossierState::Transferred.as_str().to_owned(),
                    reason: Some(format!(
                        "Chuyển liên thông đến {to_agency}: {}",
                        reason.trim()
                    )),
                },
                sent_event,
            ];
            effects.insert(
                0,
                Effect::Dossier(DossierEffect::Updated {
                    instance: row.instance,
                    expected_version: row.version,
                    state: Some(DossierState::Transferred),
                    finished_at: None,
                    due_at: None,
                }),
            );
            match self
                .commit_dossier_events(row.instance, events, effects, &options, &print)
                .await
            {
                Ok(_) => return Ok(sent),
                Err(EngineError::Conflict(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// A signed `dossier.transfer` message of dossier `row` from agency `from` to the peer
    /// agency `to`, carrying these documents (slot, name, media type, SHA-256) with their bytes.
    pub(crate) async fn transfer_message(
        &self,
        row: &DossierRecord,
        from: &str,
        to: &str,
        reason: &str,
        slots: Vec<(String, String, String, String)>,
    ) -> Result<OutboxRow, EngineError> {
        let mut documents = Vec::with_capacity(slots.len());
        for (slot, name, media_type, sha256) in slots {
            let bytes = self.get_blob(&sha256).await?;
            documents.push(TransferDocument {
                slot,
                name,
                media_type,
                sha256,
                content_base64: b64(&bytes),
            });
        }
        let payload = TransferPayload {
            origin_code: row.code.clone(),
            procedure: row.procedure_key.clone(),
            reason: reason.to_owned(),
            applicant: row.applicant.clone(),
            data: row.data.clone(),
            documents,
        };
        let payload = serde_json::to_value(&payload)
            .map_err(|e| EngineError::Fatal(format!("a transfer payload: {e}")))?;
        self.seal(MessageKind::DossierTransfer, from, to, &row.code, payload)
            .await
    }

    /// Queues a transfer to an agency served by a peer engine in the transfer's own commit:
    /// the signed message (the documents the transfer names) and its link. The peer must be
    /// configured with `--peers` (its URL and certificate).
    pub(crate) async fn queue_transfer_to_peer(
        &self,
        row: &DossierRecord,
        from: &str,
        to: &str,
        reason: &str,
        slots: Vec<(String, String, String, String)>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), EngineError> {
        if !self.is_peer_agency(to) {
            return Err(EngineError::Rejected(format!(
                "cơ quan {to} thuộc hệ thống motcua khác nhưng máy chủ này chưa cấu hình hệ \
                 thống đó (--peers: địa chỉ và chứng thư ký số)"
            )));
        }
        let message = self.transfer_message(row, from, to, reason, slots).await?;
        let (_, queued) = Self::queue(message, None);
        effects.extend(queued);
        Ok(())
    }

    /// The last message sent for dossier `code` to `peer`.
    async fn sent_message(&self, code: &str, peer: &str) -> Result<OutboxRow, EngineError> {
        self.store
            .exchange_outbox(code)
            .await?
            .into_iter()
            .rev()
            .find(|m| m.peer == peer)
            .ok_or_else(|| EngineError::NotFound {
                what: "exchange message",
                id: format!("{code} → {peer}"),
            })
    }

    /// What a received dossier's state change sends back to its origin: nothing unless the
    /// dossier came from a peer; else a signed `dossier.status` message queued in the same
    /// commit as the change.
    pub(crate) async fn status_for_origin(
        &self,
        row: &DossierRecord,
        to: DossierState,
        note: Option<&str>,
    ) -> Result<Option<(Event, Vec<Effect>)>, EngineError> {
        if self.exchange.is_none() {
            return Ok(None);
        }
        let Some(origin) = self
            .store
            .exchange_links(&row.code)
            .await?
            .into_iter()
            .find(|l| l.direction == "received" && l.kind == MessageKind::DossierTransfer.as_str())
        else {
            return Ok(None);
        };
        let Some(origin_code) = origin.remote_code.clone() else {
            return Ok(None);
        };
        let payload = serde_json::to_value(StatusPayload {
            origin_code: origin_code.clone(),
            remote_code: row.code.clone(),
            state: to,
            note: note.map(str::to_owned),
        })
        .map_err(|e| EngineError::Fatal(format!("a status payload: {e}")))?;
        let message = self
            .seal(
                MessageKind::DossierStatus,
                &row.agency,
                &origin.peer,
                &row.code,
                payload,
            )
            .await?;
        Ok(Some(Self::queue(message, Some(origin_code))))
    }

    /// Applies a message a peer sent: `body` (the envelope's exact bytes) and `signature` (the
    /// detached CMS over them, DER). The signature must verify against the trust anchors
    /// (`EngineError::Signature` with the report otherwise) and be made by the certificate
    /// configured for the sending peer (`EngineError::Rejected` otherwise: a forged message).
    /// A message applied before answers with its first effect and `duplicate`.
    pub async fn receive_exchange(
        &self,
        body: &[u8],
        signature: &[u8],
    ) -> Result<ExchangeAck, EngineError> {
        let setup = self.exchange.clone().ok_or_else(|| {
            EngineError::Rejected("máy chủ này không cấu hình liên thông (--peers)".into())
        })?;
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(EngineError::Invalid(format!(
                "a message over {MAX_MESSAGE_BYTES} bytes"
            )));
        }
        let envelope: Envelope = serde_json::from_slice(body)
            .map_err(|e| EngineError::Invalid(format!("not an exchange message: {e}")))?;
        if envelope.format != FORMAT {
            return Err(EngineError::Invalid(format!(
                "unknown message format '{}' (expected {FORMAT})",
                envelope.format
            )));
        }
        let peer = setup.peer(&envelope.from).ok_or_else(|| {
            EngineError::Rejected(format!(
                "'{}' is not a configured peer: the message is refused",
                envelope.from
            ))
        })?;
        let signer = self
            .verify_signer(body.to_vec(), signature.to_vec(), None, self.clock.now())
            .await?;
        if !signer.fingerprint.eq_ignore_ascii_case(&peer.fingerprint) {
            return Err(EngineError::Rejected(format!(
                "the message claims to come from {} but is signed by '{}', not by that peer's \
                 certificate: refused",
                envelope.from, signer.subject
            )));
        }
        if let Some(done) = self.store.exchange_link(&envelope.id).await? {
            return Ok(ExchangeAck {
                id: envelope.id,
                dossier_code: done.dossier_code,
                duplicate: true,
            });
        }
        match envelope.kind {
            MessageKind::DossierTransfer => self.receive_transfer(&envelope).await,
            MessageKind::DossierStatus => self.receive_status(&envelope).await,
        }
    }

    /// A dossier handed over by a peer becomes a dossier of the receiving agency, submitted
    /// under the idempotency key `exchange/<id>`; its link to the origin is the commit after.
    async fn receive_transfer(&self, envelope: &Envelope) -> Result<ExchangeAck, EngineError> {
        let payload: TransferPayload = serde_json::from_value(envelope.payload.clone())
            .map_err(|e| EngineError::Invalid(format!("a bad dossier.transfer payload: {e}")))?;
        let mut documents = Vec::with_capacity(payload.documents.len());
        for d in &payload.documents {
            let bytes = unb64(&format!("document '{}'", d.slot), &d.content_base64)?;
            if sha256_hex(&bytes) != d.sha256 {
                return Err(EngineError::Invalid(format!(
                    "document '{}' does not match its SHA-256",
                    d.slot
                )));
            }
            documents.push(DocumentInput::Upload {
                slot: d.slot.clone(),
                name: d.name.clone(),
                media_type: d.media_type.clone(),
                bytes,
            });
        }
        let options = CommandOptions {
            actor: Some(format!("liên thông: {}", envelope.from)),
            idempotency_key: Some(format!("exchange/{}", envelope.id)),
        };
        let view = self
            .submit_dossier(
                SubmitDossier {
                    procedure_key: payload.procedure.clone(),
                    version: None,
                    agency_code: envelope.to.clone(),
                    applicant: payload.applicant.clone(),
                    data: payload.data.clone(),
                    documents,
                    due_at: None,
                    certify: Vec::new(),
                },
                options.clone(),
            )
            .await?;
        let code = view.dossier.code.clone();
        let event = Event::ExchangeReceived {
            message: envelope.id.clone(),
            message_kind: envelope.kind.as_str().to_owned(),
            peer: envelope.from.clone(),
            remote_code: Some(payload.origin_code.clone()),
        };
        let link = LinkRow {
            message_id: envelope.id.clone(),
            dossier_code: code.clone(),
            direction: "received".into(),
            kind: envelope.kind.as_str().to_owned(),
            peer: envelope.from.clone(),
            remote_code: Some(payload.origin_code),
            at: self.clock.now(),
        };
        self.link_received(
            view.dossier.instance,
            vec![event],
            vec![Effect::Exchange(ExchangeEffect::Linked(link))],
            &envelope.id,
            code,
        )
        .await
    }

    /// A received dossier's state at the peer: recorded on the origin dossier, which follows
    /// it where the lifecycle allows (done, refused, back to processing).
    async fn receive_status(&self, envelope: &Envelope) -> Result<ExchangeAck, EngineError> {
        let payload: StatusPayload = serde_json::from_value(envelope.payload.clone())
            .map_err(|e| EngineError::Invalid(format!("a bad dossier.status payload: {e}")))?;
        let sent = self
            .store
            .exchange_links(&payload.origin_code)
            .await?
            .into_iter()
            .any(|l| l.direction == "sent" && l.peer == envelope.from);
        if !sent {
            return Err(EngineError::NotFound {
                what: "dossier transferred to this peer",
                id: payload.origin_code,
            });
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let row = self.dossier_row(&payload.origin_code).await?;
            let mut events = vec![Event::ExchangeReceived {
                message: envelope.id.clone(),
                message_kind: envelope.kind.as_str().to_owned(),
                peer: envelope.from.clone(),
                remote_code: Some(payload.remote_code.clone()),
            }];
            let mut effects = vec![Effect::Exchange(ExchangeEffect::Linked(LinkRow {
                message_id: envelope.id.clone(),
                dossier_code: row.code.clone(),
                direction: "received".into(),
                kind: envelope.kind.as_str().to_owned(),
                peer: envelope.from.clone(),
                remote_code: Some(payload.remote_code.clone()),
                at: self.clock.now(),
            }))];
            let follow = match payload.state {
                DossierState::Done | DossierState::ResultReturned => Some(DossierState::Done),
                DossierState::Refused => Some(DossierState::Refused),
                _ => None,
            };
            if let Some(to) = follow.filter(|to| row.state.can_go_to(*to)) {
                let now = self.clock.now();
                events.push(Event::DossierStateChanged {
                    from: row.state.as_str().to_owned(),
                    to: to.as_str().to_owned(),
                    reason: Some(match &payload.note {
                        Some(note) => format!(
                            "{} đã xử lý hồ sơ {}: {note}",
                            envelope.from, payload.remote_code
                        ),
                        None => format!("{} đã xử lý hồ sơ {}", envelope.from, payload.remote_code),
                    }),
                });
                effects.push(Effect::Dossier(DossierEffect::Updated {
                    instance: row.instance,
                    expected_version: row.version,
                    state: Some(to),
                    finished_at: (to.is_finished() && row.finished_at.is_none()).then_some(now),
                    due_at: None,
                }));
            }
            match self
                .link_received(
                    row.instance,
                    events,
                    effects,
                    &envelope.id,
                    row.code.clone(),
                )
                .await
            {
                Err(EngineError::Conflict(_)) if attempt < ATTEMPTS => continue,
                other => return other,
            }
        }
    }

    /// Commits a received message's events with its link; a concurrent delivery of the same
    /// message that committed first makes this one a duplicate.
    async fn link_received(
        &self,
        instance: crate::ids::InstanceId,
        events: Vec<Event>,
        effects: Vec<Effect>,
        message: &str,
        code: String,
    ) -> Result<ExchangeAck, EngineError> {
        match self
            .commit_dossier_events(instance, events, effects, &CommandOptions::default(), &None)
            .await
        {
            Ok(_) => Ok(ExchangeAck {
                id: message.to_owned(),
                dossier_code: code,
                duplicate: false,
            }),
            Err(EngineError::Store(StoreError::Duplicate(_))) | Err(EngineError::Conflict(_))
                if self.store.exchange_link(message).await?.is_some() =>
            {
                Ok(ExchangeAck {
                    id: message.to_owned(),
                    dossier_code: code,
                    duplicate: true,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The messages sent and received for a dossier, and the outbox rows of those sent.
    pub async fn dossier_exchange(
        &self,
        code: &str,
    ) -> Result<(Vec<LinkRow>, Vec<OutboxRow>), EngineError> {
        self.dossier_row(code).await?;
        Ok((
            self.store.exchange_links(code).await?,
            self.store.exchange_outbox(code).await?,
        ))
    }

    /// Leases up to `max` undelivered messages that are due, for `worker`, with their peer's
    /// URL. Rows whose peer is no longer configured are skipped (left queued).
    pub async fn claim_exchange(
        &self,
        worker: &str,
        max: u32,
        lease: chrono::Duration,
    ) -> Result<Vec<(OutboxRow, String)>, EngineError> {
        if self.exchange.is_none() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let rows = self
            .store
            .claim_due_exchange(worker, max, now, now + lease)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| self.peer_url(&r.peer).map(|url| (r, url)))
            .collect())
    }

    /// Records a delivery attempt of a leased message: acknowledged, or failed with `error`
    /// (retried after the engine's back-off, the same as webhooks'). False when `worker` no
    /// longer holds the lease.
    pub async fn record_delivery(
        &self,
        row: &OutboxRow,
        worker: &str,
        error: Option<String>,
    ) -> Result<bool, EngineError> {
        let now: DateTime<Utc> = self.clock.now();
        let progress = match error {
            None => DeliveryProgress {
                delivered_at: Some(now),
                attempts: row.attempts,
                next_attempt_at: row.next_attempt_at,
                last_error: None,
            },
            Some(error) => {
                let attempts = row.attempts.saturating_add(1);
                let wait = self.webhook_retry.delay(attempts);
                let wait = chrono::Duration::from_std(wait)
                    .unwrap_or_else(|_| chrono::Duration::seconds(300));
                DeliveryProgress {
                    delivered_at: None,
                    attempts,
                    next_attempt_at: now + wait,
                    last_error: Some(error),
                }
            }
        };
        Ok(self
            .store
            .record_exchange(&row.id, worker, &progress)
            .await?)
    }
}
