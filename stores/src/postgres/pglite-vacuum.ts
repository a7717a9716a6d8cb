/**
 * Autovacuum for PGlite. PGlite is one Postgres backend in single-user mode: no autovacuum launcher
 * and no checkpointer run beside it, so dead row versions were never reclaimed and the planner never
 * got statistics. Every trace row has one: the verdict's summary reaches its trace by an UPDATE
 * (migration 0005's trigger) that writes a second version of the row and of its entries in every
 * index. This loop does what autovacuum would, with its default thresholds (a table is vacuumed when
 * its dead rows pass 50 + 20% of its live rows, or its inserts since the last vacuum pass
 * 1,000 + 20%; analyzed when its changes since the last analyze pass 50 + 10%), read from PGlite's
 * own statistics. VACUUM (not FULL) makes the space reusable by later writes; files do not shrink.
 *
 * PGlite runs one statement at a time, so a VACUUM holds the sinks' writes back while it runs; the
 * thresholds keep its cost per row written constant as tables grow.
 *
 * @example
 *   const vacuum = startPgliteAutovacuum(client, { intervalMs: 30_000, onError: (e) => logger.warn({ err: e }, 'vacuum failed') });
 *   await vacuum.stop();
 */
import type { PgliteClient } from './pglite-thread.js';

export interface PgliteAutovacuumOptions {
  /** how often the statistics are checked (default 30 s) */
  intervalMs?: number;
  /** a failed pass (the loop carries on at the next interval) */
  onError?: (error: unknown) => void;
  /** each table vacuumed or analyzed, for logs and tests */
  onRun?: (run: { table: string; vacuum: boolean; analyze: boolean; ms: number }) => void;
}

export interface PgliteAutovacuum {
  /** one pass now (also what the timer runs); answers the tables it worked on */
  runOnce(): Promise<string[]>;
  /** stops the timer and waits for a pass under way */
  stop(): Promise<void>;
}

interface TableStats {
  relname: string;
  live: number;
  dead: number;
  ins: number;
  mod: number;
}

/** Autovacuum's defaults (autovacuum_vacuum_threshold and friends). */
export const AUTOVACUUM_THRESHOLDS = { vacuum: { base: 50, scale: 0.2 }, insert: { base: 1000, scale: 0.2 }, analyze: { base: 50, scale: 0.1 } } as const;

const over = (count: number, live: number, t: { base: number; scale: number }) => count > t.base + t.scale * live;

export function startPgliteAutovacuum(client: PgliteClient, options: PgliteAutovacuumOptions = {}): PgliteAutovacuum {
  const intervalMs = options.intervalMs ?? 30_000;
  if (!Number.isFinite(intervalMs) || intervalMs < 10) throw new RangeError(`startPgliteAutovacuum: intervalMs must be at least 10, got ${intervalMs}`);
  let running: Promise<string[]> | null = null;
  let stopped = false;

  async function pass(): Promise<string[]> {
    // this backend's counters reach the statistics when it next goes idle, at most once a second: flush them now
    await client.query('SELECT pg_stat_force_next_flush()');
    const { rows } = await client.query<TableStats>(
      `SELECT relname, n_live_tup::float8 AS live, n_dead_tup::float8 AS dead, n_ins_since_vacuum::float8 AS ins, n_mod_since_analyze::float8 AS mod
       FROM pg_stat_user_tables WHERE schemaname = 'public' ORDER BY relname`,
    );
    const worked: string[] = [];
    for (const t of rows) {
      if (stopped || client.closed) break;
      const vacuum = over(t.dead, t.live, AUTOVACUUM_THRESHOLDS.vacuum) || over(t.ins, t.live, AUTOVACUUM_THRESHOLDS.insert);
      const analyze = over(t.mod, t.live, AUTOVACUUM_THRESHOLDS.analyze);
      if (!vacuum && !analyze) continue;
      const started = performance.now();
      const name = `"${t.relname.replaceAll('"', '""')}"`;
      // VACUUM cannot run inside a transaction block: one statement per call
      await client.exec(vacuum ? `VACUUM ${analyze ? '(ANALYZE) ' : ''}${name}` : `ANALYZE ${name}`);
      options.onRun?.({ table: t.relname, vacuum, analyze, ms: Math.round(performance.now() - started) });
      worked.push(t.relname);
    }
    return worked;
  }

  function runOnce(): Promise<string[]> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  const timer = setInterval(() => {
    if (running !== null || stopped) return;
    runOnce().catch((error: unknown) => {
      if (!stopped && !client.closed) options.onError?.(error);
    });
  }, intervalMs);
  timer.unref();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
