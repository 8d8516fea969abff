CREATE INDEX users_age_idx ON users (age);
