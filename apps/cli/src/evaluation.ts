/**
 * The evaluation pool of a process that runs Tier 1 (`dev`, `worker --topology tier1`): the modules
 * run on worker threads, off the event loop that serves HTTP and fetches records, each trace under a
 * hard deadline. Closed after the topologies that use it (closers run last-registered first).
 */
import { createEvaluationPool, type EvaluationPool } from '@metronis/evaluators';
import type { Logger } from './logger.js';
import type { Lifecycle } from './shutdown.js';

export function evaluationPool(env: { METRONIS_EVAL_THREADS: number; METRONIS_EVAL_DEADLINE_MS: number }, logger: Logger, lifecycle: Lifecycle): EvaluationPool {
  const pool = createEvaluationPool({
    threads: env.METRONIS_EVAL_THREADS,
    deadlineMs: env.METRONIS_EVAL_DEADLINE_MS,
    onInterrupted: (event) => logger.warn({ ...event, deadline_ms: env.METRONIS_EVAL_DEADLINE_MS }, 'evaluation stopped: the module gets module_error and its thread is replaced'),
  });
  lifecycle.onClose('evaluation pool', () => pool.close());
  return pool;
}
