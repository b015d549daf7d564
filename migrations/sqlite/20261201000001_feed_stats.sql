-- Event feed and statistics (the same tables, columns and indexes as migrations/postgres).
--
-- The feed: every journal row has a global `feed_seq`. On SQLite it IS the journal's
-- AUTOINCREMENT id: rows are written by one writer connection inside its transaction, so ids
-- grow in commit order and a reader's snapshot always holds a prefix of them. The column is
-- generated from the id (a virtual column, so no extra write); `journal_feed` is therefore the
-- primary key itself, and `feed_counter` exists for schema parity but is not used here
-- (PostgreSQL's sequencer needs it).
ALTER TABLE journal ADD COLUMN feed_seq INTEGER GENERATED ALWAYS AS (id) VIRTUAL;
CREATE INDEX journal_unsequenced ON journal (id) WHERE feed_seq IS NULL;

CREATE TABLE feed_counter (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT INTO feed_counter (id, last) VALUES (1, 0);

-- The agency owning a process, copied to its instances, and the instance's due date
-- (InstanceState.due_at), written with every commit: statistics and feed filters are index
-- queries, not JSON scans.
ALTER TABLE definitions ADD COLUMN agency TEXT;
ALTER TABLE instances ADD COLUMN agency TEXT;
ALTER TABLE instances ADD COLUMN due_at TEXT;
CREATE INDEX instances_started ON instances (started_at);
CREATE INDEX instances_agency ON instances (agency, definition_key);
