-- Tags are gone.
DROP TABLE tags;
