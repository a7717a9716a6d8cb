-- Reverts 0006_retention_by_received_at.sql: facts expire by the trace's own timestamp again. Never
-- applied automatically: run it by hand, then DELETE the version 6 row of schema_migrations.
ALTER TABLE trace_facts_v1 MODIFY TTL toDateTime(timestamp) + toIntervalDay(retention_days);
ALTER TABLE evaluation_facts_v1 MODIFY TTL toDateTime(trace_timestamp) + toIntervalDay(retention_days);
ALTER TABLE module_result_facts_v1 MODIFY TTL toDateTime(trace_timestamp) + toIntervalDay(retention_days);
