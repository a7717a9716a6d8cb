-- Full-text search from an expression index instead of a stored tsvector (hand-written).
--
-- 0005 stored `search_tsv`, a generated tsvector of the input and output, in every trace row: about
-- as many bytes again as the record it was computed from (1.2 KB against 1.4 KB per realistic trace,
-- measured with `npm run bench:footprint`), kept twice until a vacuum because the verdict trigger's
-- UPDATE writes each trace row again (and recomputed it then). The GIN index over the same expression
-- answers the same queries: `metronis_search_tsv(record) @@ websearch_to_tsquery('simple', q)`. The
-- function is the 0005 expression unchanged (simple configuration, each part capped at 200,000
-- characters); SQL functions are inlined into both the index and the query, so the planner matches them.
-- What it costs: a row the index proposes is rechecked by computing its vector again (phrases, and
-- the common words the planner reads along the time index instead).
CREATE OR REPLACE FUNCTION "metronis_search_tsv"(record jsonb) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT to_tsvector('simple'::regconfig, left(coalesce(record #>> '{input,text}', ''), 200000))
	|| to_tsvector('simple'::regconfig, left(regexp_replace(coalesce(jsonb_path_query_array(record, '$.input.messages[*].content')::text, ''), '\\[nrtbf"\\]', ' ', 'g'), 200000))
	|| to_tsvector('simple'::regconfig, left(coalesce(record #>> '{output,content}', ''), 200000))
$$;--> statement-breakpoint
ALTER TABLE "traces" DROP COLUMN IF EXISTS "search_tsv";--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "traces_search_idx" ON "traces" USING gin (metronis_search_tsv("record"));
