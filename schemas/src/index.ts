export * from './types.js';
export { avroSchema, AVRO_DIR, SCHEMA_NAMES } from './avro.js';
export {
  isWellFormed,
  MAX_SHORT_TEXT_BYTES,
  MAX_TIMESTAMP_MS,
  MAX_UINT32,
  MIN_TIMESTAMP_MS,
  storableJsonIssues,
  withinTimestampBounds,
  withinUint32,
  type StorableIssue,
} from './bounds.js';
export { boundedIsoTime, publicTraceSchema, toTraceRecord, toPublicView, type PublicTrace, type RecordContext } from './public-trace.js';
export { makeTrace } from './factories.js';
