-- Facts expire by when Metronis received the trace (trace_facts_v1.received_at) or evaluated it
-- (evaluated_at of evaluation and module result facts), never by the client's own `timestamp`: a trace
-- stamped far in the future expired only when its stamp did, and one received today with an old stamp
-- was dropped at once. Partitions still follow the trace's timestamp (time-range reads); retention
-- does not. Targets current ClickHouse (verified on chDB).
--
-- MODIFY TTL recomputes the TTL of the parts already stored (materialize_ttl_after_modify, on by
-- default), so rows kept only by their stamp go on the next TTL merge. Applying it again is harmless.
--
-- The time is capped at 2095-01-01 before it becomes a DateTime: DateTime ends in 2106, and a later
-- DateTime64 (a trusted producer may write received_at up to 9999-12-31) plus up to 3,650 days of
-- retention wrapped around to a time in the past, so such a row expired at once.
ALTER TABLE trace_facts_v1 MODIFY TTL toDateTime(least(received_at, toDateTime64('2095-01-01 00:00:00', 3, 'UTC'))) + toIntervalDay(retention_days);
ALTER TABLE evaluation_facts_v1 MODIFY TTL toDateTime(least(evaluated_at, toDateTime64('2095-01-01 00:00:00', 3, 'UTC'))) + toIntervalDay(retention_days);
ALTER TABLE module_result_facts_v1 MODIFY TTL toDateTime(least(evaluated_at, toDateTime64('2095-01-01 00:00:00', 3, 'UTC'))) + toIntervalDay(retention_days);
