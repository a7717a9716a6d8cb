-- Reverts 0004_retention_watermark: a replay of the sinks could write again what retention deleted.
DROP INDEX IF EXISTS "traces_org_received_idx";
ALTER TABLE "organizations" DROP COLUMN IF EXISTS "retention_watermark";
