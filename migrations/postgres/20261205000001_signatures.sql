-- Signatures over dossier document versions (the same table, columns, constraints and index
-- as migrations/sqlite). Each row is verified before it is written and bound to the document
-- version's SHA-256; the CMS itself is a content-addressed blob (signature_sha256). Never
-- changed. See engine/src/signatures.rs.
CREATE TABLE dossier_signatures (
    id               text COLLATE "C" CONSTRAINT dossier_signatures_pkey PRIMARY KEY,
    dossier_code     text COLLATE "C" NOT NULL REFERENCES dossiers (code),
    slot             text COLLATE "C" NOT NULL,
    version          integer     NOT NULL,
    document_sha256  text        NOT NULL,
    signature_sha256 text        NOT NULL,
    signer_subject   text        NOT NULL,
    signer_serial    text        NOT NULL,
    signer_issuer    text        NOT NULL,
    fingerprint      text        NOT NULL,
    signer_user      text,
    signer_agency    text,
    signing_time     timestamptz,
    server_side      boolean     NOT NULL,
    added_at         timestamptz NOT NULL,
    added_by         text,
    FOREIGN KEY (dossier_code, slot, version)
        REFERENCES dossier_documents (dossier_code, slot, version)
);
CREATE INDEX dossier_signatures_dossier ON dossier_signatures (dossier_code);
