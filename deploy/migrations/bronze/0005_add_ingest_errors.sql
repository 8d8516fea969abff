-- Failed batches keep their error text.
ALTER TABLE "bronze"."ingest_batches" ADD COLUMN "error" text;
ALTER TYPE "bronze"."ingest_status" ADD VALUE 'failed';
