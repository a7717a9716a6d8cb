/**
 * Done when two gateways share one rate limit: two `metronis gateway` processes from the build, on the
 * same Kafka, registry, Postgres (a throwaway database) and Redis, with small default limits for the
 * organization (METRONIS_RATE_LIMITS). A burst sent across both is allowed exactly the limit's burst in
 * total — plus what the limit refills while the burst runs, computed from its duration — and every
 * other request is answered 429 with Retry-After and the RateLimit headers. With in-process buckets
 * each gateway would allow the burst on its own: twice as many.
 *
 * Also: limits an organization saves through the console's admin API reach both gateways, and a
 * gateway whose Redis is unreachable starts and lets requests through (fail open).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisRateLimiter } from '@metronis/ingest-gateway';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, runCli, type Running } from './process.js';

const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const SCHEMA_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
// A Redis database of its own, so other runs against the same server do not share the buckets.
const REDIS_URL = (() => {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:16379');
  url.pathname = `/${1 + Math.floor(Math.random() * 15)}`;
  return url.toString();
})();
const KEY = `mtr_rl_${randomUUID().replaceAll('-', '')}`;
const database = `metronis_rl_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const dbUrl = (() => {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();

const LIMITS = { requests_per_second: 1, requests_burst: 30, traces_per_second: 1, traces_burst: 100 };
const BUCKETS = ['metronis:rl:requests:default', 'metronis:rl:traces:default'];

let factsDir: string;
let env: Record<string, string>;
let redis: ReturnType<typeof createRedisRateLimiter>['redis'];
const processes: Running[] = [];
const gateways: string[] = [];

function start(args: string[], extra: Record<string, string> = {}): Running {
  const child = runCli(args, { ...env, ...extra });
  processes.push(child);
  return child;
}

async function startGateway(extra: Record<string, string> = {}): Promise<string> {
  const gateway = start(['gateway'], { METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info', ...extra });
  return (await gateway.waitFor(/"url":"(http:\/\/[^"]+)","msg":"gateway listening"/))[1]!;
}

function post(url: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

const trace = (i: number) => ({ trace_id: `rl-${i}-${randomUUID()}`, input: 'q', output: 'a' });

/** Sends every request at once, alternating between the two gateways; the answers and how long it took. */
async function burst(count: number, send: (url: string, i: number) => Promise<Response>) {
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const gateway = i % 2;
      const res = await send(gateways[gateway]!, i);
      const body = (await res.json()) as { error?: { code: string } };
      return { gateway, status: res.status, headers: res.headers, body };
    }),
  );
  return { answers, seconds: (performance.now() - started) / 1000 };
}

function expectRefusalsExplained(refused: { headers: Headers; body: { error?: { code: string } } }[], limit: number, kind: string): void {
  for (const r of refused) {
    expect(r.body.error?.code).toBe('rate_limited');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r.headers.get('ratelimit-limit')).toBe(String(limit));
    expect(Number(r.headers.get('ratelimit-remaining'))).toBeGreaterThanOrEqual(0);
    expect(Number(r.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    expect(r.headers.get('ratelimit-policy')).toContain(`comment="${kind}"`);
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  factsDir = await mkdtemp(join(tmpdir(), 'metronis-rl-facts-'));
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  await admin.end();
  env = { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL: dbUrl, CLICKHOUSE_URL: `chdb:${factsDir}`, METRONIS_DEV_API_KEY: KEY, METRONIS_RATE_LIMITS: JSON.stringify(LIMITS) };
  // The limiter's own client, as an admin connection to the test's Redis database.
  const limiter = createRedisRateLimiter({ url: REDIS_URL, timeoutMs: 2_000 });
  await limiter.connected();
  redis = limiter.redis;
  await redis.del(...BUCKETS);

  const migrate = start(['migrate']);
  const code = await migrate.exited;
  if (code !== 0) throw new Error(`metronis migrate exited with ${code}:\n${migrate.output()}`);
  gateways.push(...(await Promise.all([startGateway({ REDIS_URL }), startGateway({ REDIS_URL })])));
  // Warm both up (key lookup cached, producer and Redis connections open), then start from full buckets.
  for (const url of gateways) {
    expect((await post(url, '/v1/traces', trace(-1))).status).toBe(202);
    expect((await post(url, '/v1/traces/batch', { traces: [trace(-2)] })).status).toBe(202);
  }
  await redis.del(...BUCKETS);
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGTERM')));
  await redis?.del(...BUCKETS);
  await redis?.quit();
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${database}" with (force)`);
  await admin.end();
  await rm(factsDir, { recursive: true, force: true });
}, 120_000);

describe('two gateways, one rate limit in Redis', () => {
  it('allow the requests burst once between them, and answer the rest 429 with headers', async () => {
    const { answers, seconds } = await burst(80, (url, i) => post(url, '/v1/traces', trace(i)));
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 429);
    expect(accepted.length + refused.length, JSON.stringify(answers.filter((a) => a.status !== 202 && a.status !== 429).map((a) => a.body))).toBe(80);
    // GCRA refills rate × elapsed units: allow that many more, computed, not guessed.
    expect(accepted.length).toBeGreaterThanOrEqual(LIMITS.requests_burst);
    expect(accepted.length).toBeLessThanOrEqual(LIMITS.requests_burst + Math.floor(seconds * LIMITS.requests_per_second) + 1);
    // Each gateway was sent 40, more than the burst: with a bucket each, they would have allowed 60.
    expectRefusalsExplained(refused, LIMITS.requests_burst, 'requests');
    const perGateway = [0, 1].map((g) => accepted.filter((a) => a.gateway === g).length).join(' + ');
    console.info(`requests: ${perGateway} of 80 accepted across two gateways in ${seconds.toFixed(2)} s (burst ${LIMITS.requests_burst}, ${LIMITS.requests_per_second}/s)`);
  });

  it('allow the traces burst once between them, counting each trace of a batch', async () => {
    await redis.del(...BUCKETS);
    const { answers, seconds } = await burst(20, (url, i) => post(url, '/v1/traces/batch', { traces: Array.from({ length: 10 }, (_, j) => trace(i * 10 + j)) }));
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 429);
    expect(accepted.length + refused.length).toBe(20);
    const traces = accepted.length * 10;
    expect(traces).toBeGreaterThanOrEqual(LIMITS.traces_burst);
    // A further batch of 10 fits only after 10 traces' worth of refill.
    expect(traces).toBeLessThanOrEqual(LIMITS.traces_burst + 10 * Math.floor((seconds * LIMITS.traces_per_second) / 10));
    // Each gateway was sent 100 traces, the whole burst: with a bucket each, all 200 would pass.
    expectRefusalsExplained(refused, LIMITS.traces_burst, 'traces');
    const perGateway = [0, 1].map((g) => accepted.filter((a) => a.gateway === g).length * 10).join(' + ');
    console.info(`traces: ${perGateway} of 200 accepted across two gateways in ${seconds.toFixed(2)} s (burst ${LIMITS.traces_burst}, ${LIMITS.traces_per_second}/s)`);
  });

  it('enforce the limits the organization saved through the console, on both gateways', async () => {
    await redis.del(...BUCKETS);
    const consoleApp = start(['console'], { METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info', REDIS_URL, CLICKHOUSE_URL: `chdb:${join(factsDir, 'console')}` });
    const consoleUrl = (await consoleApp.waitFor(/"url":"(http:\/\/[^"]+)","msg":"console listening"/))[1]!;
    const saved = { requests_per_second: 1, requests_burst: 5, traces_per_second: 1, traces_burst: 100 };
    const put = await fetch(`${consoleUrl}/v1/org/rate-limits`, { method: 'PUT', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(saved) });
    expect(put.status, await put.text()).toBe(200);
    // Each gateway reads the org's settings through a short cache: wait until both apply the new burst.
    for (const url of gateways) {
      await eventually(async () => ((await post(url, '/v1/traces', trace(-3))).headers.get('ratelimit-policy')?.startsWith('5;') ? true : undefined), 20_000, 'the saved limit applied');
    }
    await redis.del(...BUCKETS);
    const { answers, seconds } = await burst(20, (url, i) => post(url, '/v1/traces', trace(i)));
    const accepted = answers.filter((a) => a.status === 202).length;
    expect(accepted).toBeGreaterThanOrEqual(saved.requests_burst);
    expect(accepted).toBeLessThanOrEqual(saved.requests_burst + Math.floor(seconds * saved.requests_per_second) + 1);
    expectRefusalsExplained(answers.filter((a) => a.status === 429), saved.requests_burst, 'requests');

    await redis.del(...BUCKETS);
    const back = await fetch(`${consoleUrl}/v1/org/rate-limits`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } });
    expect(back.status).toBe(200);
    for (const url of gateways) {
      await eventually(async () => ((await post(url, '/v1/traces', trace(-4))).headers.get('ratelimit-policy')?.startsWith(`${LIMITS.requests_burst};`) ? true : undefined), 20_000, 'the defaults back');
    }
  });

  it('a gateway whose Redis cannot be reached starts and lets requests through', async () => {
    const url = await startGateway({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    const statuses = [];
    for (let i = 0; i < LIMITS.requests_burst + 5; i++) statuses.push((await post(url, '/v1/traces', trace(i))).status);
    expect(new Set(statuses)).toEqual(new Set([202]));
    const output = processes.at(-1)!.output();
    expect(output).toMatch(/Redis unreachable at start/);
    expect(output).toMatch(/"event":"rate_limit_fail_open"/);
  });
});
