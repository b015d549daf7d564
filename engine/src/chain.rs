//! The journal's hash chain: every journal row carries the SHA-256 of its content and of the row
//! before it, so a row edited, removed or inserted later in the database breaks the chain at a
//! row an auditor can name.
//!
//! A row's hash is SHA-256 over the compact JSON array
//!
//! ```text
//! ["motcua-journal/1", <previous row's hash or null>, <instance id>, <seq>, <kind>,
//!  <actor or null>, <at: RFC 3339, UTC, microseconds>, <data: the stored event JSON text>]
//! ```
//!
//! written as lowercase hex. The array is unambiguous (every field is a JSON value), holds the
//! stored text of the event exactly as the row holds it, and any language's JSON library
//! reproduces it, so an auditor can recompute the chain without motcua. Times are hashed with
//! microseconds because that is what PostgreSQL keeps.
//!
//! The instance's state carries the head (the last row's hash); the engine seals a command's
//! events before the store writes them, in the same transaction as the state. Signed
//! checkpoints over the heads (see `crate::checkpoint`) make a rewrite of the whole chain
//! detectable too.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::dossier::blobs::sha256_hex;
use crate::event::Event;
use crate::state::InstanceState;

/// The format tag hashed into every row.
pub const FORMAT: &str = "motcua-journal/1";

/// A journal event ready for the store: its stored text and its chain hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEvent {
    /// The event as stored (`journal.data`).
    pub data: String,
    /// The row's hash (`journal.hash`).
    pub hash: String,
}

/// One journal row as the chain sees it.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The instance.
    pub instance: &'a str,
    /// Sequence number within the instance, from 1.
    pub seq: i64,
    /// The event kind.
    pub kind: &'a str,
    /// Who.
    pub actor: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
    /// The stored event text.
    pub data: &'a str,
}

/// The time as hashed: RFC 3339 in UTC with microseconds.
pub fn hashed_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The hash of `row` following `previous`.
pub fn link(previous: Option<&str>, row: Row<'_>) -> String {
    let envelope = json!([
        FORMAT,
        previous,
        row.instance,
        row.seq,
        row.kind,
        row.actor,
        hashed_time(row.at),
        row.data,
    ]);
    sha256_hex(envelope.to_string().as_bytes())
}

/// Seals a command's new events: serialises each, chains it to the state's head, and moves the
/// head to the last one. `state.journal_seq` is already the last new event's number.
pub fn seal(
    state: &mut InstanceState,
    events: &[Event],
    actor: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Vec<SealedEvent>, serde_json::Error> {
    let instance = state.id.to_string();
    let first_seq = state.journal_seq - events.len() as i64 + 1;
    let mut head = state.journal_head.take();
    let mut sealed = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let data = serde_json::to_string(event)?;
        let hash = link(
            head.as_deref(),
            Row {
                instance: &instance,
                seq: first_seq + i as i64,
                kind: event.kind(),
                actor,
                at,
                data: &data,
            },
        );
        head = Some(hash.clone());
        sealed.push(SealedEvent { data, hash });
    }
    state.journal_head = head;
    Ok(sealed)
}

/// Where a chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// A row's sequence number is not the one after the previous row's.
    #[error("journal row {seq} ({kind}) follows row {previous}: a row is missing or out of place")]
    Gap {
        /// The row found.
        seq: i64,
        /// Its kind.
        kind: String,
        /// The row before it.
        previous: i64,
    },
    /// A row's stored hash is not the hash of its content after the previous row.
    #[error("journal row {seq} ({kind}) does not match its hash: the row was edited, or a row before it was")]
    Hash {
        /// The row.
        seq: i64,
        /// Its kind.
        kind: String,
    },
    /// A row carries no hash (written before the chain existed, or the hash was removed).
    #[error("journal row {seq} ({kind}) carries no hash")]
    Unsealed {
        /// The row.
        seq: i64,
        /// Its kind.
        kind: String,
    },
}

/// Checks a whole journal (rows in `seq` order from 1, each with its stored hash) and returns
/// the head. The first row that does not hold is named.
pub fn verify<'a>(
    rows: impl IntoIterator<Item = (Row<'a>, Option<&'a str>)>,
) -> Result<Option<String>, ChainBreak> {
    let mut head: Option<String> = None;
    let mut previous = 0;
    for (row, stored) in rows {
        if row.seq != previous + 1 {
            return Err(ChainBreak::Gap {
                seq: row.seq,
                kind: row.kind.to_owned(),
                previous,
            });
        }
        let Some(stored) = stored else {
            return Err(ChainBreak::Unsealed {
                seq: row.seq,
                kind: row.kind.to_owned(),
            });
        };
        let computed = link(head.as_deref(), row);
        if computed != stored {
            return Err(ChainBreak::Hash {
                seq: row.seq,
                kind: row.kind.to_owned(),
            });
        }
        head = Some(computed);
        previous = row.seq;
    }
    Ok(head)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use sha2::{Digest, Sha256};

    use super::*;

    fn row<'a>(seq: i64, data: &'a str) -> Row<'a> {
        Row {
            instance: "0193e0c0-0000-7000-8000-000000000001",
            seq,
            kind: "instance_started",
            actor: Some("cán bộ"),
            at: Utc
                .with_ymd_and_hms(2026, 11, 25, 3, 0, 0)
                .single()
                .unwrap_or_default()
                + chrono::Duration::nanoseconds(123_456_789),
            data,
        }
    }

    #[test]
    fn the_hash_is_sha256_of_the_documented_envelope() {
        let r = row(1, r#"{"a":1}"#);
        let envelope = r#"["motcua-journal/1",null,"0193e0c0-0000-7000-8000-000000000001",1,"instance_started","cán bộ","2026-11-25T03:00:00.123456Z","{\"a\":1}"]"#;
        assert_eq!(link(None, r), hex(&Sha256::digest(envelope.as_bytes())));
    }

    #[test]
    fn nanoseconds_beyond_microseconds_do_not_change_the_hash() {
        let a = row(1, "{}");
        let mut b = a;
        b.at += chrono::Duration::nanoseconds(200);
        assert_eq!(link(None, a), link(None, b));
    }

    #[test]
    fn an_edited_removed_or_unsealed_row_is_named() {
        let data = ["{}", r#"{"x":1}"#, r#"{"y":2}"#];
        let mut hashes = Vec::new();
        let mut head: Option<String> = None;
        for (i, d) in data.iter().enumerate() {
            let h = link(head.as_deref(), row(i as i64 + 1, d));
            hashes.push(h.clone());
            head = Some(h);
        }
        let rows = |data: &[&'static str; 3]| {
            data.iter()
                .enumerate()
                .map(|(i, d)| (row(i as i64 + 1, d), Some(hashes[i].as_str())))
                .collect::<Vec<_>>()
        };
        assert_eq!(verify(rows(&data)), Ok(head.clone()));

        let edited = ["{}", r#"{"x":2}"#, r#"{"y":2}"#];
        assert!(matches!(
            verify(rows(&edited)),
            Err(ChainBreak::Hash { seq: 2, .. })
        ));

        let mut removed = rows(&data);
        removed.remove(1);
        assert!(matches!(
            verify(removed),
            Err(ChainBreak::Gap {
                seq: 3,
                previous: 1,
                ..
            })
        ));

        let mut unsealed = rows(&data);
        unsealed[0].1 = None;
        assert!(matches!(
            verify(unsealed),
            Err(ChainBreak::Unsealed { seq: 1, .. })
        ));
    }
}
