SELECT (1; 2);
SELECT "a""b;" FROM t;
SELECT `x;y` AS b;
SELECT ';' || (';') AS c;
SELECT 3