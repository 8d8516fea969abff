ALTER TABLE tags ADD COLUMN code text;
ALTER TABLE tags ADD CONSTRAINT tags_code_key UNIQUE (code);
