/**
 * A closed-loop HTTP load generator: `connections` workers each send a request, wait for the answer,
 * send the next, for `durationMs`. Every latency is kept, so percentiles are exact. Used against the
 * gateway and, in the same run, against a bare node:http baseline.
 */
import { Pool } from 'undici';

export interface LoadOptions {
  url: string;
  path: string;
  headers: Record<string, string>;
  /** The body of the i-th request. */
  body(i: number): string;
  connections: number;
  durationMs: number;
  warmupMs?: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  status: Record<string, number>;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function phase(pool: Pool, options: LoadOptions, durationMs: number, counter: { i: number }, record: boolean) {
  const latencies: number[] = [];
  const status: Record<string, number> = {};
  const end = performance.now() + durationMs;
  const started = performance.now();
  async function worker() {
    while (performance.now() < end) {
      const body = options.body(counter.i++);
      const t0 = performance.now();
      const res = await pool.request({ path: options.path, method: 'POST', headers: options.headers, body });
      await res.body.dump();
      if (record) {
        latencies.push(performance.now() - t0);
        status[res.statusCode] = (status[res.statusCode] ?? 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: options.connections }, worker));
  return { latencies, status, seconds: (performance.now() - started) / 1000 };
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(options.url, { connections: options.connections, pipelining: 1 });
  const counter = { i: 0 };
  try {
    if ((options.warmupMs ?? 0) > 0) await phase(pool, options, options.warmupMs!, counter, false);
    const { latencies, status, seconds } = await phase(pool, options, options.durationMs, counter, true);
    const sorted = Float64Array.from(latencies).sort();
    const mean = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      requests: latencies.length,
      seconds: round(seconds),
      rps: Math.round(latencies.length / seconds),
      status,
      latencyMs: { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? NaN), mean: round(mean) },
    };
  } finally {
    await pool.close();
  }
}
