/**
 * The retention job: every `intervalMs` (and once shortly after start), delete what each organization
 * keeps past its retention from the relational store, in batches, so no statement holds locks for
 * long. The facts store needs no job: every fact row carries its retention and ClickHouse's TTL drops
 * it. Several processes may run the job at once (the deletes are idempotent); the dev process and the
 * console process run it.
 */
import type { RelationalStore } from '@metronis/stores';
import { errorFields } from '@metronis/streams';
import type { Logger } from './logger.js';

export interface RetentionJobOptions {
  store: Pick<RelationalStore, 'enforceRetention'>;
  logger: Pick<Logger, 'info' | 'warn'>;
  intervalMs: number;
  /** rows per DELETE (default 1000) */
  batchSize?: number;
  /** batches per org and table and pass (default 100) */
  maxBatches?: number;
  /** delay of the first pass (default 10 s) */
  firstRunMs?: number;
  /** Also removes what has expired beside the data (console sessions, used sign-in links); returns the count. */
  sweep?: () => Promise<number>;
}

/** How the job runs, in words, for the compliance report. */
export function describeRetentionJob(options: Pick<RetentionJobOptions, 'intervalMs' | 'batchSize'>): string {
  const every = options.intervalMs % 3_600_000 === 0 ? `${options.intervalMs / 3_600_000} h` : `${Math.round(options.intervalMs / 1000)} s`;
  return `every ${every}, in batches of ${options.batchSize ?? 1000} rows`;
}

export function startRetentionJob(options: RetentionJobOptions): { stop(): Promise<void> } {
  const batchSize = options.batchSize ?? 1000;
  const maxBatches = options.maxBatches ?? 100;
  let running: Promise<void> | null = null;
  let stopped = false;

  async function pass(): Promise<void> {
    try {
      const results = await options.store.enforceRetention({ now: Date.now(), batchSize, maxBatches });
      const removed = results.filter((r) => r.traces + r.verdicts + r.evaluations > 0);
      if (removed.length > 0) options.logger.info({ removed }, 'retention pass deleted expired rows');
      const swept = (await options.sweep?.()) ?? 0;
      if (swept > 0) options.logger.info({ sessions: swept }, 'retention pass removed expired console sessions');
    } catch (err) {
      options.logger.warn({ error: errorFields(err) }, 'retention pass failed; the next one retries');
    }
  }

  const run = () => {
    if (stopped || running !== null) return;
    running = pass().finally(() => (running = null));
  };
  const first = setTimeout(run, options.firstRunMs ?? 10_000);
  const timer = setInterval(run, options.intervalMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
