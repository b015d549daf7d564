-- Messages and call activities (issue #9).
--
-- Outbox jobs (kinds 'message', 'call_start', 'call_return', 'call_cancel') carry what the
-- executor needs as JSON in `payload`.
ALTER TABLE jobs ADD COLUMN payload text;

-- Message catchers that wait, written with the state that armed them. No key is ''.
CREATE TABLE message_subscriptions (
    instance_id     text COLLATE "C" NOT NULL,
    subscription    bigint      NOT NULL,
    node_id         text        NOT NULL,
    name            text COLLATE "C" NOT NULL,
    correlation_key text COLLATE "C" NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (instance_id, subscription)
);
CREATE INDEX message_subscriptions_match ON message_subscriptions (name, correlation_key, created_at);

-- Messages nobody waited for (state 'buffered' until `expires_at`), and the record of every
-- message taken (state 'consumed', with the instance): the id is unique, so a message is
-- applied once. No key is ''.
CREATE TABLE buffered_messages (
    id              text COLLATE "C" PRIMARY KEY,
    name            text COLLATE "C" NOT NULL,
    correlation_key text COLLATE "C" NOT NULL,
    payload         text        NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    state           text        NOT NULL, -- buffered, consumed
    consumed_by     text COLLATE "C"
);
CREATE INDEX buffered_messages_waiting ON buffered_messages (name, correlation_key, created_at) WHERE state = 'buffered';
CREATE INDEX buffered_messages_expiry ON buffered_messages (expires_at) WHERE state = 'buffered';
