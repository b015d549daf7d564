-- motcua schema, SQLite dialect. Times are RFC 3339 text in UTC; ids are UUID text.

CREATE TABLE deployments (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    deployed_at TEXT NOT NULL
);

-- One row per definition version; a definition never changes once stored.
CREATE TABLE definitions (
    key           TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    name          TEXT,
    resource      TEXT    NOT NULL,
    checksum      TEXT    NOT NULL,
    xml           TEXT    NOT NULL,
    deployment_id TEXT    NOT NULL REFERENCES deployments (id),
    deployed_at   TEXT    NOT NULL,
    PRIMARY KEY (key, version)
);

-- An instance's live state is one row: tokens, variables, version (optimistic concurrency).
CREATE TABLE instances (
    id                 TEXT PRIMARY KEY,
    definition_key     TEXT    NOT NULL,
    definition_version INTEGER NOT NULL,
    business_key       TEXT,
    status             TEXT    NOT NULL,
    version            INTEGER NOT NULL,
    state              TEXT    NOT NULL,
    started_at         TEXT    NOT NULL,
    ended_at           TEXT,
    updated_at         TEXT    NOT NULL
);
CREATE INDEX instances_business_key ON instances (business_key) WHERE business_key IS NOT NULL;
CREATE INDEX instances_status ON instances (status, started_at);
CREATE INDEX instances_ended ON instances (ended_at) WHERE ended_at IS NOT NULL;

-- The journal: append-only, every change of every instance, in order.
CREATE TABLE journal (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    actor       TEXT,
    at          TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    UNIQUE (instance_id, seq)
);

-- The task queue: a projection of instance state, written in the same transaction.
CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,
    instance_id      TEXT NOT NULL,
    definition_key   TEXT NOT NULL,
    node_id          TEXT NOT NULL,
    name             TEXT NOT NULL,
    assignee         TEXT,
    candidate_groups TEXT NOT NULL,
    candidate_users  TEXT NOT NULL,
    agency           TEXT,
    form_key         TEXT,
    state            TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    closed_at        TEXT,
    due_at           TEXT,                        -- from the task's SLA in working days
    due_soon         INTEGER NOT NULL DEFAULT 0,  -- set by the SLA timer
    overdue          INTEGER NOT NULL DEFAULT 0   -- set by the SLA timer
);
CREATE INDEX tasks_open ON tasks (created_at, id) WHERE state = 'open';
CREATE INDEX tasks_open_assignee ON tasks (assignee, created_at, id)
    WHERE state = 'open' AND assignee IS NOT NULL;
CREATE INDEX tasks_instance ON tasks (instance_id, created_at);
CREATE INDEX tasks_open_due ON tasks (due_at, id) WHERE state = 'open' AND due_at IS NOT NULL;

-- Who may work an open task; rows are removed when the task closes.
-- Ordered by creation within a group, so a group's queue is read in order, 50 rows at a time.
CREATE TABLE task_candidates (
    kind       TEXT NOT NULL, -- 'group' or 'user'
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    PRIMARY KEY (kind, name, created_at, task_id)
) WITHOUT ROWID;
CREATE INDEX task_candidates_task ON task_candidates (task_id);

-- The candidate rows follow the task row, so a command writes one statement per task.
CREATE TRIGGER tasks_candidates_insert AFTER INSERT ON tasks WHEN new.state = 'open'
BEGIN
    INSERT OR IGNORE INTO task_candidates (kind, name, created_at, task_id)
        SELECT 'group', value, new.created_at, new.id FROM json_each(new.candidate_groups);
    INSERT OR IGNORE INTO task_candidates (kind, name, created_at, task_id)
        SELECT 'user', value, new.created_at, new.id FROM json_each(new.candidate_users);
END;
CREATE TRIGGER tasks_candidates_close AFTER UPDATE OF state ON tasks WHEN new.state <> 'open'
BEGIN
    DELETE FROM task_candidates WHERE task_id = new.id;
END;

-- Jobs are rows with a due time and a lease: external-worker jobs (kind 'external'), timers of
-- instances ('timer') and timer start events of definitions ('timer_start', no instance).
CREATE TABLE jobs (
    id                 TEXT PRIMARY KEY,
    kind               TEXT    NOT NULL,
    instance_id        TEXT,
    definition_key     TEXT,
    definition_version INTEGER,
    node_id            TEXT    NOT NULL,
    topic              TEXT    NOT NULL,
    state           TEXT    NOT NULL, -- open, incident, completed, cancelled
    retries         INTEGER NOT NULL,
    fired           INTEGER NOT NULL DEFAULT 0, -- timer starts: firings so far (cycles)
    due_at          TEXT    NOT NULL,
    lock_owner      TEXT,
    lock_expires_at TEXT,
    last_error      TEXT,
    created_at      TEXT    NOT NULL
);
CREATE INDEX jobs_due ON jobs (topic, due_at) WHERE state = 'open';
CREATE INDEX jobs_due_kind ON jobs (kind, due_at) WHERE state = 'open';
CREATE INDEX jobs_definition ON jobs (definition_key, definition_version) WHERE kind = 'timer_start';
CREATE INDEX jobs_instance ON jobs (instance_id);

CREATE TABLE incidents (
    job_id      TEXT PRIMARY KEY,
    instance_id TEXT,
    node_id     TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX incidents_open ON incidents (created_at) WHERE resolved_at IS NULL;
CREATE INDEX incidents_instance ON incidents (instance_id);

-- The first answer to each idempotency key.
CREATE TABLE idempotency (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX idempotency_created ON idempotency (created_at);

-- Operator schedules (cron): each due fire runs once, recorded by (name, due_at).
CREATE TABLE schedules (
    name            TEXT PRIMARY KEY,
    cron            TEXT NOT NULL,
    handler         TEXT NOT NULL,
    next_due        TEXT NOT NULL,
    lock_owner      TEXT,
    lock_expires_at TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_due);

CREATE TABLE schedule_runs (
    name   TEXT NOT NULL,
    due_at TEXT NOT NULL,
    ran_at TEXT NOT NULL,
    runner TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (name, due_at)
);
