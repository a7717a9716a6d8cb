export * from './types.js';
export { avroSchema, AVRO_DIR, SCHEMA_NAMES } from './avro.js';
export { MAX_TIMESTAMP_MS, MAX_UINT32, publicTraceSchema, toTraceRecord, toPublicView, type PublicTrace, type RecordContext } from './public-trace.js';
export { makeTrace } from './factories.js';
