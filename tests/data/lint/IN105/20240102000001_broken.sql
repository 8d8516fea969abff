ALTER TABLE missing_table ADD COLUMN x integer;
