-- Event feed and statistics (the same tables, columns and indexes as migrations/sqlite).
--
-- The feed: every journal row gets a global `feed_seq`, given in COMMIT order by one sequencer
-- at a time (see `engine/src/store/postgres.rs`, `sequence_feed`): identity ids are taken
-- before commit, so a concurrent transaction may commit a smaller id later; a reader paging
-- `feed_seq > N` must never find such a row behind it. `feed_counter` holds the last number
-- given; its one row is locked by the sequencer.
ALTER TABLE journal ADD COLUMN feed_seq bigint;
CREATE UNIQUE INDEX journal_feed ON journal (feed_seq);
CREATE INDEX journal_unsequenced ON journal (id) WHERE feed_seq IS NULL;

CREATE TABLE feed_counter (
    id   integer PRIMARY KEY CHECK (id = 1),
    last bigint  NOT NULL
);
INSERT INTO feed_counter (id, last) VALUES (1, 0);

-- The agency owning a process (its motcua `agency`), copied to its instances, and the
-- instance's due date (InstanceState.due_at), written with every commit: statistics and feed
-- filters are index queries, not JSON scans.
ALTER TABLE definitions ADD COLUMN agency text COLLATE "C";
ALTER TABLE instances ADD COLUMN agency text COLLATE "C";
ALTER TABLE instances ADD COLUMN due_at timestamptz;
CREATE INDEX instances_started ON instances (started_at);
CREATE INDEX instances_agency ON instances (agency, definition_key);
