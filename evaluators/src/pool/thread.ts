/**
 * One evaluation thread of the pool (pool.ts): it warms up (the dictionary, the JIT), says `ready`,
 * then runs each task's modules in registry order through `runModule` (one `SharedText` for the
 * trace's modules) and posts every result as soon as it exists, so that a thread stopped at its
 * deadline has already handed over the modules that finished. Policies arrive once per thread and id and are kept until the pool says to drop them.
 */
import { parentPort } from 'node:worker_threads';
import type { Trace } from '@metronis/schemas';
import { DEFAULT_POLICY, type Policy } from '../policy.js';
import { runModule, warmUp, type ModuleName } from '../registry.js';
import { createSharedText } from '../shared-text.js';

/** A task as the pool posts it. */
export interface ThreadTask {
  id: number;
  trace: Trace;
  modules: ModuleName[];
  policyId: number;
  /** Present when this thread has not been sent this policy yet. */
  policy?: Policy;
  /** Policy ids the thread may forget. */
  drop?: number[];
}

export type ThreadMessage =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: ReturnType<typeof runModule> }
  | { type: 'failed'; id: number; message: string };

const port = parentPort;
if (port === null) throw new Error('evaluators/pool/thread: run me as a worker thread of createEvaluationPool');
const policies = new Map<number, Policy>();
const post = (message: ThreadMessage) => port.postMessage(message);

warmUp(DEFAULT_POLICY);
post({ type: 'ready' });

port.on('message', function runTask(task: ThreadTask) {
  for (const id of task.drop ?? []) policies.delete(id);
  if (task.policy !== undefined) policies.set(task.policyId, task.policy);
  const policy = policies.get(task.policyId);
  if (policy === undefined) {
    post({ type: 'failed', id: task.id, message: `policy ${task.policyId} was never sent to this thread` });
    return;
  }
  const shared = createSharedText(); // the trace's text work, shared by its modules
  for (const name of task.modules) post({ type: 'result', id: task.id, result: runModule(name, task.trace, policy, { shared }) });
});
