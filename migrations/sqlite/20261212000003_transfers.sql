-- Transfers of a dossier between agencies (liên thông; the same table, columns, constraints and
-- indexes as migrations/postgres). One row per transfer, written with the dossier_transferred
-- journal event in the dossier instance's commit; accepted or returned once, by a commit of its
-- own (transfer_accepted, transfer_returned). See engine/src/dossier/transfer.rs.
--
-- documents: JSON [{slot, version, sha256, name, media_type, size}] — what goes along.
-- tasks: JSON [{task, from_agency}] — the open user tasks re-routed to to_agency, with the
-- agency each had before (given back on return). step_task: the one step of a step transfer.
-- Shares are in half working days (the calendar's unit).
CREATE TABLE dossier_transfers (
    id                    TEXT    PRIMARY KEY,
    dossier_code          TEXT    NOT NULL REFERENCES dossiers (code),
    from_agency           TEXT    NOT NULL,
    to_agency             TEXT    NOT NULL,
    peer                  TEXT,
    reason                TEXT    NOT NULL,
    documents             TEXT    NOT NULL,
    tasks                 TEXT    NOT NULL,
    step_task             TEXT,
    state_before          TEXT    NOT NULL,
    receiver_share_halves INTEGER,
    receiver_due_at       TEXT,
    sender_share_halves   INTEGER,
    sender_due_at         TEXT,
    state                 TEXT    NOT NULL CHECK (state IN ('sent', 'accepted', 'returned')),
    sent_at               TEXT    NOT NULL,
    sent_by               TEXT,
    decided_at            TEXT,
    decided_by            TEXT,
    returned_reason       TEXT
);
CREATE INDEX dossier_transfers_dossier ON dossier_transfers (dossier_code, sent_at);
CREATE INDEX dossier_transfers_to_agency ON dossier_transfers (to_agency, state);
