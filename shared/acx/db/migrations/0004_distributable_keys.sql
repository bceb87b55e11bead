-- Keep the schema distributable (Citus, or hash partitioning): every unique key of a
-- session-scoped table contains session_id, every project-scoped one project_id. Session-scoped
-- rows of one session then live together on one shard, and cascades stay shard-local.

ALTER TABLE renderings ADD COLUMN session_id uuid;
UPDATE renderings r SET session_id = m.session_id FROM messages m WHERE m.id = r.message_id;
ALTER TABLE renderings ALTER COLUMN session_id SET NOT NULL;
ALTER TABLE renderings DROP CONSTRAINT renderings_message_id_fkey;
ALTER TABLE renderings DROP CONSTRAINT renderings_pkey;

ALTER TABLE message_assets ADD COLUMN session_id uuid;
UPDATE message_assets a SET session_id = m.session_id FROM messages m WHERE m.id = a.message_id;
ALTER TABLE message_assets ALTER COLUMN session_id SET NOT NULL;
ALTER TABLE message_assets DROP CONSTRAINT message_assets_message_id_fkey;
ALTER TABLE message_assets DROP CONSTRAINT message_assets_pkey;

ALTER TABLE messages DROP CONSTRAINT messages_pkey;
ALTER TABLE messages ADD PRIMARY KEY (session_id, id);
-- Message ids are still looked up alone (render jobs, meta patches).
CREATE INDEX messages_id ON messages (id);

ALTER TABLE renderings ADD PRIMARY KEY (session_id, message_id, format);
ALTER TABLE renderings ADD FOREIGN KEY (session_id, message_id)
    REFERENCES messages (session_id, id) ON DELETE CASCADE;

ALTER TABLE message_assets ADD PRIMARY KEY (session_id, message_id, sha256);
ALTER TABLE message_assets ADD FOREIGN KEY (session_id, message_id)
    REFERENCES messages (session_id, id) ON DELETE CASCADE;

ALTER TABLE session_events DROP CONSTRAINT session_events_pkey;
ALTER TABLE session_events ADD PRIMARY KEY (session_id, id);
