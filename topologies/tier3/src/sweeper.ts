/**
 * The retry of pending judgments. Decision (README "Pending judgments"): a Postgres table swept
 * periodically, not a retry topic. A retry is due at a time (the provider's `retry-after`, or a
 * backoff); a Kafka consumer cannot wait for one record's time without holding up its partition, and
 * the table gives per-trace scheduling, a lease for several workers (SKIP LOCKED), and a count an
 * operator can query. The table holds the whole escalation, so a retry reads nothing else.
 *
 * Every `intervalMs` the sweeper leases up to `batch` due rows, judges each again (the criteria judged
 * before come from the cache, so a retry pays only for what failed) and:
 * - judged or not judged: produces the outputs (tier result and verdict, which replaces the
 *   `judge_pending` one) and removes the row; produced before removed, so a crash in between
 *   produces them twice, which the sinks absorb (idempotent by id);
 * - pending again: gives the row back, due after `min(maxDelayMs, baseDelayMs · 2^attempts)` or the
 *   provider's `retry-after`, whichever is later;
 * - older than `maxAgeMs` (default 3 days): gives up, producing the earlier tiers' verdict labelled
 *   `not_judged:retries_exhausted`, so a trace is never left pending for ever.
 *
 * @example
 *   const sweeper = startPendingSweeper({ store: store.judge, evaluate: (e) => evaluateTier3(e, deps), emit, logger });
 *   await sweeper.stop();
 */
import { verdictOverTiers } from '@metronis/evaluators';
import type { Escalation } from '@metronis/schemas';
import type { JudgeStore, PendingJudgment } from '@metronis/stores';
import { TOPICS, type Clock, type Output } from '@metronis/streams';
import type { Tier3Outcome } from './tier3.js';

export const NOT_JUDGED_RETRIES = 'not_judged:retries_exhausted';

export interface SweeperOptions {
  store: Pick<JudgeStore, 'claimPending' | 'reschedulePending' | 'removePending'>;
  evaluate(escalation: Escalation): Promise<Tier3Outcome>;
  /** Produces outputs to their topics (acknowledged before it resolves). */
  emit(outputs: Output[]): Promise<void>;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  intervalMs?: number;
  batch?: number;
  leaseMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAgeMs?: number;
  clock?: Clock;
}

export interface Sweeper {
  /** One pass now (tests, and the loop); resolves with how many rows it settled. */
  sweep(): Promise<{ judged: number; rescheduled: number; abandoned: number }>;
  stop(): Promise<void>;
}

export function createPendingSweeper(options: SweeperOptions): Sweeper {
  const clock = options.clock ?? Date;
  const batch = options.batch ?? 20;
  const leaseMs = options.leaseMs ?? 5 * 60_000;
  const baseDelayMs = options.baseDelayMs ?? 60_000;
  const maxDelayMs = options.maxDelayMs ?? 3_600_000;
  const maxAgeMs = options.maxAgeMs ?? 3 * 86_400_000;

  async function settle(row: PendingJudgment, counts: { judged: number; rescheduled: number; abandoned: number }): Promise<void> {
    const escalation = row.escalation as Escalation;
    const outcome = await options.evaluate(escalation);
    if (outcome.kind !== 'pending') {
      await options.emit(outcome.outputs);
      await options.store.removePending(row.org_id, row.trace_id);
      counts.judged++;
      return;
    }
    if (clock.now() - row.created_at.getTime() >= maxAgeMs) {
      const earlier = escalation.results.filter((r) => r.tier < 3);
      await options.emit([{ topic: TOPICS.verdicts, value: verdictOverTiers(escalation.trace, earlier, clock.now(), [NOT_JUDGED_RETRIES]) }]);
      await options.store.removePending(row.org_id, row.trace_id);
      options.logger.warn({ org_id: row.org_id, trace_id: row.trace_id, attempts: row.attempts, reason: outcome.reason }, 'tier 3 gave up a pending judgment');
      counts.abandoned++;
      return;
    }
    const delay = Math.max(outcome.retryAfterMs ?? 0, Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(row.attempts, 20)));
    await options.store.reschedulePending(row.org_id, row.trace_id, outcome.reason, new Date(clock.now() + delay));
    counts.rescheduled++;
  }

  async function sweep() {
    const counts = { judged: 0, rescheduled: 0, abandoned: 0 };
    const rows = await options.store.claimPending(new Date(clock.now()), batch, leaseMs);
    // One failing row (a store error) leaves the others to settle; its lease ends and it is taken again.
    const results = await Promise.allSettled(rows.map((row) => settle(row, counts)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') options.logger.error({ err: r.reason, org_id: rows[i]!.org_id, trace_id: rows[i]!.trace_id }, 'tier 3 could not settle a pending judgment; it is retried when its lease ends');
    });
    if (rows.length > 0) options.logger.info({ ...counts, claimed: rows.length }, 'tier 3 swept pending judgments');
    return counts;
  }

  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweep()
        .catch((error: unknown) => options.logger.error({ err: error }, 'tier 3 pending sweep failed; it runs again at the next interval'))
        .finally(schedule);
    }, options.intervalMs ?? 15_000);
    timer.unref?.();
  };
  schedule();
  return {
    sweep,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
