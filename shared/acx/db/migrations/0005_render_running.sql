-- Render jobs handle batches of messages; a message being rendered is 'running' (with the time it
-- started), so progress reports are real and the sweep can re-enqueue work a killed worker left.
ALTER TABLE messages DROP CONSTRAINT messages_render_state_check;
ALTER TABLE messages ADD CONSTRAINT messages_render_state_check
    CHECK (render_state IN ('pending', 'running', 'done', 'failed'));
ALTER TABLE messages ADD COLUMN render_started_at timestamptz;
DROP INDEX messages_unrendered;
CREATE INDEX messages_unrendered ON messages (created_at) WHERE render_state IN ('pending', 'running');
