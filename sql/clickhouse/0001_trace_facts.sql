-- Trace facts: one row per trace, for analytics (volume, cost, tokens, latency by app and model).
-- Targets current ClickHouse (verified on chDB, the embedded engine); Debian's ClickHouse 18.16
-- server lacks DateTime64, TTL expressions like this one and LowCardinality by default.
--
-- ReplacingMergeTree keyed by the ORDER BY: a trace delivered twice (same org_id, trace_id and so
-- the same timestamp) collapses to one row on merge and under FINAL; received_at is the version, and
-- equal versions keep the last inserted. The sort key starts with the org, then the day, so an org's
-- time-range scans read contiguous granules; the month partition lets old data be dropped whole.
-- retention_days is per row (the org's retention at insert time); the TTL deletes expired rows.
CREATE TABLE IF NOT EXISTS trace_facts_v1
(
    org_id         LowCardinality(String),
    trace_id       String,
    timestamp      DateTime64(3, 'UTC'),
    received_at    DateTime64(3, 'UTC'),
    application    LowCardinality(String),
    environment    LowCardinality(String),
    model_provider LowCardinality(String),
    model_name     LowCardinality(String),
    input_tokens   UInt32,
    output_tokens  UInt32,
    cost_usd       Float64,
    latency_ms     UInt32,
    user_id        String,
    retention_days UInt16 DEFAULT 90
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (org_id, toDate(timestamp), trace_id)
TTL toDateTime(timestamp) + toIntervalDay(retention_days);
