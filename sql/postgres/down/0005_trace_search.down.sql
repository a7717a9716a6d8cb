-- Reverts 0005_trace_search: the search columns, triggers and indexes go; the 0000 indexes come back.
DROP TRIGGER IF EXISTS "verdicts_to_traces_insert" ON "verdicts";
DROP TRIGGER IF EXISTS "verdicts_to_traces_update" ON "verdicts";
DROP TRIGGER IF EXISTS "traces_from_verdicts" ON "traces";
DROP FUNCTION IF EXISTS "verdicts_to_traces"();
DROP FUNCTION IF EXISTS "traces_from_verdicts"();
DROP INDEX IF EXISTS "traces_org_time_idx", "traces_org_application_time_idx", "traces_org_environment_time_idx", "traces_org_model_time_idx",
	"traces_org_user_time_idx", "traces_org_session_time_idx", "traces_org_severity_time_idx", "traces_org_passed_time_idx", "traces_org_tier_time_idx",
	"traces_search_idx", "traces_tags_idx", "traces_metadata_idx", "traces_finding_kinds_idx", "traces_failed_modules_idx";
ALTER TABLE "traces" DROP COLUMN IF EXISTS "search_tsv", DROP COLUMN IF EXISTS "severity", DROP COLUMN IF EXISTS "severity_rank", DROP COLUMN IF EXISTS "passed",
	DROP COLUMN IF EXISTS "score", DROP COLUMN IF EXISTS "decided_by_tier", DROP COLUMN IF EXISTS "finding_kinds", DROP COLUMN IF EXISTS "failed_modules";
DROP FUNCTION IF EXISTS "metronis_severity_rank"(text);
DROP FUNCTION IF EXISTS "metronis_jsonb_texts"(jsonb);
CREATE INDEX IF NOT EXISTS "traces_org_timestamp_idx" ON "traces" USING btree ("org_id","timestamp" DESC NULLS LAST);
CREATE INDEX IF NOT EXISTS "traces_org_application_timestamp_idx" ON "traces" USING btree ("org_id","application","timestamp" DESC NULLS LAST);
CREATE INDEX IF NOT EXISTS "traces_org_model_idx" ON "traces" USING btree ("org_id","model_provider","model_name");
CREATE INDEX IF NOT EXISTS "traces_org_user_idx" ON "traces" USING btree ("org_id","user_id");
CREATE INDEX IF NOT EXISTS "traces_org_session_idx" ON "traces" USING btree ("org_id","session_id");
