-- Reverts 0001_evaluations_policies.sql. Never applied automatically: run it by hand (psql -f), then
-- delete the 0001 row from drizzle.__drizzle_migrations, when a development database must go back.
DROP TABLE IF EXISTS "policies";
DROP TABLE IF EXISTS "evaluations";
