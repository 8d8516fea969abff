INSERT INTO t VALUES (E'it\'s; fine');
INSERT INTO t VALUES (e'a\\');
INSERT INTO t VALUES ('plain \', 'x');
SELECT E'\'' AS q; SELECT 'it''s' AS d;
COMMENT ON TABLE t IS E'line1\nline2 \' ;';
