-- Leadership directives (theo dõi ý kiến chỉ đạo, issue #8): the same tables, columns,
-- constraints and indexes as migrations/postgres. A directive's assignments form a tree (a
-- child task's parent_id); each assignment is one instance of the catalog process
-- theo-doi-chi-dao and every row here is written by a commit of that instance, with its
-- journal event. See engine/src/directive/.
CREATE TABLE directives (
    id            TEXT    PRIMARY KEY,
    issuer        TEXT    NOT NULL,
    source_kind   TEXT    NOT NULL CHECK (source_kind IN ('document', 'meeting')),
    source_number TEXT,
    source_date   TEXT,
    summary       TEXT    NOT NULL,
    content       TEXT    NOT NULL,
    priority      TEXT    NOT NULL,
    issued_at     TEXT    NOT NULL,
    issued_by     TEXT
);
CREATE INDEX directives_issuer ON directives (issuer);
CREATE TABLE directive_assignments (
    id                TEXT    PRIMARY KEY,
    directive_id      TEXT    NOT NULL REFERENCES directives (id),
    parent_id         TEXT    REFERENCES directive_assignments (id),
    agency            TEXT    NOT NULL,
    role              TEXT    NOT NULL CHECK (role IN ('lead', 'coordinate', 'monitor')),
    title             TEXT    NOT NULL,
    deadline          TEXT    NOT NULL,
    original_deadline TEXT    NOT NULL,
    instance_id       TEXT    NOT NULL UNIQUE,
    state             TEXT    NOT NULL,
    progress          INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),
    completed_at      TEXT,
    accepted_at       TEXT,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    version           INTEGER NOT NULL
);
CREATE INDEX directive_assignments_directive ON directive_assignments (directive_id);
CREATE INDEX directive_assignments_agency ON directive_assignments (agency);
CREATE INDEX directive_assignments_parent ON directive_assignments (parent_id);
CREATE TABLE directive_reports (
    id            TEXT    PRIMARY KEY,
    assignment_id TEXT    NOT NULL REFERENCES directive_assignments (id),
    text          TEXT    NOT NULL,
    percent       INTEGER NOT NULL CHECK (percent BETWEEN 0 AND 100),
    reported_at   TEXT    NOT NULL,
    reported_by   TEXT
);
CREATE INDEX directive_reports_assignment ON directive_reports (assignment_id);
CREATE TABLE directive_extensions (
    id                 TEXT    PRIMARY KEY,
    assignment_id      TEXT    NOT NULL REFERENCES directive_assignments (id),
    reason             TEXT    NOT NULL,
    requested_deadline TEXT    NOT NULL,
    requested_at       TEXT    NOT NULL,
    requested_by       TEXT,
    approved           INTEGER CHECK (approved IN (0, 1)),
    new_deadline       TEXT,
    decided_at         TEXT,
    decided_by         TEXT
);
CREATE INDEX directive_extensions_assignment ON directive_extensions (assignment_id);
