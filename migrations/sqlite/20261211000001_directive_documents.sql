-- Documents attached to directive assignments (issue #8): the directive's source document on
-- the lead's assignment, a progress report's attachment, ... (the same table, columns,
-- constraints and index as migrations/postgres). The bytes are a content-addressed blob
-- (sha256); a signed document's detached CMS is another (signature_sha256), verified before
-- the row is written. Each row is written by a commit of the assignment's instance with its
-- journal event `directive_document_attached`. Never changed. See engine/src/directive/documents.rs.
CREATE TABLE directive_documents (
    id               TEXT    PRIMARY KEY,
    assignment_id    TEXT    NOT NULL REFERENCES directive_assignments (id),
    directive_id     TEXT    NOT NULL REFERENCES directives (id),
    report_id        TEXT    REFERENCES directive_reports (id),
    name             TEXT    NOT NULL,
    media_type       TEXT    NOT NULL,
    sha256           TEXT    NOT NULL,
    size             INTEGER NOT NULL CHECK (size > 0),
    signature_sha256 TEXT,
    signer_subject   TEXT,
    signer_serial    TEXT,
    signer_issuer    TEXT,
    fingerprint      TEXT,
    signer_user      TEXT,
    signer_agency    TEXT,
    signing_time     TEXT,
    server_side      INTEGER NOT NULL CHECK (server_side IN (0, 1)),
    added_at         TEXT    NOT NULL,
    added_by         TEXT
);
CREATE INDEX directive_documents_assignment ON directive_documents (assignment_id);
