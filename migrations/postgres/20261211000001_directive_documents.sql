-- Documents attached to directive assignments (issue #8): the directive's source document on
-- the lead's assignment, a progress report's attachment, ... (the same table, columns,
-- constraints and index as migrations/sqlite). The bytes are a content-addressed blob
-- (sha256); a signed document's detached CMS is another (signature_sha256), verified before
-- the row is written. Each row is written by a commit of the assignment's instance with its
-- journal event `directive_document_attached`. Never changed. See engine/src/directive/documents.rs.
CREATE TABLE directive_documents (
    id               text COLLATE "C" CONSTRAINT directive_documents_pkey PRIMARY KEY,
    assignment_id    text COLLATE "C" NOT NULL REFERENCES directive_assignments (id),
    directive_id     text COLLATE "C" NOT NULL REFERENCES directives (id),
    report_id        text COLLATE "C" REFERENCES directive_reports (id),
    name             text        NOT NULL,
    media_type       text        NOT NULL,
    sha256           text        NOT NULL,
    size             bigint      NOT NULL CHECK (size > 0),
    signature_sha256 text,
    signer_subject   text,
    signer_serial    text,
    signer_issuer    text,
    fingerprint      text,
    signer_user      text,
    signer_agency    text,
    signing_time     timestamptz,
    server_side      boolean     NOT NULL,
    added_at         timestamptz NOT NULL,
    added_by         text
);
CREATE INDEX directive_documents_assignment ON directive_documents (assignment_id);
