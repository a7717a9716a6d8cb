-- Module result facts: one row per module result of a tier result (metronis.evaluations.v1), so
-- pass rates, scores, severities, labels, finding kinds and latency can be read per module, with the
-- module's OWN severity (evaluation_facts_v1 keeps one row per tier, with the tier's worst severity
-- and the module names in arrays). Targets current ClickHouse (verified on chDB).
--
-- ReplacingMergeTree keyed by the ORDER BY, which ends with (evaluation_id, module): a redelivered
-- tier result (same evaluation_id: trace id + tier) collapses to one row per module on merge and
-- under FINAL; evaluated_at is the version, so a replay that re-evaluates the trace replaces the
-- earlier rows. Partitions and retention follow the trace's timestamp, like evaluation_facts_v1,
-- so a trace's facts of every kind live and expire together.
--
-- History: rows exist only for tier results written after this table; the module sink is its own
-- consumer group, so running it from the start of the evaluations topic fills in what the log still
-- holds (evaluation_facts_v1 lacks the per-module severity, score and labels to derive them from).
CREATE TABLE IF NOT EXISTS module_result_facts_v1
(
    evaluation_id   String,
    org_id          LowCardinality(String),
    trace_id        String,
    tier            UInt8,
    module          LowCardinality(String),
    module_version  LowCardinality(String),
    evaluated_at    DateTime64(3, 'UTC'),
    trace_timestamp DateTime64(3, 'UTC'),
    passed          Bool,
    score           Float64,
    severity        LowCardinality(String),
    labels          Array(LowCardinality(String)),
    finding_kinds   Array(LowCardinality(String)),
    latency_us      UInt64,
    retention_days  UInt16 DEFAULT 90
)
ENGINE = ReplacingMergeTree(evaluated_at)
PARTITION BY toYYYYMM(trace_timestamp)
ORDER BY (org_id, toDate(trace_timestamp), trace_id, evaluation_id, module)
TTL toDateTime(trace_timestamp) + toIntervalDay(retention_days);
