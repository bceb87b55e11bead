-- Uploaded files, content-addressed per project, with reference counts (one reference per
-- message part that uses the file). Bytes live here by default.
CREATE TABLE assets (
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    sha256      text NOT NULL,
    mime        text NOT NULL,
    size_b      bigint NOT NULL,
    data        bytea NOT NULL,
    ref_count   bigint NOT NULL DEFAULT 0 CHECK (ref_count >= 0),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (project_id, sha256)
);

-- Which messages reference which assets: the source of truth for releasing references when a
-- session (and so its messages) is deleted, and for sharing them when one is copied.
CREATE TABLE message_assets (
    message_id  uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    project_id  uuid NOT NULL,
    sha256      text NOT NULL,
    filename    text,
    PRIMARY KEY (message_id, sha256)
);
CREATE INDEX message_assets_asset ON message_assets (project_id, sha256);
