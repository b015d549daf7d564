-- Exchange between motcua engines (liên thông, issue #9 part 3); the same tables, columns and
-- indexes as migrations/postgres.
--
-- exchange_outbox: every message to a peer engine, written in the same transaction as the
-- change that sends it (a dossier transferred, a received dossier's status changed). The body is
-- the signed envelope's exact bytes (JSON) and `signature` the sending agency's detached CMS
-- over them (base64 DER). Delivery is at least once, with back-off (`attempts`,
-- `next_attempt_at`) and a lease (`lock_owner`, `lock_expires_at`); `delivered_at` is set when
-- the peer acknowledged it.
CREATE TABLE exchange_outbox (
    id              TEXT        PRIMARY KEY,
    peer            TEXT        NOT NULL,
    kind            TEXT        NOT NULL,
    dossier_code    TEXT        NOT NULL,
    body            TEXT        NOT NULL,
    signature       TEXT        NOT NULL,
    created_at      TEXT        NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TEXT        NOT NULL,
    delivered_at    TEXT,
    last_error      TEXT,
    lock_owner      TEXT,
    lock_expires_at TEXT
);
CREATE INDEX exchange_outbox_due ON exchange_outbox (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX exchange_outbox_dossier ON exchange_outbox (dossier_code);
-- exchange_links: which local dossier a message sent or received belongs to, and its code on
-- the other side. A received message's id is its primary key here, written in the same
-- transaction as its effect: a message delivered twice takes effect once.
CREATE TABLE exchange_links (
    message_id   TEXT        PRIMARY KEY,
    dossier_code TEXT        NOT NULL,
    direction    TEXT        NOT NULL CHECK (direction IN ('sent', 'received')),
    kind         TEXT        NOT NULL,
    peer         TEXT        NOT NULL,
    remote_code  TEXT,
    at           TEXT        NOT NULL
);
CREATE INDEX exchange_links_dossier ON exchange_links (dossier_code);
