-- atlas:txmode none

-- c1

CREATE TABLE t (
  id int
);
SELECT 1;
