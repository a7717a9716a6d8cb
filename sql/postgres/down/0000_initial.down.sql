-- Reverts 0000_initial.sql. Never applied automatically: run it by hand (psql -f), then delete the
-- 0000 row from drizzle.__drizzle_migrations, when a development database must go back.
DROP TABLE IF EXISTS "verdicts";
DROP TABLE IF EXISTS "traces";
DROP TABLE IF EXISTS "api_keys";
DROP TABLE IF EXISTS "organizations";
