-- atlas:txmode none

CREATE TABLE comments (
    id      bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    body    text NOT NULL DEFAULT ''
);
CREATE INDEX comments_user_id_idx ON comments (user_id);
ALTER TABLE users ADD COLUMN phone text;
ALTER TABLE users ADD COLUMN score integer NOT NULL DEFAULT 0;
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
ALTER TABLE users ADD CONSTRAINT users_age_positive CHECK (age > 0) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_age_positive;
ALTER TABLE users ALTER COLUMN bio SET DEFAULT '';
ALTER TABLE users ALTER COLUMN nick TYPE varchar;
CREATE VIEW adults AS SELECT id, name FROM users WHERE age >= 18;
INSERT INTO users (id, name) VALUES (1, 'Ada');
INSERT INTO comments (id, user_id) VALUES (1, 1);
