-- Forms and dossiers (hồ sơ) (the same tables, columns, constraints and indexes as
-- migrations/sqlite). See engine/src/dossier/.

-- One row per form version, stored with the processes of its deployment; never changed.
CREATE TABLE forms (
    id            text COLLATE "C" NOT NULL,
    version       integer     NOT NULL,
    resource      text        NOT NULL,
    schema        text        NOT NULL,
    checksum      text        NOT NULL,
    deployment_id text COLLATE "C" NOT NULL REFERENCES deployments (id),
    deployed_at   timestamptz NOT NULL,
    CONSTRAINT forms_pkey PRIMARY KEY (id, version)
);

-- The daily sequence of dossier codes per agency (Circular 01/2018/TT-VPCP art. 19): upserted
-- and read in the transaction that creates the dossier; the upsert's row lock serialises
-- concurrent submissions of one agency and day until commit, so numbers are gap-free and unique.
CREATE TABLE dossier_counters (
    agency text COLLATE "C" NOT NULL,
    day    text COLLATE "C" NOT NULL,
    last   bigint NOT NULL,
    CONSTRAINT dossier_counters_pkey PRIMARY KEY (agency, day)
);

-- A dossier: one per instance, created by the instance's start commit.
CREATE TABLE dossiers (
    code              text COLLATE "C" CONSTRAINT dossiers_pkey PRIMARY KEY,
    instance_id       text COLLATE "C" NOT NULL CONSTRAINT dossiers_instance UNIQUE,
    procedure_key     text COLLATE "C" NOT NULL,
    procedure_version integer     NOT NULL,
    agency            text COLLATE "C" NOT NULL,
    applicant_kind    text        NOT NULL CHECK (applicant_kind IN ('citizen_id', 'tax_code')),
    applicant_id      text COLLATE "C" NOT NULL,
    applicant_name    text        NOT NULL,
    applicant         text        NOT NULL,
    state             text        NOT NULL CHECK (state IN ('received', 'processing',
                          'supplement_requested', 'supplement_received', 'transferred', 'done',
                          'result_returned', 'refused', 'cancelled')),
    received_at       timestamptz NOT NULL,
    due_at            timestamptz,
    finished_at       timestamptz,
    data              text        NOT NULL,
    updated_at        timestamptz NOT NULL,
    version           bigint      NOT NULL
);
CREATE INDEX dossiers_applicant ON dossiers (applicant_kind, applicant_id);
CREATE INDEX dossiers_agency_state ON dossiers (agency, state);

-- Document versions of a dossier: a supplement adds version n+1 of its slot, never overwrites.
CREATE TABLE dossier_documents (
    dossier_code text COLLATE "C" NOT NULL REFERENCES dossiers (code),
    slot         text COLLATE "C" NOT NULL,
    version      integer     NOT NULL,
    sha256       text        NOT NULL,
    name         text        NOT NULL,
    media_type   text        NOT NULL,
    size         bigint      NOT NULL,
    added_at     timestamptz NOT NULL,
    added_by     text,
    reused_from  text COLLATE "C",
    CONSTRAINT dossier_documents_pkey PRIMARY KEY (dossier_code, slot, version)
);

-- "Submit paper once": documents digitized and certified at the counter, by owner identity.
CREATE TABLE applicant_documents (
    id             text COLLATE "C" CONSTRAINT applicant_documents_pkey PRIMARY KEY,
    owner_kind     text NOT NULL CHECK (owner_kind IN ('citizen_id', 'tax_code')),
    owner_id       text COLLATE "C" NOT NULL,
    doc_type       text NOT NULL,
    number         text,
    issuer         text,
    issued_on      date,
    sha256         text NOT NULL,
    name           text NOT NULL,
    media_type     text NOT NULL,
    certified_by   text,
    certified_at   timestamptz NOT NULL,
    source_dossier text COLLATE "C"
);
CREATE INDEX applicant_documents_owner ON applicant_documents (owner_kind, owner_id);
-- The tracking register (form 06): an agency's dossiers in order of receipt.
CREATE INDEX dossiers_agency_received ON dossiers (agency, received_at);
