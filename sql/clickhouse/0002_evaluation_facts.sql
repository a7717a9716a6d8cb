-- Evaluation facts: one row per tier result (metronis.evaluations.v1), for pass rates, severities,
-- failing modules and evaluation latency by tier. Targets current ClickHouse (verified on chDB).
--
-- ReplacingMergeTree keyed by the ORDER BY, which ends with evaluation_id (trace id + tier, so a
-- redelivered result collapses to one row on merge and under FINAL); evaluated_at is the version.
-- Partitions and retention follow the trace's timestamp, so every tier of a trace lives and expires
-- together with its trace facts.
CREATE TABLE IF NOT EXISTS evaluation_facts_v1
(
    evaluation_id   String,
    org_id          LowCardinality(String),
    trace_id        String,
    tier            UInt8,
    evaluated_at    DateTime64(3, 'UTC'),
    trace_timestamp DateTime64(3, 'UTC'),
    passed          Bool,
    severity        LowCardinality(String),
    score           Float64,
    latency_us      UInt64,
    modules         Array(LowCardinality(String)),
    failed_modules  Array(LowCardinality(String)),
    finding_kinds   Array(LowCardinality(String)),
    retention_days  UInt16 DEFAULT 90
)
ENGINE = ReplacingMergeTree(evaluated_at)
PARTITION BY toYYYYMM(trace_timestamp)
ORDER BY (org_id, toDate(trace_timestamp), trace_id, evaluation_id)
TTL toDateTime(trace_timestamp) + toIntervalDay(retention_days);
