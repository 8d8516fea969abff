-- Silver: cleaned, deduplicated assets.
CREATE SCHEMA "silver";
CREATE TABLE "silver"."assets" (
  "asset_key" text NOT NULL,
  "resource_type" text NOT NULL,
  "name" text NOT NULL,
  "project" text,
  "first_seen" timestamptz NOT NULL,
  "last_seen" timestamptz NOT NULL,
  CONSTRAINT "assets_pkey" PRIMARY KEY ("asset_key"),
  CONSTRAINT "assets_type_name_key" UNIQUE ("resource_type", "name")
);
CREATE TABLE "silver"."asset_labels" (
  "asset_key" text NOT NULL,
  "key" text NOT NULL,
  "value" text NOT NULL DEFAULT '',
  CONSTRAINT "asset_labels_pkey" PRIMARY KEY ("asset_key", "key"),
  CONSTRAINT "asset_labels_asset_key_fkey" FOREIGN KEY ("asset_key") REFERENCES "silver"."assets" ("asset_key") ON DELETE CASCADE
);
