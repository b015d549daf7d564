-- Outbound webhooks (the same tables, columns and indexes as migrations/postgres).
--
-- The outbox is the journal itself: every event is written in its command's transaction and
-- numbered in the feed (`feed_seq`), so nothing can change without its event being there to
-- deliver. Each subscription keeps its own cursor: the last feed number its receiver
-- acknowledged with a 2xx. Delivery is in feed order (hence in order per instance), at least
-- once, with an exponential back-off per subscription (`attempts`, `next_attempt_at`), and a
-- lease (`lock_owner`, `lock_expires_at`) so that two delivery loops never post the same
-- subscription's events concurrently. `kinds` is a JSON list of event kinds (NULL: all).
CREATE TABLE webhook_subscriptions (
    id              TEXT    PRIMARY KEY,
    url             TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    kinds           TEXT,
    agency          TEXT,
    created_at      TEXT    NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    cursor          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    lock_owner      TEXT,
    lock_expires_at TEXT
);
CREATE INDEX webhook_subscriptions_due ON webhook_subscriptions (next_attempt_at) WHERE active = 1;
