-- Module rollup: per minute (of the trace's timestamp), organization, module and the MODULE's own
-- severity, the number of evaluations in which the module ran, how many of them it failed, and the
-- module's latency (average and quantiles). Fed by a materialized view over module_result_facts_v1
-- (0004). It supersedes evaluation_rollup_minute_v1 (0003) wherever a per-module severity or latency
-- matters: 0003 files a module under its tier's worst severity and the tier's latency, because its
-- facts rows hold no per-module values. 0003 stays as it is (applied, and still fed).
-- Targets current ClickHouse (verified on chDB).
--
-- Redelivery: a materialized view sees every insert, and module_result_facts_v1 only collapses a
-- redelivered row on merge, so the counts are uniqExact states of evaluation_id (one module row per
-- evaluation): a redelivered result is counted once, exactly. The latency states are not
-- deduplicated: a redelivered result weighs twice in the average and quantiles, which are
-- approximate under redelivery. A replay that changes a module's outcome (same evaluation_id, new
-- severity) counts it under both severities; rebuild the affected minutes from
-- module_result_facts_v1 FINAL after such a replay (delete them here, then INSERT ... SELECT).
--
-- Read it with the -Merge combinators, grouping by what you need:
--   SELECT minute, module, severity, uniqExactMerge(evaluations) AS evaluations, uniqExactMerge(failed) AS failed,
--          avgMerge(latency_avg_us) AS avg_latency_us, quantilesMerge(0.5, 0.9, 0.99)(latency_quantiles_us) AS q
--   FROM module_rollup_minute_v1 WHERE org_id = {org:String} GROUP BY minute, module, severity ORDER BY minute
--
-- The rollup holds no trace content, so it outlives the facts (13 months, for year-over-year views).
CREATE TABLE IF NOT EXISTS module_rollup_minute_v1
(
    org_id               LowCardinality(String),
    minute               DateTime('UTC'),
    module               LowCardinality(String),
    severity             LowCardinality(String),
    evaluations          AggregateFunction(uniqExact, String),
    failed               AggregateFunction(uniqExact, String),
    latency_avg_us       AggregateFunction(avg, UInt64),
    latency_quantiles_us AggregateFunction(quantiles(0.5, 0.9, 0.99), UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (org_id, minute, module, severity)
TTL minute + toIntervalDay(395);

CREATE MATERIALIZED VIEW IF NOT EXISTS module_rollup_minute_mv_v1 TO module_rollup_minute_v1 AS
SELECT
    org_id,
    toStartOfMinute(toDateTime(trace_timestamp, 'UTC')) AS minute,
    module,
    severity,
    uniqExactState(evaluation_id) AS evaluations,
    uniqExactStateIf(evaluation_id, NOT passed) AS failed,
    avgState(latency_us) AS latency_avg_us,
    quantilesState(0.5, 0.9, 0.99)(latency_us) AS latency_quantiles_us
FROM module_result_facts_v1
GROUP BY org_id, minute, module, severity;

-- Backfill the module facts stored before this view existed (none when 0004 and 0005 are applied
-- together; some when 0005 is applied later or re-applied after an interruption). Counts stay exact
-- if this overlaps rows the view already saw.
INSERT INTO module_rollup_minute_v1
SELECT
    org_id,
    toStartOfMinute(toDateTime(trace_timestamp, 'UTC')) AS minute,
    module,
    severity,
    uniqExactState(evaluation_id),
    uniqExactStateIf(evaluation_id, NOT passed),
    avgState(latency_us),
    quantilesState(0.5, 0.9, 0.99)(latency_us)
FROM module_result_facts_v1 FINAL
GROUP BY org_id, minute, module, severity;
