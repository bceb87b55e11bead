-- Session ids live per project. Clients choose them (`use_uuid`, often derived from their own
-- external ids), so a globally unique `sessions.id` let one project learn which ids another uses
-- (409 vs 201) and squat them. Now:
--   public_id  the id the API shows, unique per project only;
--   id         the storage key every other table references: a 128-bit hash of
--              (project_id, public_id), so it is computed without a lookup
--              (`acx.db.sessions.session_key`) and no project can produce another's key.
-- Existing sessions keep their public ids; their keys (and every reference) are rewritten here.

ALTER TABLE sessions ADD COLUMN public_id uuid;
UPDATE sessions SET public_id = id;
ALTER TABLE sessions ALTER COLUMN public_id SET NOT NULL;
ALTER TABLE sessions ADD CONSTRAINT sessions_public_id_key UNIQUE (project_id, public_id);

-- ON UPDATE CASCADE carries the re-keying to messages and events, and from messages on to
-- renderings and message assets.
ALTER TABLE messages DROP CONSTRAINT messages_session_id_fkey,
    ADD CONSTRAINT messages_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES sessions (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE session_events DROP CONSTRAINT session_events_session_id_fkey,
    ADD CONSTRAINT session_events_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES sessions (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE renderings DROP CONSTRAINT renderings_session_id_message_id_fkey,
    ADD CONSTRAINT renderings_session_id_message_id_fkey FOREIGN KEY (session_id, message_id)
        REFERENCES messages (session_id, id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE message_assets DROP CONSTRAINT message_assets_session_id_message_id_fkey,
    ADD CONSTRAINT message_assets_session_id_message_id_fkey FOREIGN KEY (session_id, message_id)
        REFERENCES messages (session_id, id) ON DELETE CASCADE ON UPDATE CASCADE;

UPDATE sessions SET id = encode(substring(sha256(uuid_send(project_id) || uuid_send(public_id)) FROM 1 FOR 16), 'hex')::uuid;

-- Listings page by the public id.
DROP INDEX sessions_project_order;
CREATE INDEX sessions_project_order ON sessions (project_id, created_at, public_id);
