-- Reverts 0003_evaluation_rollup_minute.sql. Never applied automatically: run it by hand, then
-- DELETE the version 3 row of schema_migrations (ALTER TABLE schema_migrations DELETE WHERE version = 3).
-- The view goes first, so no insert into the facts feeds a table that is being dropped.
DROP VIEW IF EXISTS evaluation_rollup_minute_mv_v1;
DROP TABLE IF EXISTS evaluation_rollup_minute_v1;
