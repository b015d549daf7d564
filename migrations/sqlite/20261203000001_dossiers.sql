-- Forms and dossiers (hồ sơ) (the same tables, columns, constraints and indexes as
-- migrations/postgres). See engine/src/dossier/.

-- One row per form version, stored with the processes of its deployment; never changed.
CREATE TABLE forms (
    id            TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    resource      TEXT    NOT NULL,
    schema        TEXT    NOT NULL,
    checksum      TEXT    NOT NULL,
    deployment_id TEXT    NOT NULL REFERENCES deployments (id),
    deployed_at   TEXT    NOT NULL,
    PRIMARY KEY (id, version)
);

-- The daily sequence of dossier codes per agency (Circular 01/2018/TT-VPCP art. 19): upserted
-- and read in the transaction that creates the dossier, so numbers are gap-free and unique.
CREATE TABLE dossier_counters (
    agency TEXT    NOT NULL,
    day    TEXT    NOT NULL,
    last   INTEGER NOT NULL,
    PRIMARY KEY (agency, day)
);

-- A dossier: one per instance, created by the instance's start commit.
CREATE TABLE dossiers (
    code              TEXT    PRIMARY KEY,
    instance_id       TEXT    NOT NULL UNIQUE,
    procedure_key     TEXT    NOT NULL,
    procedure_version INTEGER NOT NULL,
    agency            TEXT    NOT NULL,
    applicant_kind    TEXT    NOT NULL CHECK (applicant_kind IN ('citizen_id', 'tax_code')),
    applicant_id      TEXT    NOT NULL,
    applicant_name    TEXT    NOT NULL,
    applicant         TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('received', 'processing',
                          'supplement_requested', 'supplement_received', 'transferred', 'done',
                          'result_returned', 'refused', 'cancelled')),
    received_at       TEXT    NOT NULL,
    due_at            TEXT,
    finished_at       TEXT,
    data              TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    version           INTEGER NOT NULL
);
CREATE INDEX dossiers_applicant ON dossiers (applicant_kind, applicant_id);
CREATE INDEX dossiers_agency_state ON dossiers (agency, state);

-- Document versions of a dossier: a supplement adds version n+1 of its slot, never overwrites.
CREATE TABLE dossier_documents (
    dossier_code TEXT    NOT NULL REFERENCES dossiers (code),
    slot         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    media_type   TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    added_at     TEXT    NOT NULL,
    added_by     TEXT,
    reused_from  TEXT,
    PRIMARY KEY (dossier_code, slot, version)
);

-- "Submit paper once": documents digitized and certified at the counter, by owner identity.
CREATE TABLE applicant_documents (
    id             TEXT PRIMARY KEY,
    owner_kind     TEXT NOT NULL CHECK (owner_kind IN ('citizen_id', 'tax_code')),
    owner_id       TEXT NOT NULL,
    doc_type       TEXT NOT NULL,
    number         TEXT,
    issuer         TEXT,
    issued_on      TEXT,
    sha256         TEXT NOT NULL,
    name           TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    certified_by   TEXT,
    certified_at   TEXT NOT NULL,
    source_dossier TEXT
);
CREATE INDEX applicant_documents_owner ON applicant_documents (owner_kind, owner_id);
-- The tracking register (form 06): an agency's dossiers in order of receipt.
CREATE INDEX dossiers_agency_received ON dossiers (agency, received_at);
