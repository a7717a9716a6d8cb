-- Reverts 0005_module_rollup_minute.sql. Never applied automatically: run it by hand, then
-- DELETE the version 5 row of schema_migrations (ALTER TABLE schema_migrations DELETE WHERE version = 5).
-- The view goes first, so no insert into the module facts feeds a table that is being dropped.
DROP VIEW IF EXISTS module_rollup_minute_mv_v1;
DROP TABLE IF EXISTS module_rollup_minute_v1;
