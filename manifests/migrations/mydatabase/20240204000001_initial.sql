-- Users and the projects they own.
CREATE TABLE users (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email       varchar(320) NOT NULL,
    display_name varchar(120) NOT NULL,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_format CHECK (position('@' in email) > 1)
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TYPE project_visibility AS ENUM ('private', 'internal', 'public');

CREATE TABLE projects (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    slug        varchar(64) NOT NULL,
    name        varchar(200) NOT NULL,
    description text,
    visibility  project_visibility NOT NULL DEFAULT 'private',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$'),
    CONSTRAINT projects_owner_slug_key UNIQUE (owner_id, slug)
);

CREATE INDEX projects_owner_id_idx ON projects (owner_id);

COMMENT ON TABLE users IS 'People who can sign in.';
COMMENT ON TABLE projects IS 'A unit of work owned by one user.';
