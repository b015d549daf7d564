//! Outbound webhook delivery: the HTTP half of `motcua_engine::webhooks` (the engine keeps
//! subscriptions, cursors, leases, back-off and the clock, and knows no HTTP).
//!
//! Each executor pass ([`deliver`]) leases the subscriptions that are due and, for each of them
//! at the same time, POSTs the feed events after its cursor one by one, in feed order:
//! - body: the event's JSON, exactly as an item of `GET /events`;
//! - `X-Motcua-Signature: sha256=<hex HMAC-SHA256 of the body bytes, keyed with the secret>`;
//! - `X-Motcua-Event-Id: <feed number>` (receivers dedupe on it: delivery is at least once),
//!   `X-Motcua-Webhook-Id: <subscription id>`.
//!
//! The national portal feed (`motcua serve --portal-sync-url`, see `motcua_engine::portal`) is
//! a subscription like the others, recognised by its id (derived from its URL): its bodies are
//! the dossier's portal record (`MaHoSo`, `TrangThaiHoSo`, `QuaTrinhXuLy`, ...) as of delivery,
//! one post per dossier event, with the same headers, order, retries and back-off.
//!
//! A 2xx moves the cursor; anything else (another status, a refused connection, a timeout of
//! [`REQUEST_TIMEOUT`]) stops that subscription for this pass and schedules its next attempt
//! after the engine's back-off. One subscription's failures never hold back another's.
//!
//! URLs must be `http://`: reqwest is built without TLS (no native TLS library, no certificate
//! store to configure, nothing more to build offline); put a TLS-terminating proxy in front of
//! an `https` receiver, or add reqwest's `rustls-tls` feature when one is needed.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::Result;
use hmac::{Hmac, Mac};
use motcua_engine::store::any::AnyStore;
use motcua_engine::{Engine, WebhookRow};
use sha2::Sha256;

use crate::http::events::feed_event_json;

/// How long one POST may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How many subscriptions one pass leases.
const MAX_SUBSCRIPTIONS: u32 = 100;
/// How many events one subscription reads from the feed at a time.
const PAGE: u32 = 100;
/// How long one pass keeps posting to one subscription (well inside the engine's lease; short,
/// because the pass shares the executor loop with timers: the rest waits for the next pass).
const PASS_BUDGET: Duration = Duration::from_secs(5);

/// The signature header's value for `body`: `sha256=<hex HMAC-SHA256>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The HTTP client outbound deliveries share (webhooks, exchange with peer engines).
pub(crate) fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("motcua/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    })
}

/// One delivery pass: every due subscription, concurrently. Returns how many events receivers
/// acknowledged. A receiver's failure is recorded on its subscription, not returned.
pub async fn deliver(engine: &Engine<AnyStore>, worker: &str) -> Result<usize> {
    let due = engine.claim_due_webhooks(worker, MAX_SUBSCRIPTIONS).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let results =
        futures_util::future::join_all(due.into_iter().map(|sub| deliver_one(engine, worker, sub)))
            .await;
    let mut delivered = 0;
    for result in results {
        match result {
            Ok(n) => delivered += n,
            Err(e) => tracing::error!(error = format!("{e:#}"), "webhook delivery failed"),
        }
    }
    Ok(delivered)
}

/// Posts one leased subscription's events until none are left, one fails, the lease is lost or
/// the pass's budget is spent.
async fn deliver_one(
    engine: &Engine<AnyStore>,
    worker: &str,
    mut sub: WebhookRow,
) -> Result<usize> {
    let started = Instant::now();
    let mut delivered = 0;
    loop {
        let events = engine.webhook_events(&sub, PAGE).await?;
        if events.is_empty() || started.elapsed() > PASS_BUDGET {
            engine.webhook_release(&sub, worker).await?;
            return Ok(delivered);
        }
        let portal = sub.id == motcua_engine::portal::portal_subscription_id(&sub.url);
        for event in &events {
            let body = if portal {
                // The portal feed: the dossier's mapping instead of the raw event; an event of
                // an instance without a dossier is acknowledged without a post.
                match engine.portal_sync_by_instance(event.instance).await {
                    Ok(record) => serde_json::to_vec(&record)?,
                    Err(motcua_engine::EngineError::NotFound { .. }) => {
                        if !engine
                            .webhook_delivered(&mut sub, worker, event.seq)
                            .await?
                        {
                            return Ok(delivered);
                        }
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            } else {
                serde_json::to_vec(&feed_event_json(event))?
            };
            match post(&sub, event.seq, body).await {
                Ok(()) => {
                    if !engine
                        .webhook_delivered(&mut sub, worker, event.seq)
                        .await?
                    {
                        // Another loop took the lease over (ours ran out): it carries on.
                        return Ok(delivered);
                    }
                    delivered += 1;
                }
                Err(error) => {
                    let next = engine.webhook_failed(&sub, worker, &error).await?;
                    tracing::warn!(
                        webhook = %sub.id,
                        url = %sub.url,
                        seq = event.seq,
                        attempts = sub.attempts + 1,
                        next_attempt_at = %next,
                        error = %error,
                        "webhook delivery failed; will retry"
                    );
                    return Ok(delivered);
                }
            }
        }
    }
}

/// One POST; `Err` with a short reason unless the receiver answered 2xx.
async fn post(sub: &WebhookRow, seq: i64, body: Vec<u8>) -> Result<(), String> {
    let sig = signature(sub.secret.as_bytes(), &body);
    let response = client()
        .post(&sub.url)
        .header("content-type", "application/json")
        .header("x-motcua-signature", sig)
        .header("x-motcua-event-id", seq.to_string())
        .header("x-motcua-webhook-id", &sub.id)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("receiver answered HTTP {}", status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signature_is_the_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
