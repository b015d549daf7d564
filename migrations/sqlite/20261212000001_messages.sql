-- Messages and call activities (issue #9).
--
-- Outbox jobs (kinds 'message', 'call_start', 'call_return', 'call_cancel') carry what the
-- executor needs as JSON in `payload`.
ALTER TABLE jobs ADD COLUMN payload TEXT;

-- Message catchers that wait, written with the state that armed them. No key is ''.
CREATE TABLE message_subscriptions (
    instance_id     TEXT    NOT NULL,
    subscription    INTEGER NOT NULL,
    node_id         TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    correlation_key TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    PRIMARY KEY (instance_id, subscription)
);
CREATE INDEX message_subscriptions_match ON message_subscriptions (name, correlation_key, created_at);

-- Messages nobody waited for (state 'buffered' until `expires_at`), and the record of every
-- message taken (state 'consumed', with the instance): the id is unique, so a message is
-- applied once. No key is ''.
CREATE TABLE buffered_messages (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    correlation_key TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    state           TEXT NOT NULL, -- buffered, consumed
    consumed_by     TEXT
);
CREATE INDEX buffered_messages_waiting ON buffered_messages (name, correlation_key, created_at) WHERE state = 'buffered';
CREATE INDEX buffered_messages_expiry ON buffered_messages (expires_at) WHERE state = 'buffered';
