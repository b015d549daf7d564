-- Transfers of a dossier between agencies (liên thông; the same table, columns, constraints and
-- indexes as migrations/sqlite). One row per transfer, written with the dossier_transferred
-- journal event in the dossier instance's commit; accepted or returned once, by a commit of its
-- own (transfer_accepted, transfer_returned). See engine/src/dossier/transfer.rs.
--
-- documents: JSON [{slot, version, sha256, name, media_type, size}] — what goes along.
-- tasks: JSON [{task, from_agency}] — the open user tasks re-routed to to_agency, with the
-- agency each had before (given back on return). step_task: the one step of a step transfer.
-- Shares are in half working days (the calendar's unit).
CREATE TABLE dossier_transfers (
    id                    text COLLATE "C" CONSTRAINT dossier_transfers_pkey PRIMARY KEY,
    dossier_code          text COLLATE "C" NOT NULL REFERENCES dossiers (code),
    from_agency           text COLLATE "C" NOT NULL,
    to_agency             text COLLATE "C" NOT NULL,
    peer                  text,
    reason                text        NOT NULL,
    documents             text        NOT NULL,
    tasks                 text        NOT NULL,
    step_task             text,
    state_before          text        NOT NULL,
    receiver_share_halves bigint,
    receiver_due_at       timestamptz,
    sender_share_halves   bigint,
    sender_due_at         timestamptz,
    state                 text        NOT NULL CHECK (state IN ('sent', 'accepted', 'returned')),
    sent_at               timestamptz NOT NULL,
    sent_by               text,
    decided_at            timestamptz,
    decided_by            text,
    returned_reason       text
);
CREATE INDEX dossier_transfers_dossier ON dossier_transfers (dossier_code, sent_at);
CREATE INDEX dossier_transfers_to_agency ON dossier_transfers (to_agency, state);
