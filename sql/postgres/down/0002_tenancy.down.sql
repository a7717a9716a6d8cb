-- Reverts 0002_tenancy. The audit log and the deletion records are dropped with their history.
DROP TRIGGER IF EXISTS "audit_log_no_truncate" ON "audit_log";
DROP TRIGGER IF EXISTS "audit_log_no_update_delete" ON "audit_log";
DROP FUNCTION IF EXISTS "audit_log_append_only"();
DROP TABLE IF EXISTS "deletions";
DROP TABLE IF EXISTS "audit_log";
ALTER TABLE "organizations" DROP COLUMN IF EXISTS "operator";
ALTER TABLE "organizations" DROP COLUMN IF EXISTS "rate_limits";
ALTER TABLE "organizations" DROP COLUMN IF EXISTS "retention_days";
ALTER TABLE "api_keys" DROP COLUMN IF EXISTS "created_by";
ALTER TABLE "api_keys" DROP COLUMN IF EXISTS "name";
