-- Reverts 0009_search_tsv_expression: the stored search_tsv column and its GIN index come back.
DROP INDEX IF EXISTS "traces_search_idx";
ALTER TABLE "traces" ADD COLUMN IF NOT EXISTS "search_tsv" tsvector GENERATED ALWAYS AS (
	to_tsvector('simple'::regconfig, left(coalesce("record" #>> '{input,text}', ''), 200000))
	|| to_tsvector('simple'::regconfig, left(regexp_replace(coalesce(jsonb_path_query_array("record", '$.input.messages[*].content')::text, ''), '\\[nrtbf"\\]', ' ', 'g'), 200000))
	|| to_tsvector('simple'::regconfig, left(coalesce("record" #>> '{output,content}', ''), 200000))
) STORED;
CREATE INDEX IF NOT EXISTS "traces_search_idx" ON "traces" USING gin ("search_tsv");
DROP FUNCTION IF EXISTS "metronis_search_tsv"(jsonb);
