-- The journal's hash chain (engine/src/chain.rs) and the signed checkpoints over its heads
-- (engine/src/checkpoint.rs).

-- Each row's hash: SHA-256 over the row and the hash of the row before it.
ALTER TABLE journal ADD COLUMN hash TEXT;

-- The chain head of each instance, and how far a checkpoint has covered it.
ALTER TABLE instances ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN journal_head TEXT;
ALTER TABLE instances ADD COLUMN checkpointed_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX instances_unchecked ON instances (id) WHERE journal_seq > checkpointed_seq;

-- A checkpoint: the engine's signature over the Merkle root of the heads it covers. Ids run
-- 1, 2, 3, ... and each payload names the digest of the one before, so two nodes cannot both
-- write checkpoint n and a removed checkpoint leaves a hole.
CREATE TABLE journal_checkpoints (
    id        INTEGER PRIMARY KEY,
    at        TEXT    NOT NULL,
    size      INTEGER NOT NULL,
    root      TEXT    NOT NULL,
    payload   TEXT    NOT NULL, -- the signed JSON text
    signature TEXT    NOT NULL  -- base64 of the detached CMS (DER) over the payload's bytes
);

-- The heads a checkpoint covers, in leaf order (for inclusion proofs).
CREATE TABLE checkpoint_leaves (
    checkpoint_id INTEGER NOT NULL,
    leaf          INTEGER NOT NULL,
    instance_id   TEXT    NOT NULL,
    seq           INTEGER NOT NULL,
    hash          TEXT    NOT NULL,
    PRIMARY KEY (checkpoint_id, leaf)
);
CREATE INDEX checkpoint_leaves_instance ON checkpoint_leaves (instance_id, seq);
