-- Concurrently, but in a transaction.
CREATE INDEX CONCURRENTLY users_age_idx ON users (age);
