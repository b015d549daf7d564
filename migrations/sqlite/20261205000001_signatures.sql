-- Signatures over dossier document versions (the same table, columns, constraints and index
-- as migrations/postgres). Each row is verified before it is written and bound to the document
-- version's SHA-256; the CMS itself is a content-addressed blob (signature_sha256). Never
-- changed. See engine/src/signatures.rs.
CREATE TABLE dossier_signatures (
    id               TEXT    PRIMARY KEY,
    dossier_code     TEXT    NOT NULL REFERENCES dossiers (code),
    slot             TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    document_sha256  TEXT    NOT NULL,
    signature_sha256 TEXT    NOT NULL,
    signer_subject   TEXT    NOT NULL,
    signer_serial    TEXT    NOT NULL,
    signer_issuer    TEXT    NOT NULL,
    fingerprint      TEXT    NOT NULL,
    signer_user      TEXT,
    signer_agency    TEXT,
    signing_time     TEXT,
    server_side      INTEGER NOT NULL CHECK (server_side IN (0, 1)),
    added_at         TEXT    NOT NULL,
    added_by         TEXT,
    FOREIGN KEY (dossier_code, slot, version)
        REFERENCES dossier_documents (dossier_code, slot, version)
);
CREATE INDEX dossier_signatures_dossier ON dossier_signatures (dossier_code);
