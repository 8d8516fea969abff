ALTER TABLE users ADD COLUMN team_id bigint NOT NULL;
