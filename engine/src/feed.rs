//! What the engine tells consumers: the global event feed (portal, Hue-S, IOC), statistics per
//! agency and procedure, and a few process counters for `/metrics`.
//!
//! The feed's numbering lives in the store (each backend explains how its numbers reach
//! readers in commit order, without gaps); this module only validates requests and sums up.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::store::{EventFilter, FeedEvent, StatsFilter, StatsRow, Store};

/// The largest page of feed events.
pub const FEED_LIMIT_MAX: u32 = 1_000;

/// Statistics for one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Start of the period (inclusive).
    pub from: DateTime<Utc>,
    /// End of the period (exclusive).
    pub to: DateTime<Utc>,
    /// When "now" was for the active and overdue counts.
    pub at: DateTime<Utc>,
    /// One row per agency and procedure, sorted.
    pub rows: Vec<StatsRow>,
    /// One row per agency (`definition_key` is `None`).
    pub agencies: Vec<StatsRow>,
    /// Everything in the filter.
    pub total: StatsRow,
}

/// Counters of what this engine process did since it started (not durable; for `/metrics`).
#[derive(Debug, Default)]
pub struct Counters {
    commands: AtomicU64,
    conflicts: AtomicU64,
    jobs_fired: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Commands committed (starts included).
    pub commands: u64,
    /// Commands refused for a concurrent change.
    pub conflicts: u64,
    /// Jobs the executor ran (timers fired, timer starts, in-process handlers).
    pub jobs_fired: u64,
}

impl Counters {
    pub(crate) fn command(&self) {
        self.commands.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn conflict(&self) {
        self.conflicts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn job_fired(&self) {
        self.jobs_fired.fetch_add(1, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            commands: self.commands.load(Ordering::Relaxed),
            conflicts: self.conflicts.load(Ordering::Relaxed),
            jobs_fired: self.jobs_fired.load(Ordering::Relaxed),
        }
    }
}

impl<S: Store> Engine<S> {
    /// Up to `limit` (1..=[`FEED_LIMIT_MAX`]) feed events numbered above `after`, oldest first.
    /// Paging with the last number seen never misses nor repeats an event.
    pub async fn events_after(
        &self,
        after: i64,
        limit: u32,
        filter: &EventFilter,
    ) -> Result<Vec<FeedEvent>, EngineError> {
        if after < 0 {
            return Err(EngineError::Invalid(
                "'after' must be 0 or a feed event number".into(),
            ));
        }
        let limit = limit.clamp(1, FEED_LIMIT_MAX);
        Ok(self.store.feed(after, limit, filter).await?)
    }

    /// Statistics for the period `[from, to)`, per agency and procedure, with the engine
    /// clock's "now" for active and overdue instances.
    pub async fn statistics(&self, filter: &StatsFilter) -> Result<Stats, EngineError> {
        if filter.to <= filter.from {
            return Err(EngineError::Invalid(
                "the period is empty: 'to' must be after 'from'".into(),
            ));
        }
        let at = self.clock.now();
        let rows = self.store.statistics(filter, at).await?;
        let mut agencies: Vec<StatsRow> = Vec::new();
        let mut total = StatsRow::default();
        for row in &rows {
            total.add(row);
            match agencies.iter_mut().find(|a| a.agency == row.agency) {
                Some(a) => a.add(row),
                None => {
                    let mut a = StatsRow {
                        agency: row.agency.clone(),
                        ..StatsRow::default()
                    };
                    a.add(row);
                    agencies.push(a);
                }
            }
        }
        Ok(Stats {
            from: filter.from,
            to: filter.to,
            at,
            rows,
            agencies,
            total,
        })
    }

    /// What this engine process did since it started.
    pub fn counters(&self) -> CounterSnapshot {
        self.counters.snapshot()
    }
}
