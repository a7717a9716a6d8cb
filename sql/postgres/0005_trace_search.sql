-- Trace search (GET /v1/traces, sessions, a user's traces): filters, keyset pagination and full-text
-- search on one table, so that every filter shape is an index scan of `traces` alone.
--
-- 1. The verdict's summary is copied onto its trace (severity and its rank, passed, score, the tier
--    that decided, finding kinds, failed modules) by triggers: verdicts written after their traces
--    update the trace rows (one UPDATE per statement); a trace written after its verdict picks the
--    verdict up on insert (a primary-key lookup, no second write). A join
--    to `verdicts` could not be ordered by severity through an index. `severity_rank` is -1 while no
--    verdict has arrived (0 none .. 4 critical), so sorting by severity has no NULLs to page across.
-- 2. `search_tsv`: a stored tsvector over the input (text, or every chat message's content) and the
--    output, with the `simple` configuration: lower-cased words, no stemming and no stop words, because
--    traces come in every language and users search for identifiers and exact words. Each part is
--    capped (200,000 characters) so that a huge body can never exceed the 1 MB tsvector limit and
--    fail the sink. Queried with websearch_to_tsquery('simple', q) through a GIN index.
-- 3. Keyset indexes: each filter's column(s) after org_id, then timestamp DESC, trace_id DESC, so a
--    page is "the next N rows after (timestamp, trace_id)" read in index order, never OFFSET. They
--    replace the 0000 indexes that lacked the trace_id tie-breaker.
-- 4. GIN indexes for the set-valued filters: tags and metadata (jsonb containment, jsonb_path_ops),
--    finding kinds and failed modules (text[] containment).
-- Hand-written (drizzle-kit generates neither triggers nor expression indexes); PGlite runs it as is.
ALTER TABLE "traces" ADD COLUMN "severity" text;--> statement-breakpoint
ALTER TABLE "traces" ADD COLUMN "severity_rank" smallint DEFAULT -1 NOT NULL;--> statement-breakpoint
ALTER TABLE "traces" ADD COLUMN "passed" boolean;--> statement-breakpoint
ALTER TABLE "traces" ADD COLUMN "score" double precision;--> statement-breakpoint
ALTER TABLE "traces" ADD COLUMN "decided_by_tier" smallint;--> statement-breakpoint
ALTER TABLE "traces" ADD COLUMN "finding_kinds" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "traces" ADD COLUMN "failed_modules" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "traces" ADD COLUMN "search_tsv" tsvector GENERATED ALWAYS AS (
	to_tsvector('simple'::regconfig, left(coalesce("record" #>> '{input,text}', ''), 200000))
	|| to_tsvector('simple'::regconfig, left(regexp_replace(coalesce(jsonb_path_query_array("record", '$.input.messages[*].content')::text, ''), '\\[nrtbf"\\]', ' ', 'g'), 200000))
	|| to_tsvector('simple'::regconfig, left(coalesce("record" #>> '{output,content}', ''), 200000))
) STORED;--> statement-breakpoint
CREATE OR REPLACE FUNCTION "metronis_severity_rank"(severity text) RETURNS smallint LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE severity WHEN 'none' THEN 0 WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 ELSE -1 END::smallint
$$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION "metronis_jsonb_texts"(value jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(array_agg(e), '{}'::text[]) FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(value) = 'array' THEN value ELSE '[]'::jsonb END) AS e
$$;--> statement-breakpoint
-- Verdicts written (or replaced) after their traces: copy their summaries onto the traces, one
-- UPDATE per statement (the sink writes hundreds of verdicts per statement). Transition tables allow
-- one event per trigger, hence two triggers on one function.
CREATE OR REPLACE FUNCTION "verdicts_to_traces"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE "traces" t SET
		"severity" = v."severity",
		"severity_rank" = metronis_severity_rank(v."severity"),
		"passed" = v."passed",
		"score" = v."score",
		"decided_by_tier" = v."tier",
		"finding_kinds" = metronis_jsonb_texts(v."record" -> 'finding_kinds'),
		"failed_modules" = metronis_jsonb_texts(v."record" -> 'failed_modules')
	FROM "changed_verdicts" v
	WHERE t."org_id" = v."org_id" AND t."trace_id" = v."trace_id";
	RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "verdicts_to_traces_insert" AFTER INSERT ON "verdicts" REFERENCING NEW TABLE AS "changed_verdicts" FOR EACH STATEMENT EXECUTE FUNCTION "verdicts_to_traces"();--> statement-breakpoint
CREATE TRIGGER "verdicts_to_traces_update" AFTER UPDATE ON "verdicts" REFERENCING NEW TABLE AS "changed_verdicts" FOR EACH STATEMENT EXECUTE FUNCTION "verdicts_to_traces"();--> statement-breakpoint
-- A trace written after its verdict (the sinks are independent): take the verdict's summary.
CREATE OR REPLACE FUNCTION "traces_from_verdicts"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v record;
BEGIN
	SELECT "severity", "passed", "score", "tier", "record" INTO v FROM "verdicts" WHERE "org_id" = NEW."org_id" AND "trace_id" = NEW."trace_id";
	IF FOUND THEN
		NEW."severity" := v."severity";
		NEW."severity_rank" := metronis_severity_rank(v."severity");
		NEW."passed" := v."passed";
		NEW."score" := v."score";
		NEW."decided_by_tier" := v."tier";
		NEW."finding_kinds" := metronis_jsonb_texts(v."record" -> 'finding_kinds');
		NEW."failed_modules" := metronis_jsonb_texts(v."record" -> 'failed_modules');
	END IF;
	RETURN NEW;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "traces_from_verdicts" BEFORE INSERT ON "traces" FOR EACH ROW EXECUTE FUNCTION "traces_from_verdicts"();--> statement-breakpoint
-- Verdicts stored before this migration.
UPDATE "traces" t SET
	"severity" = v."severity",
	"severity_rank" = metronis_severity_rank(v."severity"),
	"passed" = v."passed",
	"score" = v."score",
	"decided_by_tier" = v."tier",
	"finding_kinds" = metronis_jsonb_texts(v."record" -> 'finding_kinds'),
	"failed_modules" = metronis_jsonb_texts(v."record" -> 'failed_modules')
FROM "verdicts" v WHERE v."org_id" = t."org_id" AND v."trace_id" = t."trace_id";--> statement-breakpoint
DROP INDEX IF EXISTS "traces_org_timestamp_idx";--> statement-breakpoint
DROP INDEX IF EXISTS "traces_org_application_timestamp_idx";--> statement-breakpoint
DROP INDEX IF EXISTS "traces_org_model_idx";--> statement-breakpoint
DROP INDEX IF EXISTS "traces_org_user_idx";--> statement-breakpoint
DROP INDEX IF EXISTS "traces_org_session_idx";--> statement-breakpoint
CREATE INDEX "traces_org_time_idx" ON "traces" USING btree ("org_id", "timestamp" DESC, "trace_id" DESC);--> statement-breakpoint
CREATE INDEX "traces_org_application_time_idx" ON "traces" USING btree ("org_id", "application", "timestamp" DESC, "trace_id" DESC);--> statement-breakpoint
CREATE INDEX "traces_org_environment_time_idx" ON "traces" USING btree ("org_id", "environment", "timestamp" DESC, "trace_id" DESC);--> statement-breakpoint
CREATE INDEX "traces_org_model_time_idx" ON "traces" USING btree ("org_id", "model_provider", "model_name", "timestamp" DESC, "trace_id" DESC);--> statement-breakpoint
CREATE INDEX "traces_org_user_time_idx" ON "traces" USING btree ("org_id", "user_id", "timestamp" DESC, "trace_id" DESC);--> statement-breakpoint
CREATE INDEX "traces_org_session_time_idx" ON "traces" USING btree ("org_id", "session_id", "timestamp" DESC, "trace_id" DESC);--> statement-breakpoint
CREATE INDEX "traces_org_severity_time_idx" ON "traces" USING btree ("org_id", "severity_rank" DESC, "timestamp" DESC, "trace_id" DESC);--> statement-breakpoint
CREATE INDEX "traces_org_passed_time_idx" ON "traces" USING btree ("org_id", "passed", "timestamp" DESC, "trace_id" DESC);--> statement-breakpoint
CREATE INDEX "traces_org_tier_time_idx" ON "traces" USING btree ("org_id", "decided_by_tier", "timestamp" DESC, "trace_id" DESC);--> statement-breakpoint
CREATE INDEX "traces_search_idx" ON "traces" USING gin ("search_tsv");--> statement-breakpoint
CREATE INDEX "traces_tags_idx" ON "traces" USING gin (("record" -> 'tags') jsonb_path_ops);--> statement-breakpoint
CREATE INDEX "traces_metadata_idx" ON "traces" USING gin (("record" -> 'metadata') jsonb_path_ops);--> statement-breakpoint
CREATE INDEX "traces_finding_kinds_idx" ON "traces" USING gin ("finding_kinds");--> statement-breakpoint
CREATE INDEX "traces_failed_modules_idx" ON "traces" USING gin ("failed_modules");
