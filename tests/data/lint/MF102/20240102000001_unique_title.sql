-- atlas:txmode none

DROP INDEX CONCURRENTLY posts_title_idx;
CREATE UNIQUE INDEX CONCURRENTLY posts_title_idx ON posts (title);
