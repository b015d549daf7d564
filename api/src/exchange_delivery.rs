//! Delivery of exchange messages to peer engines: the HTTP half of `motcua_engine::exchange`
//! (the engine keeps the outbox, leases, attempts, back-off and the clock, and knows no HTTP).
//!
//! Each executor pass ([`deliver`]) leases the due messages and POSTs each one's exact bytes to
//! `<peer url>/exchange/messages` with `Content-Type: application/json` and
//! `X-Motcua-Signature: <base64 of the sending agency's detached CMS over the body>`. A 2xx
//! (the peer applied it, or had applied it before) marks it delivered; anything else (another
//! status, a refused connection, a timeout) is recorded and retried after the engine's
//! back-off. Messages go out oldest first; each is applied on its own by the receiver (a transfer
//! and the status of the same dossier travel in opposite directions), so a failed one does not
//! hold back the others.

use std::time::Duration;

use anyhow::Result;
use motcua_engine::store::any::AnyStore;
use motcua_engine::Engine;

use crate::webhook_delivery::client;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-motcua-signature";
/// The receiving route, under the peer's base URL.
pub const RECEIVE_PATH: &str = "/exchange/messages";
/// How many messages one pass leases.
const MAX_MESSAGES: u32 = 50;
/// How long a lease lasts (well above one request's timeout).
const LEASE_SECONDS: i64 = 60;

/// One delivery pass; returns how many messages peers acknowledged.
pub async fn deliver(engine: &Engine<AnyStore>, worker: &str) -> Result<usize> {
    let due = engine
        .claim_exchange(
            worker,
            MAX_MESSAGES,
            chrono::Duration::seconds(LEASE_SECONDS),
        )
        .await?;
    let mut delivered = 0;
    for (message, url) in due {
        let error = post(&url, &message.body, &message.signature).await.err();
        if error.is_some() {
            tracing::warn!(
                message = message.id,
                peer = message.peer,
                error = error.as_deref().unwrap_or_default(),
                "exchange message not delivered; it will be retried"
            );
        } else {
            delivered += 1;
        }
        engine.record_delivery(&message, worker, error).await?;
    }
    Ok(delivered)
}

async fn post(url: &str, body: &str, signature: &str) -> Result<(), String> {
    let response = client()
        .post(format!("{url}{RECEIVE_PATH}"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .timeout(Duration::from_secs(30))
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| format!("POST {url}{RECEIVE_PATH}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    Err(format!(
        "POST {url}{RECEIVE_PATH}: {status}: {}",
        text.chars().take(300).collect::<String>()
    ))
}
