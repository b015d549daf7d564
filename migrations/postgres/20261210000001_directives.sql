-- Leadership directives (theo dõi ý kiến chỉ đạo, issue #8): the same tables, columns,
-- constraints and indexes as migrations/sqlite. A directive's assignments form a tree (a
-- child task's parent_id); each assignment is one instance of the catalog process
-- theo-doi-chi-dao and every row here is written by a commit of that instance, with its
-- journal event. See engine/src/directive/.
CREATE TABLE directives (
    id            text COLLATE "C" CONSTRAINT directives_pkey PRIMARY KEY,
    issuer        text COLLATE "C" NOT NULL,
    source_kind   text        NOT NULL CHECK (source_kind IN ('document', 'meeting')),
    source_number text,
    source_date   date,
    summary       text        NOT NULL,
    content       text        NOT NULL,
    priority      text        NOT NULL,
    issued_at     timestamptz NOT NULL,
    issued_by     text
);
CREATE INDEX directives_issuer ON directives (issuer);
CREATE TABLE directive_assignments (
    id                text COLLATE "C" CONSTRAINT directive_assignments_pkey PRIMARY KEY,
    directive_id      text COLLATE "C" NOT NULL REFERENCES directives (id),
    parent_id         text COLLATE "C" REFERENCES directive_assignments (id),
    agency            text COLLATE "C" NOT NULL,
    role              text        NOT NULL CHECK (role IN ('lead', 'coordinate', 'monitor')),
    title             text        NOT NULL,
    deadline          timestamptz NOT NULL,
    original_deadline timestamptz NOT NULL,
    instance_id       text COLLATE "C" NOT NULL UNIQUE,
    state             text        NOT NULL,
    progress          integer     NOT NULL CHECK (progress BETWEEN 0 AND 100),
    completed_at      timestamptz,
    accepted_at       timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    version           bigint      NOT NULL
);
CREATE INDEX directive_assignments_directive ON directive_assignments (directive_id);
CREATE INDEX directive_assignments_agency ON directive_assignments (agency);
CREATE INDEX directive_assignments_parent ON directive_assignments (parent_id);
CREATE TABLE directive_reports (
    id            text COLLATE "C" CONSTRAINT directive_reports_pkey PRIMARY KEY,
    assignment_id text COLLATE "C" NOT NULL REFERENCES directive_assignments (id),
    text          text        NOT NULL,
    percent       integer     NOT NULL CHECK (percent BETWEEN 0 AND 100),
    reported_at   timestamptz NOT NULL,
    reported_by   text
);
CREATE INDEX directive_reports_assignment ON directive_reports (assignment_id);
CREATE TABLE directive_extensions (
    id                 text COLLATE "C" CONSTRAINT directive_extensions_pkey PRIMARY KEY,
    assignment_id      text COLLATE "C" NOT NULL REFERENCES directive_assignments (id),
    reason             text        NOT NULL,
    requested_deadline timestamptz NOT NULL,
    requested_at       timestamptz NOT NULL,
    requested_by       text,
    approved           boolean,
    new_deadline       timestamptz,
    decided_at         timestamptz,
    decided_by         text
);
CREATE INDEX directive_extensions_assignment ON directive_extensions (assignment_id);
