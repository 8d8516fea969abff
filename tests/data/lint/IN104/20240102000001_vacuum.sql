ALTER TABLE users ADD COLUMN visits integer;
VACUUM users;
