-- Source repositories attached to a project.
CREATE TABLE repositories (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id     uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    provider       varchar(32) NOT NULL DEFAULT 'github',
    full_name      varchar(255) NOT NULL,
    default_branch varchar(255) NOT NULL DEFAULT 'main',
    is_private     boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT repositories_provider_check CHECK (provider IN ('github', 'gitlab', 'bitbucket')),
    CONSTRAINT repositories_provider_full_name_key UNIQUE (provider, full_name)
);

CREATE INDEX repositories_project_id_idx ON repositories (project_id);

INSERT INTO repositories (project_id, full_name)
SELECT id, 'example/' || slug FROM projects WHERE slug = 'analytical-engine';
