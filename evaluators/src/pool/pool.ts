/**
 * The evaluation pool: Tier 1 modules run on worker threads (node:worker_threads), never on the event
 * loop that serves HTTP or fetches records, under a hard per-trace deadline.
 *
 * - `run(trace, policy)` resolves the graded results of the modules the policy enables, in registry
 *   order, exactly as `runModules` would give them in-process.
 * - A trace still running `deadlineMs` after its thread took it is stopped: the thread is terminated
 *   and replaced, the module it was running gets `module_error`/`deadline_exceeded`, and the modules
 *   after it run again on a fresh thread (each with the deadline again), so that one hostile module
 *   cannot take the others' verdicts with it. A thread that dies (out of memory within its
 *   `maxHeapMb`) is handled the same way, labelled `worker_exited`. The trace always gets a result.
 * - The deadline is far above normal costs (a trace takes well under a millisecond): it is a bound on
 *   hostile input, never a judgement of speed, so machine load does not change a verdict.
 * - Policies reach a thread once per policy object (they are per-org and cached by the caller): each
 *   task carries a policy id, and the policy itself only when that thread has not had it yet. A thread
 *   keeps at most `policiesPerThread` of them; the pool tells it which to forget.
 *
 * @example
 *   const pool = createEvaluationPool({ threads: 2, deadlineMs: 5_000 });
 *   const results = await pool.run(trace, policy); // ModuleResult[]
 *   await pool.close();
 */
import { Worker } from 'node:worker_threads';
import type { ModuleResult, Trace } from '@metronis/schemas';
import type { Policy } from '../policy.js';
import { interruptedResult, MODULE_NAMES, type Interruption, type ModuleName } from '../registry.js';
import type { ThreadMessage, ThreadTask } from './thread.js';

export interface EvaluationPoolOptions {
  /** Worker threads. Default 2. */
  threads?: number;
  /** Wall-clock time a trace may run on a thread before the thread is stopped. Default 5,000 ms. */
  deadlineMs?: number;
  /** Old-generation heap of each thread; past it the thread dies (`worker_exited`), not the process. Default 1,024 MB. */
  maxHeapMb?: number;
  /** Policies each thread keeps (least recently sent dropped first). Default 256. */
  policiesPerThread?: number;
  /** Told each time a thread is stopped and replaced (for logs and metrics). */
  onInterrupted?: (event: { reason: Interruption; module: ModuleName; trace_id: string; org_id: string }) => void;
}

export interface EvaluationPool {
  run(trace: Trace, policy: Policy): Promise<ModuleResult[]>;
  /** Stops every thread; runs not finished reject with a retriable error (the runner leaves them uncommitted). */
  close(): Promise<void>;
  stats(): { threads: number; busy: number; queued: number; interrupted: number };
}

export const DEFAULT_EVALUATION_THREADS = 2;
export const DEFAULT_EVALUATION_DEADLINE_MS = 5_000;

/** The pool is closed or cannot start threads: not about the record, so the runner retries instead of dead-lettering. */
export class EvaluationPoolClosedError extends Error {
  override name = 'EvaluationPoolClosedError';
  readonly retriable = true;
}

interface Task {
  id: number;
  trace: Trace;
  policy: Policy;
  /** Modules still to run, in registry order. */
  modules: ModuleName[];
  results: ModuleResult[];
  resolve(results: ModuleResult[]): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  task: Task | null;
  timer: NodeJS.Timeout | undefined;
  startedAt: number;
  /** Policy ids this thread holds, in the order they were sent (a Map keeps insertion order). */
  policies: Map<number, true>;
  drops: number[];
}

export function createEvaluationPool(options: EvaluationPoolOptions = {}): EvaluationPool {
  const threads = options.threads ?? DEFAULT_EVALUATION_THREADS;
  const deadlineMs = options.deadlineMs ?? DEFAULT_EVALUATION_DEADLINE_MS;
  const maxHeapMb = options.maxHeapMb ?? 1_024;
  const policiesPerThread = options.policiesPerThread ?? 256;
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`createEvaluationPool: threads must be a positive integer, got ${threads}`);
  if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) throw new RangeError(`createEvaluationPool: deadlineMs must be a positive number, got ${deadlineMs}`);
  if (!Number.isInteger(policiesPerThread) || policiesPerThread < 1) throw new RangeError(`createEvaluationPool: policiesPerThread must be a positive integer, got ${policiesPerThread}`);

  const policyIds = new WeakMap<Policy, number>();
  let nextPolicyId = 1;
  let nextTaskId = 1;
  let interrupted = 0;
  let closed = false;
  const queue: Task[] = [];
  const slots: Slot[] = [];

  function spawn(): Slot {
    const slot: Slot = { worker: startThread(maxHeapMb), ready: false, task: null, timer: undefined, startedAt: 0, policies: new Map(), drops: [] };
    let failure: Error | undefined;
    slot.worker.on('message', (message: ThreadMessage) => onMessage(slot, message));
    slot.worker.on('error', (error) => (failure = error)); // followed by 'exit', handled there
    slot.worker.on('exit', () => {
      if (closed || !slots.includes(slot)) return;
      if (!slot.ready) {
        // The thread could not even start (a broken install): say why to everyone waiting, retry later.
        const error = new EvaluationPoolClosedError(`an evaluation thread could not start: ${failure?.message ?? 'it exited'}`, { cause: failure });
        for (const task of queue.splice(0)) task.reject(error);
        setTimeout(() => {
          const index = slots.indexOf(slot);
          if (!closed && index >= 0) slots[index] = spawn();
        }, 1_000).unref();
        return;
      }
      stop(slot, 'worker_exited', `its evaluation thread exited while running it (${failure?.message ?? `for example out of memory past ${maxHeapMb} MB`})`);
    });
    slot.worker.unref();
    return slot;
  }

  function onMessage(slot: Slot, message: ThreadMessage): void {
    if (message.type === 'ready') {
      slot.ready = true;
      dispatch();
      return;
    }
    const task = slot.task;
    if (task === null || task.id !== message.id) return; // a late message of a task already stopped
    if (message.type === 'failed') {
      finish(slot);
      task.reject(new Error(`evaluation thread: ${message.message}`));
      return;
    }
    task.results.push(message.result);
    task.modules.shift();
    if (task.modules.length === 0) {
      finish(slot);
      task.resolve(task.results);
    }
  }

  /** The slot is free again: clear its deadline and give it the next task. */
  function finish(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.task = null;
    dispatch();
  }

  /** Stops the slot's thread (deadline or death), replaces it, and settles or re-queues its task. */
  function stop(slot: Slot, reason: Interruption, why: string): void {
    clearTimeout(slot.timer);
    const index = slots.indexOf(slot);
    if (index < 0) return;
    void slot.worker.terminate();
    slots[index] = spawn();
    const task = slot.task;
    slot.task = null;
    if (task !== null) {
      const hung = task.modules.shift() as ModuleName;
      interrupted++;
      options.onInterrupted?.({ reason, module: hung, trace_id: task.trace.trace_id, org_id: task.trace.org_id });
      task.results.push(interruptedResult(hung, task.policy, reason, `the module did not finish: ${why}`, Math.round((performance.now() - slot.startedAt) * 1000)));
      if (task.modules.length === 0) task.resolve(task.results);
      else queue.unshift(task); // the modules after it get a fresh thread and deadline
    }
    dispatch();
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (queue.length === 0) return;
      if (!slot.ready || slot.task !== null) continue;
      const task = queue.shift() as Task;
      slot.task = task;
      slot.startedAt = performance.now();
      slot.timer = setTimeout(() => stop(slot, 'deadline_exceeded', `the trace ran past its ${deadlineMs} ms deadline`), deadlineMs);
      slot.worker.postMessage(message(slot, task));
    }
  }

  function message(slot: Slot, task: Task): ThreadTask {
    let policyId = policyIds.get(task.policy);
    if (policyId === undefined) policyIds.set(task.policy, (policyId = nextPolicyId++));
    const out: ThreadTask = { id: task.id, trace: task.trace, modules: task.modules, policyId };
    if (slot.policies.has(policyId)) {
      slot.policies.delete(policyId); // most recently used last
    } else {
      out.policy = task.policy;
      if (slot.policies.size >= policiesPerThread) {
        const oldest = slot.policies.keys().next().value as number;
        slot.policies.delete(oldest);
        slot.drops.push(oldest);
      }
    }
    slot.policies.set(policyId, true);
    if (slot.drops.length > 0) {
      out.drop = slot.drops;
      slot.drops = [];
    }
    return out;
  }

  for (let i = 0; i < threads; i++) slots.push(spawn());

  return {
    run(trace, policy) {
      if (closed) return Promise.reject(new EvaluationPoolClosedError('the evaluation pool is closed'));
      const modules = MODULE_NAMES.filter((name) => policy.modules[name].enabled);
      if (modules.length === 0) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        queue.push({ id: nextTaskId++, trace, policy, modules, results: [], resolve, reject });
        dispatch();
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      const error = new EvaluationPoolClosedError('the evaluation pool closed before the trace was evaluated');
      for (const task of queue.splice(0)) task.reject(error);
      await Promise.all(
        slots.map(async (slot) => {
          clearTimeout(slot.timer);
          slot.task?.reject(error);
          slot.task = null;
          await slot.worker.terminate();
        }),
      );
    },

    stats: () => ({ threads: slots.length, busy: slots.filter((s) => s.task !== null).length, queued: queue.length, interrupted }),
  };
}

/**
 * Starts one evaluation thread. From the built package it runs `thread.js`; from the TypeScript
 * sources (tests, `--conditions=source`) it registers tsx inside the thread first, since a worker's
 * entry module is loaded before any `--import` hook applies to it.
 */
function startThread(maxHeapMb: number): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: maxHeapMb };
  if (import.meta.url.endsWith('.js')) return new Worker(new URL('./thread.js', import.meta.url), { resourceLimits });
  const entry = new URL('./thread.ts', import.meta.url).href;
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, execArgv: ['--conditions=source'], resourceLimits });
}
