-- Gold: aggregates for dashboards.
CREATE SCHEMA "gold";
CREATE VIEW "gold"."assets_by_type" AS
  SELECT "resource_type", count(*) AS "asset_count" FROM "silver"."assets" GROUP BY "resource_type";
CREATE FUNCTION "gold"."asset_count"("p_type" text) RETURNS bigint
  LANGUAGE sql STABLE
  AS $$ SELECT count(*) FROM silver.assets WHERE resource_type = p_type $$;
