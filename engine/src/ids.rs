//! Newtype identifiers: never a bare `Uuid` or `String` across crate boundaries.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID.
            pub fn from_uuid(id: Uuid) -> Self {
                $name(id)
            }
            /// The UUID inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Uuid::parse_str(s.trim()).map($name).map_err(|_| IdError {
                    what: $prefix,
                    text: s.to_owned(),
                })
            }
        }
    };
}

/// Text that is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a valid {what} id (expected a UUID such as 0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d)")]
pub struct IdError {
    what: &'static str,
    text: String,
}

uuid_id!(
    /// A process instance (for a procedure: the dossier's process).
    InstanceId,
    "instance"
);
uuid_id!(
    /// A user task in a queue.
    TaskId,
    "task"
);
uuid_id!(
    /// A job: an external-worker job now, timers and retries later.
    JobId,
    "job"
);

impl InstanceId {
    /// A new, time-ordered id (UUID v7: new rows land at the end of the primary-key index).
    pub fn new_v7() -> Self {
        InstanceId(Uuid::now_v7())
    }

    /// The id of the `n`-th task of this instance. Derived, not random, so that replaying an
    /// instance's commands yields the same ids; see [`InstanceId::derived`].
    pub fn task_id(&self, n: u32) -> TaskId {
        TaskId(self.derived(1, n))
    }

    /// The id of the `n`-th job of this instance (derived like [`InstanceId::task_id`]).
    pub fn job_id(&self, n: u32) -> JobId {
        JobId(self.derived(2, n))
    }

    /// The id of the child instance a call activity starts with the `n`-th number of this
    /// instance (derived like [`InstanceId::task_id`], so replay names the same child).
    ///
    /// Not [`InstanceId::derived`]: a child's own task and job ids keep the first twelve bytes
    /// of its id, so those bytes must differ from the parent's. They are the first sixteen
    /// bytes of SHA-256(parent id, `n`), as a UUID v8.
    pub fn child_id(&self, n: u32) -> InstanceId {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.0.as_bytes());
        h.update(b"call-activity");
        h.update(n.to_be_bytes());
        let digest = h.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        InstanceId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }

    /// A UUID v8 made of this instance's id with its last four bytes replaced by a kind (4 bits)
    /// and the counter (28 bits): deterministic, unique (the first twelve bytes, which hold the
    /// instance's time stamp and its monotonic counter, stay) and time-ordered like the
    /// instance, so new task rows land near each other in the index instead of at random pages.
    fn derived(&self, kind: u8, n: u32) -> Uuid {
        let mut bytes = *self.0.as_bytes();
        let tail = (u32::from(kind & 0x0f) << 28) | (n & 0x0fff_ffff);
        bytes[12..16].copy_from_slice(&tail.to_be_bytes());
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }
}

/// A deployed definition version: `(key, version)`, e.g. `dang-ky-khai-sinh` v2.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DefinitionRef {
    /// The process id.
    pub key: String,
    /// The version, from 1.
    pub version: i32,
}

impl fmt::Display for DefinitionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} v{}", self.key, self.version)
    }
}
