-- Reverts 0004_module_result_facts.sql. Never applied automatically: run it by hand, then
-- DELETE the version 4 row of schema_migrations (ALTER TABLE schema_migrations DELETE WHERE version = 4).
-- Revert 0005 first: its view reads this table.
DROP TABLE IF EXISTS module_result_facts_v1;
