-- Initial schema. Every table that grows with traffic carries project_id so that the schema can be
-- distributed by project (Citus / hash partitioning) without changing unique keys later.

CREATE TABLE projects (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hmac  text NOT NULL UNIQUE,          -- HMAC-SHA256(pepper, secret): the bearer token is never stored
    is_default  boolean NOT NULL DEFAULT false,
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- At most one default (root-token) project; bootstrap upserts on this index.
CREATE UNIQUE INDEX projects_one_default ON projects (is_default) WHERE is_default;

CREATE TABLE users (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    identifier  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (project_id, identifier)
);

CREATE TABLE sessions (
    id                    uuid PRIMARY KEY,
    project_id            uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id               uuid REFERENCES users (id) ON DELETE SET NULL,
    disable_task_tracking boolean NOT NULL DEFAULT false,
    configs               jsonb,
    -- Codec ingest state (next message position, unanswered tool calls), updated under the row lock
    -- in the same transaction as each message insert.
    ingest_state          text NOT NULL DEFAULT '{}',
    message_count         bigint NOT NULL DEFAULT 0,
    last_message_id       uuid,
    created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX sessions_project_order ON sessions (project_id, created_at, id);
CREATE INDEX sessions_configs ON sessions USING gin (configs jsonb_path_ops);

CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    session_id      uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    project_id      uuid NOT NULL,
    seq             bigint NOT NULL,           -- strict insertion order within the session
    parent_id       uuid,
    role            text NOT NULL,
    format          text NOT NULL,
    raw             text NOT NULL,             -- the blob exactly as sent (text, not jsonb: jsonb reorders keys)
    parts           text NOT NULL,             -- msgspec JSON of acx.model.Message
    meta            text NOT NULL DEFAULT '{}', -- user meta JSON, returned as sent
    tokens          integer,                   -- o200k count, filled by the converter (or the read fallback)
    render_state    text NOT NULL DEFAULT 'pending' CHECK (render_state IN ('pending', 'done', 'failed')),
    render_error    text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (session_id, seq)
);
CREATE INDEX messages_unrendered ON messages (created_at) WHERE render_state = 'pending';

CREATE TABLE renderings (
    message_id     uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    format         text NOT NULL,
    codec_version  integer NOT NULL,
    body           text NOT NULL,              -- ready JSON, spliced into responses without re-encoding
    item_count     integer NOT NULL DEFAULT 1, -- items in body (a stored message may split into several)
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (message_id, format)
);

CREATE TABLE session_events (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    project_id  uuid NOT NULL,
    type        text NOT NULL,
    data        text NOT NULL,                 -- JSON object, returned as sent
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX session_events_order ON session_events (session_id, created_at, id);
