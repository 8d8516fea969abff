-- Sign-in through external identity providers; one row per linked account.
CREATE TABLE oauth_identities (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider         varchar(32) NOT NULL,
    provider_user_id varchar(255) NOT NULL,
    email            varchar(320),
    linked_at        timestamptz NOT NULL DEFAULT now(),
    last_login_at    timestamptz,
    CONSTRAINT oauth_identities_provider_user_key UNIQUE (provider, provider_user_id)
);

CREATE INDEX oauth_identities_user_id_idx ON oauth_identities (user_id);

ALTER TABLE users ADD COLUMN avatar_url text;
