-- Responses of writes sent with an Idempotency-Key header, stored in the same transaction as
-- the write and replayed for retries (IETF draft-ietf-httpapi-idempotency-key-header).
CREATE TABLE idempotency_keys (
    project_id        uuid NOT NULL,
    key               text NOT NULL,
    request_hash      text NOT NULL,           -- sha256 of method, path and body: same key + other body = 422
    response_status   integer NOT NULL,
    response_body     bytea NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (project_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
