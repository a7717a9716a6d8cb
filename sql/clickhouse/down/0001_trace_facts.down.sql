-- Reverts 0001_trace_facts.sql. Never applied automatically: run it by hand, then
-- DELETE the version 1 row of schema_migrations (ALTER TABLE schema_migrations DELETE WHERE version = 1).
DROP TABLE IF EXISTS trace_facts_v1;
