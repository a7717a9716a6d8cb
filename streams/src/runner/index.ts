export type {
  Clock,
  Output,
  RecordMeta,
  RetryOptions,
  RunnerDeps,
  RunnerHandle,
  RunnerLogger,
  RunnerStats,
  SinkItem,
  SinkTopology,
  Topology,
  TransformTopology,
} from './types.js';
export { runTopology } from './run.js';
export { withTopicPrefix } from './prefix.js';
export { describeTopology, topologyTopics } from './describe.js';
export { replay, type ReplayOptions } from './replay.js';
export { backoffDelay } from './retry.js';
export { errorFields, orgIdsOf, type ErrorFields } from './log-fields.js';
