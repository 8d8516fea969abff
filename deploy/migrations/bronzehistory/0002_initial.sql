-- Bronze history: every earlier version of a raw asset.
CREATE SCHEMA "bronzehistory";
CREATE TABLE "bronzehistory"."raw_assets_history" (
  "history_id" bigint GENERATED ALWAYS AS IDENTITY,
  "asset_id" bigint NOT NULL,
  "payload" jsonb NOT NULL,
  "valid_from" timestamptz NOT NULL,
  "valid_to" timestamptz,
  CONSTRAINT "raw_assets_history_pkey" PRIMARY KEY ("history_id"),
  CONSTRAINT "raw_assets_history_valid_range" CHECK ("valid_to" IS NULL OR "valid_to" > "valid_from")
);
CREATE INDEX "raw_assets_history_asset_idx" ON "bronzehistory"."raw_assets_history" ("asset_id", "valid_from");
