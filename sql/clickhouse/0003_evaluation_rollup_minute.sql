-- Evaluation rollup: per minute (of the trace's timestamp), organization, module and severity, the
-- number of evaluations in which the module ran, how many of them it failed, and the evaluation
-- latency (average and quantiles). Dashboards read this instead of scanning evaluation_facts_v1.
-- Targets current ClickHouse (verified on chDB).
--
-- A facts row is one tier result (one evaluation) with the modules that ran in an array, so the view
-- ARRAY JOINs `modules`: one rollup row per module of the evaluation. `severity` is the evaluation's
-- (the tier's worst) severity, as the facts row has no per-module severity; `failed` counts the
-- evaluations whose `failed_modules` hold the module; the latency is the tier's latency. An
-- evaluation with no modules has no rollup row.
--
-- Redelivery: a materialized view sees every insert, and evaluation_facts_v1 only collapses a
-- redelivered row on merge, so a plain count() would count it twice. The counts are therefore
-- uniqExact states of evaluation_id: a redelivered evaluation is counted once, exactly. The latency
-- states are not deduplicated: a redelivered evaluation weighs twice in the average and quantiles,
-- which are approximate under redelivery (quantiles are approximate anyway). An evaluation re-run
-- with a different outcome (a replay under a changed policy: same evaluation_id, new severity) is
-- counted under both its old and its new severity; after a replay, rebuild the affected minutes
-- from the facts (delete them here, then INSERT ... SELECT ... FROM evaluation_facts_v1 FINAL).
--
-- Read it with the -Merge combinators, grouping by what you need:
--   SELECT minute, module, uniqExactMerge(evaluations) AS evaluations, uniqExactMerge(failed) AS failed,
--          avgMerge(latency_avg_us) AS avg_latency_us, quantilesMerge(0.5, 0.9, 0.99)(latency_quantiles_us) AS q
--   FROM evaluation_rollup_minute_v1 WHERE org_id = {org:String} GROUP BY minute, module ORDER BY minute
--
-- The rollup holds no trace content, so it outlives the facts (13 months, for year-over-year views).
CREATE TABLE IF NOT EXISTS evaluation_rollup_minute_v1
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

CREATE MATERIALIZED VIEW IF NOT EXISTS evaluation_rollup_minute_mv_v1 TO evaluation_rollup_minute_v1 AS
SELECT
    org_id,
    toStartOfMinute(toDateTime(trace_timestamp, 'UTC')) AS minute,
    module,
    severity,
    uniqExactState(evaluation_id) AS evaluations,
    uniqExactStateIf(evaluation_id, has(failed_modules, module)) AS failed,
    avgState(latency_us) AS latency_avg_us,
    quantilesState(0.5, 0.9, 0.99)(latency_us) AS latency_quantiles_us
FROM evaluation_facts_v1
ARRAY JOIN modules AS module
GROUP BY org_id, minute, module, severity;

-- Backfill the facts that were stored before this view existed. Counts stay exact if this runs
-- again (an interrupted migration is re-applied) or overlaps rows the view already saw.
INSERT INTO evaluation_rollup_minute_v1
SELECT
    org_id,
    toStartOfMinute(toDateTime(trace_timestamp, 'UTC')) AS minute,
    module,
    severity,
    uniqExactState(evaluation_id),
    uniqExactStateIf(evaluation_id, has(failed_modules, module)),
    avgState(latency_us),
    quantilesState(0.5, 0.9, 0.99)(latency_us)
FROM evaluation_facts_v1 FINAL
ARRAY JOIN modules AS module
GROUP BY org_id, minute, module, severity;
