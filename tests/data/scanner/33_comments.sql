-- header comment

-- attached 1
-- attached 2
SELECT 1; -- trailing on same line
/* block */ SELECT 2;
/* detached block */

SELECT 3 /* inside */ -- inside too
;
-- a
--
SELECT 4;
SELECT 5; /* unclosed block
