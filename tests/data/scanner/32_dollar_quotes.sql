CREATE FUNCTION a() RETURNS text AS $body$ SELECT '$$;' $body$ LANGUAGE sql;
SELECT $1, $2 FROM t WHERE x = $$a;b$$;
CREATE FUNCTION b() RETURNS text AS $àé$ ; $àé$ LANGUAGE sql;
SELECT 'a$b$c' AS not_a_dollar_quote;
SELECT col$x FROM t;
SELECT $ж$x;
SELECT $unclosed$ never closed;
SELECT 1;
