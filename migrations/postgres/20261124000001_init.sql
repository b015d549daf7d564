-- motcua schema, PostgreSQL dialect: the same tables, columns, constraints and indexes as
-- migrations/sqlite. Times are timestamptz; ids are UUID text (the same strings as SQLite).
-- Ids, keys and names are COLLATE "C" so they sort byte-wise, as SQLite's BINARY does.
-- Instance state, journal data, idempotency responses and schedule results are JSON text
-- (byte-identical to SQLite; jsonb would refuse a \u0000 in a variable); the candidate lists are
-- jsonb so they can be queried.

CREATE TABLE deployments (
    id          text COLLATE "C" PRIMARY KEY,
    name        text        NOT NULL,
    deployed_at timestamptz NOT NULL
);

-- One row per definition version; a definition never changes once stored.
CREATE TABLE definitions (
    key           text COLLATE "C" NOT NULL,
    version       integer     NOT NULL,
    name          text,
    resource      text        NOT NULL,
    checksum      text        NOT NULL,
    xml           text        NOT NULL,
    deployment_id text COLLATE "C" NOT NULL REFERENCES deployments (id),
    deployed_at   timestamptz NOT NULL,
    CONSTRAINT definitions_pkey PRIMARY KEY (key, version)
);

-- An instance's live state is one row: tokens, variables, version (optimistic concurrency).
CREATE TABLE instances (
    id                 text COLLATE "C" CONSTRAINT instances_pkey PRIMARY KEY,
    definition_key     text COLLATE "C" NOT NULL,
    definition_version integer     NOT NULL,
    business_key       text COLLATE "C",
    status             text        NOT NULL,
    version            bigint      NOT NULL,
    state              text        NOT NULL,
    started_at         timestamptz NOT NULL,
    ended_at           timestamptz,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX instances_business_key ON instances (business_key) WHERE business_key IS NOT NULL;
CREATE INDEX instances_status ON instances (status, started_at);
CREATE INDEX instances_ended ON instances (ended_at) WHERE ended_at IS NOT NULL;

-- The journal: append-only, every change of every instance, in order.
CREATE TABLE journal (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id text COLLATE "C" NOT NULL,
    seq         bigint      NOT NULL,
    kind        text        NOT NULL,
    actor       text,
    at          timestamptz NOT NULL,
    data        text        NOT NULL,
    CONSTRAINT journal_instance_seq UNIQUE (instance_id, seq)
);

-- The task queue: a projection of instance state, written in the same transaction.
CREATE TABLE tasks (
    id               text COLLATE "C" PRIMARY KEY,
    instance_id      text COLLATE "C" NOT NULL,
    definition_key   text COLLATE "C" NOT NULL,
    node_id          text        NOT NULL,
    name             text        NOT NULL,
    assignee         text COLLATE "C",
    candidate_groups jsonb       NOT NULL,
    candidate_users  jsonb       NOT NULL,
    agency           text COLLATE "C",
    form_key         text,
    state            text        NOT NULL,
    created_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    due_at           timestamptz,                    -- from the task's SLA in working days
    due_soon         boolean     NOT NULL DEFAULT false, -- set by the SLA timer
    overdue          boolean     NOT NULL DEFAULT false  -- set by the SLA timer
);
CREATE INDEX tasks_open ON tasks (created_at, id) WHERE state = 'open';
CREATE INDEX tasks_open_assignee ON tasks (assignee, created_at, id)
    WHERE state = 'open' AND assignee IS NOT NULL;
CREATE INDEX tasks_instance ON tasks (instance_id, created_at);
CREATE INDEX tasks_open_due ON tasks (due_at, id) WHERE state = 'open' AND due_at IS NOT NULL;

-- Who may work an open task; rows are removed when the task closes.
-- Ordered by creation within a group, so a group's queue is read in order, 50 rows at a time.
CREATE TABLE task_candidates (
    kind       text COLLATE "C" NOT NULL, -- 'group' or 'user'
    name       text COLLATE "C" NOT NULL,
    created_at timestamptz      NOT NULL,
    task_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (kind, name, created_at, task_id)
);
CREATE INDEX task_candidates_task ON task_candidates (task_id);

-- The candidate rows follow the task row, so a command writes one statement per task.
CREATE FUNCTION tasks_candidates_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_candidates (kind, name, created_at, task_id)
        SELECT 'group', g, NEW.created_at, NEW.id
        FROM jsonb_array_elements_text(NEW.candidate_groups) AS g
        ON CONFLICT DO NOTHING;
    INSERT INTO task_candidates (kind, name, created_at, task_id)
        SELECT 'user', u, NEW.created_at, NEW.id
        FROM jsonb_array_elements_text(NEW.candidate_users) AS u
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tasks_candidates_insert AFTER INSERT ON tasks
    FOR EACH ROW WHEN (NEW.state = 'open') EXECUTE FUNCTION tasks_candidates_insert();

CREATE FUNCTION tasks_candidates_close() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_candidates WHERE task_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tasks_candidates_close AFTER UPDATE OF state ON tasks
    FOR EACH ROW WHEN (NEW.state <> 'open') EXECUTE FUNCTION tasks_candidates_close();

-- Jobs are rows with a due time and a lease: external-worker jobs (kind 'external'), timers of
-- instances ('timer') and timer start events of definitions ('timer_start', no instance).
CREATE TABLE jobs (
    id                 text COLLATE "C" PRIMARY KEY,
    kind               text        NOT NULL,
    instance_id        text COLLATE "C",
    definition_key     text COLLATE "C",
    definition_version integer,
    node_id            text        NOT NULL,
    topic              text COLLATE "C" NOT NULL,
    state              text        NOT NULL, -- open, incident, completed, cancelled
    retries            bigint      NOT NULL,
    fired              bigint      NOT NULL DEFAULT 0, -- timer starts: firings so far (cycles)
    due_at             timestamptz NOT NULL,
    lock_owner         text,
    lock_expires_at    timestamptz,
    last_error         text,
    created_at         timestamptz NOT NULL
);
CREATE INDEX jobs_due ON jobs (topic, due_at) WHERE state = 'open';
CREATE INDEX jobs_due_kind ON jobs (kind, due_at) WHERE state = 'open';
CREATE INDEX jobs_definition ON jobs (definition_key, definition_version) WHERE kind = 'timer_start';
CREATE INDEX jobs_instance ON jobs (instance_id);

CREATE TABLE incidents (
    job_id      text COLLATE "C" PRIMARY KEY,
    instance_id text COLLATE "C",
    node_id     text        NOT NULL,
    message     text        NOT NULL,
    created_at  timestamptz NOT NULL,
    resolved_at timestamptz
);
CREATE INDEX incidents_open ON incidents (created_at) WHERE resolved_at IS NULL;
CREATE INDEX incidents_instance ON incidents (instance_id);

-- The first answer to each idempotency key.
CREATE TABLE idempotency (
    key         text COLLATE "C" CONSTRAINT idempotency_pkey PRIMARY KEY,
    fingerprint text        NOT NULL,
    response    text        NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX idempotency_created ON idempotency (created_at);

-- Operator schedules (cron): each due fire runs once, recorded by (name, due_at).
CREATE TABLE schedules (
    name            text COLLATE "C" PRIMARY KEY,
    cron            text        NOT NULL,
    handler         text        NOT NULL,
    next_due        timestamptz NOT NULL,
    lock_owner      text,
    lock_expires_at timestamptz,
    created_at      timestamptz NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_due);

CREATE TABLE schedule_runs (
    name   text COLLATE "C" NOT NULL,
    due_at timestamptz NOT NULL,
    ran_at timestamptz NOT NULL,
    runner text        NOT NULL,
    result text        NOT NULL,
    PRIMARY KEY (name, due_at)
);
