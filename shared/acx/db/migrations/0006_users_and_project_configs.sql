-- Users are listed per project in time order (GET /user/ls) and deleted together with their
-- sessions (DELETE /user/{identifier}); projects get a configs object of their own
-- (GET/PATCH /project/configs).
CREATE INDEX users_project_order ON users (project_id, created_at, id);
-- Counting and deleting a user's sessions; also keeps the ON DELETE SET NULL check off a seq scan.
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;
ALTER TABLE projects ADD COLUMN configs jsonb NOT NULL DEFAULT '{}'::jsonb;
