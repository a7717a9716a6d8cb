-- The trace's session id on its facts, so analytics SQL can rank sessions (the worst sessions by
-- failures, their cost) without a trip to Postgres. Rows written before this migration hold '' (no
-- session), like traces sent without one. Targets current ClickHouse (verified on chDB); adding a
-- column with a default is a metadata change, no part is rewritten.
ALTER TABLE trace_facts_v1 ADD COLUMN IF NOT EXISTS session_id String DEFAULT '' AFTER user_id;
