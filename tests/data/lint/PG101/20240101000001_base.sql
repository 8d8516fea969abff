-- The schema every lint case starts from.
CREATE SCHEMA archive;
CREATE TABLE archive.old_events (id bigint PRIMARY KEY);

CREATE TABLE users (
    id    bigint PRIMARY KEY,
    email text,
    name  text NOT NULL,
    nick  text,
    age   integer,
    bio   text
);

CREATE TABLE posts (
    id      bigint NOT NULL,
    user_id bigint,
    title   text,
    CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
);
CREATE INDEX posts_title_idx ON posts (title);

CREATE TABLE tags (id bigint, label text);
CREATE UNIQUE INDEX tags_id_key ON tags (id);

CREATE TABLE notes (
    id   bigint PRIMARY KEY,
    body text,
    CONSTRAINT notes_body_present CHECK (body IS NOT NULL)
);
