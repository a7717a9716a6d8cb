-- Reverts 0007_trace_facts_session.sql. Never applied automatically: run it by hand, then
-- DELETE the version 7 row of schema_migrations (ALTER TABLE schema_migrations DELETE WHERE version = 7).
ALTER TABLE trace_facts_v1 DROP COLUMN IF EXISTS session_id;
