//! Outbound webhooks: subscriptions and their delivery state. The engine keeps the state and
//! the clock; it knows nothing of HTTP: the delivery loop that posts events lives in the API
//! crate (`motcua_api::webhook_delivery`) and drives the methods here.
//!
//! Design:
//! - **The outbox is the journal.** Every change writes its journal events in the command's own
//!   transaction, and the feed numbers them in commit order without gaps for readers
//!   ([`crate::store::Store::feed`]). So nothing can change without its event being there to
//!   deliver, and no second write (or second table to keep in step) is needed.
//! - **One cursor per subscription**: the last feed number its receiver acknowledged with a
//!   2xx. Events are posted one by one in feed order, and the cursor moves only after a 2xx, so
//!   delivery is at least once and in order (globally, hence per instance). A receiver
//!   dedupes by the `X-Motcua-Event-Id` header (the feed number).
//! - **Back-off per subscription**: a failure bumps `attempts` and moves `next_attempt_at` by
//!   `base · 2^(attempts-1)`, at most `max`; the subscription keeps retrying at `max` forever
//!   (events are never dropped) and shows its failing state (`attempts`, `last_error`) when
//!   listed. A failing receiver holds back only its own subscription.
//! - **Leases**: a delivery loop leases a due subscription for [`WEBHOOK_LEASE`]; two loops
//!   (two `motcua serve` processes) never post one subscription's events concurrently, and a
//!   crashed loop's lease runs out. A progress write from a loop that lost its lease is refused.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::store::{EventFilter, FeedEvent, Store, WebhookProgress, WebhookRow};

/// How long a delivery loop holds a subscription it leased.
pub const WEBHOOK_LEASE: Duration = Duration::from_secs(60);

/// The retry back-off of failing webhook deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookRetry {
    /// The wait after the first failure; it doubles with each further failure.
    pub base: Duration,
    /// The longest wait; a receiver that keeps failing is retried at this interval forever.
    pub max: Duration,
}

impl Default for WebhookRetry {
    fn default() -> Self {
        WebhookRetry {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl WebhookRetry {
    /// The wait after `attempts` (≥ 1) failures in a row.
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(20);
        self.base
            .saturating_mul(factor)
            .min(self.max.max(self.base))
    }
}

/// A new subscription.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    /// Where to post (`http://host[:port]/path`).
    pub url: String,
    /// The HMAC-SHA256 key (at least 16 characters).
    pub secret: String,
    /// Only these event kinds (`None`: all).
    pub kinds: Option<Vec<String>>,
    /// Only events of this agency's instances.
    pub agency: Option<String>,
    /// Deliver events numbered above this; `None`: only events after now.
    pub after: Option<i64>,
    /// The request's idempotency key: the same key gives back the same subscription.
    pub idempotency_key: Option<String>,
}

/// The id of the subscription made with an idempotency key (a UUID v8 of its SHA-256).
pub fn subscription_id_for_key(key: &str) -> String {
    let digest = Sha256::digest(format!("webhook/{key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes).to_string()
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl WebhookRow {
    /// The feed filter of this subscription.
    pub fn filter(&self) -> EventFilter {
        EventFilter {
            agency: self.agency.clone(),
            definition_key: None,
            kinds: self.kinds.clone(),
        }
    }
}

impl<S: Store> Engine<S> {
    /// Sets the back-off of failing webhook deliveries.
    pub fn with_webhook_retry(mut self, retry: WebhookRetry) -> Self {
        self.webhook_retry = retry;
        self
    }

    /// The back-off of failing webhook deliveries.
    pub fn webhook_retry(&self) -> WebhookRetry {
        self.webhook_retry
    }

    /// Adds a webhook subscription.
    pub async fn subscribe_webhook(&self, new: NewWebhook) -> Result<WebhookRow, EngineError> {
        let url = new.url.trim();
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(EngineError::Invalid(
                "'url' must be an http:// URL (https is not supported yet: put a TLS proxy in \
                 front of the receiver)"
                    .into(),
            ));
        };
        if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
            return Err(EngineError::Invalid("'url' names no host".into()));
        }
        if new.secret.chars().count() < 16 {
            return Err(EngineError::Invalid(
                "'secret' must be at least 16 characters".into(),
            ));
        }
        if new.after.is_some_and(|a| a < 0) {
            return Err(EngineError::Invalid(
                "'after' must be 0 or a feed event number".into(),
            ));
        }
        let now = self.clock.now();
        let mut row = WebhookRow {
            id: match &new.idempotency_key {
                // The id is derived from the key, so a retry finds the first subscription.
                Some(key) => subscription_id_for_key(key),
                None => Uuid::now_v7().to_string(),
            },
            url: url.to_owned(),
            secret: new.secret,
            kinds: new.kinds,
            agency: new.agency,
            created_at: now,
            cursor: new.after.unwrap_or(-1),
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
        };
        self.store.put_webhook(&row).await?;
        match self
            .store
            .webhooks()
            .await?
            .into_iter()
            .find(|w| w.id == row.id)
        {
            Some(stored) => row = stored,
            None => {
                return Err(EngineError::Conflict(
                    "the subscription made with this idempotency key was deleted".into(),
                ))
            }
        }
        Ok(row)
    }

    /// The active subscriptions with their delivery state.
    pub async fn webhooks(&self) -> Result<Vec<WebhookRow>, EngineError> {
        Ok(self.store.webhooks().await?)
    }

    /// Ends a subscription; false when there was none.
    pub async fn unsubscribe_webhook(&self, id: &str) -> Result<bool, EngineError> {
        Ok(self.store.remove_webhook(id).await?)
    }

    /// Leases up to `max` subscriptions due now (engine clock) for [`WEBHOOK_LEASE`].
    pub async fn claim_due_webhooks(
        &self,
        worker: &str,
        max: u32,
    ) -> Result<Vec<WebhookRow>, EngineError> {
        let now = self.clock.now();
        Ok(self
            .store
            .claim_due_webhooks(worker, max, now, now + to_chrono(WEBHOOK_LEASE))
            .await?)
    }

    /// The next events for a subscription, after its cursor, oldest first.
    pub async fn webhook_events(
        &self,
        sub: &WebhookRow,
        limit: u32,
    ) -> Result<Vec<FeedEvent>, EngineError> {
        self.events_after(sub.cursor.max(0), limit, &sub.filter())
            .await
    }

    /// The receiver acknowledged event `seq`: moves the cursor, clears the failing state and
    /// keeps the lease. False when `worker` lost the lease (stop delivering).
    pub async fn webhook_delivered(
        &self,
        sub: &mut WebhookRow,
        worker: &str,
        seq: i64,
    ) -> Result<bool, EngineError> {
        let progress = WebhookProgress {
            cursor: seq,
            attempts: 0,
            next_attempt_at: self.clock.now(),
            last_error: None,
            release: false,
        };
        let ok = self
            .store
            .record_webhook(&sub.id, worker, &progress)
            .await?;
        if ok {
            sub.cursor = seq;
            sub.attempts = 0;
            sub.last_error = None;
        }
        Ok(ok)
    }

    /// A delivery failed: one more attempt counted, the next one after the back-off (engine
    /// clock), and the lease given back. Returns when the next attempt is due.
    pub async fn webhook_failed(
        &self,
        sub: &WebhookRow,
        worker: &str,
        error: &str,
    ) -> Result<DateTime<Utc>, EngineError> {
        let attempts = sub.attempts.saturating_add(1);
        let next = self.clock.now() + to_chrono(self.webhook_retry.delay(attempts));
        let error: String = error.chars().take(500).collect();
        let progress = WebhookProgress {
            cursor: sub.cursor,
            attempts,
            next_attempt_at: next,
            last_error: Some(error),
            release: true,
        };
        self.store
            .record_webhook(&sub.id, worker, &progress)
            .await?;
        Ok(next)
    }

    /// Gives the lease back with nothing left to send: due again at once (the next pass looks
    /// for new events).
    pub async fn webhook_release(&self, sub: &WebhookRow, worker: &str) -> Result<(), EngineError> {
        let progress = WebhookProgress {
            cursor: sub.cursor,
            attempts: sub.attempts,
            next_attempt_at: self.clock.now(),
            last_error: sub.last_error.clone(),
            release: true,
        };
        self.store
            .record_webhook(&sub.id, worker, &progress)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::store::sqlite::{SqliteConfig, SqliteStore};

    #[test]
    fn back_off_doubles_up_to_the_max() {
        let retry = WebhookRetry {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(retry.delay(1), Duration::from_millis(100));
        assert_eq!(retry.delay(2), Duration::from_millis(200));
        assert_eq!(retry.delay(4), Duration::from_millis(800));
        assert_eq!(retry.delay(5), Duration::from_secs(1));
        assert_eq!(retry.delay(500), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_failing_subscription_waits_for_its_back_off_on_the_engine_clock() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = SqliteStore::open(&SqliteConfig::new(&url)).await.unwrap();
        let clock = Arc::new(ManualClock::new(
            "2026-12-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        ));
        let retry = WebhookRetry {
            base: Duration::from_secs(10),
            max: Duration::from_secs(60),
        };
        let engine = Engine::new(store, clock.clone()).with_webhook_retry(retry);

        let bad = engine
            .subscribe_webhook(NewWebhook {
                url: "https://example.org/hook".into(),
                secret: "0123456789abcdef".into(),
                ..NewWebhook::default()
            })
            .await;
        assert!(matches!(bad, Err(EngineError::Invalid(_))));

        let sub = engine
            .subscribe_webhook(NewWebhook {
                url: "http://127.0.0.1:9/hook".into(),
                secret: "0123456789abcdef".into(),
                kinds: Some(vec!["task_created".into()]),
                ..NewWebhook::default()
            })
            .await
            .unwrap();
        assert_eq!(sub.cursor, 0);
        assert_eq!(sub.kinds.as_deref(), Some(&["task_created".to_owned()][..]));

        let mut leased = engine.claim_due_webhooks("w1", 10).await.unwrap();
        assert_eq!(leased.len(), 1);
        // Leased: another loop gets nothing.
        assert!(engine
            .claim_due_webhooks("w2", 10)
            .await
            .unwrap()
            .is_empty());
        let mut sub = leased.pop().unwrap();
        assert!(engine.webhook_delivered(&mut sub, "w1", 5).await.unwrap());
        assert!(!engine.webhook_delivered(&mut sub, "w2", 6).await.unwrap());
        let next = engine.webhook_failed(&sub, "w1", "HTTP 500").await.unwrap();
        assert_eq!(next, clock.now() + chrono::Duration::seconds(10));

        assert!(engine
            .claim_due_webhooks("w1", 10)
            .await
            .unwrap()
            .is_empty());
        clock.advance(chrono::Duration::seconds(10));
        let sub = engine.claim_due_webhooks("w1", 10).await.unwrap().remove(0);
        assert_eq!((sub.cursor, sub.attempts), (5, 1));
        assert_eq!(sub.last_error.as_deref(), Some("HTTP 500"));
        let next = engine.webhook_failed(&sub, "w1", "HTTP 500").await.unwrap();
        assert_eq!(next, clock.now() + chrono::Duration::seconds(20));
        let listed = engine.webhooks().await.unwrap();
        assert_eq!(listed[0].attempts, 2);

        assert!(engine.unsubscribe_webhook(&sub.id).await.unwrap());
        assert!(!engine.unsubscribe_webhook(&sub.id).await.unwrap());
        assert!(engine.webhooks().await.unwrap().is_empty());
    }
}
