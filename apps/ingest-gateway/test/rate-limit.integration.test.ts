/**
 * The Redis limiter against the real redis-server of the stack (`npm run stack:up`, REDIS_URL): the
 * shared contract, atomicity across clients, the stored key, and the NOSCRIPT fallback. The outage test
 * runs a private redis-server (Debian's, which the stack installs) so the shared one is never stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisRateLimiter } from '../src/index.js';
import { rateLimiterContract } from './rate-limit-contract.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:16379';
const prefix = `metronis-test:${randomUUID()}:`;
const limiters = [createRedisRateLimiter({ url: REDIS_URL, prefix }), createRedisRateLimiter({ url: REDIS_URL, prefix })];
const admin = new Redis(REDIS_URL);

beforeAll(async () => {
  await Promise.all(limiters.map((l) => l.connected()));
});

afterAll(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  await Promise.all(limiters.map((l) => l.close()));
  await admin.quit();
});

rateLimiterContract('Redis GCRA', () => limiters[0]!);

describe('the Redis limiter', () => {
  it('never allows more than the burst (plus the refill while it ran) to concurrent takes from two clients', async () => {
    const key = `atomic:${randomUUID()}`;
    const limit = { rate: 2, burst: 50 };
    const started = Date.now();
    const decisions = await Promise.all(Array.from({ length: 400 }, (_, i) => limiters[i % 2]!.take(key, 1, limit)));
    const elapsedS = (Date.now() - started) / 1000;
    const allowed = decisions.filter((d) => d.allowed).length;
    expect(allowed).toBeGreaterThanOrEqual(50);
    expect(allowed).toBeLessThanOrEqual(50 + Math.ceil(elapsedS * limit.rate));
    // Every refusal says when to come back, and none says the bucket has room it does not have.
    for (const d of decisions.filter((x) => !x.allowed)) {
      expect(d.retryAfterMs).toBeGreaterThan(0);
      expect(d.remaining).toBe(0);
    }
  });

  it('stores the TAT under the prefixed key with an expiry at the time the bucket is full again', async () => {
    const key = `traces:org_${randomUUID()}`;
    const d = await limiters[0]!.take(key, 30, { rate: 10, burst: 100 });
    expect(d).toMatchObject({ allowed: true, remaining: 70 });
    const ttl = await admin.pttl(`${prefix}${key}`);
    expect(ttl).toBeGreaterThan(2_000);
    expect(ttl).toBeLessThanOrEqual(3_000);
    expect(d.resetMs).toBeLessThanOrEqual(3_000);
    // An integer number of microseconds, exact (not 1.7e+15).
    expect(await admin.get(`${prefix}${key}`)).toMatch(/^\d{16}:[\d.]+$/);
  });

  it('reads a bare TAT stored before keys kept their interval, capped at the current burst', async () => {
    const key = `legacy:${randomUUID()}`;
    const [seconds, micros] = await admin.time();
    const hourAhead = (Number(seconds) + 3_600) * 1_000_000 + Number(micros);
    await admin.set(`${prefix}${key}`, String(hourAhead), 'PX', 3_600_000);
    const d = await limiters[0]!.take(key, 1, { rate: 100, burst: 50 });
    expect(d.allowed || d.retryAfterMs <= 10, JSON.stringify(d)).toBe(true);
  });

  it('loads the script again after SCRIPT FLUSH (NOSCRIPT falls back to EVAL)', async () => {
    const key = `flush:${randomUUID()}`;
    expect((await limiters[1]!.take(key, 1, { rate: 1, burst: 2 })).allowed).toBe(true);
    await admin.script('FLUSH');
    expect(await limiters[1]!.take(key, 1, { rate: 1, burst: 2 })).toMatchObject({ allowed: true, remaining: 0 });
    expect((await limiters[1]!.take(key, 1, { rate: 1, burst: 2 })).allowed).toBe(false);
  });

  it('rejects within its timeout when Redis is unreachable instead of waiting', async () => {
    const down = createRedisRateLimiter({ url: 'redis://127.0.0.1:1', timeoutMs: 100 });
    try {
      await expect(down.connected(200)).rejects.toThrow(/did not answer within 200 ms/);
      await expect(down.take('x', 1, { rate: 1, burst: 1 })).rejects.toThrow();
    } finally {
      await down.close();
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 10_000;
  while (!output.includes('Ready to accept connections')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return child;
}

describe('the Redis limiter through an outage', () => {
  it('rejects at once while Redis is down, and limits again once it is back, by itself', async () => {
    const port = await freePort();
    let server = await startRedis(port);
    const limiter = createRedisRateLimiter({ url: `redis://127.0.0.1:${port}`, timeoutMs: 200, onError: () => undefined });
    try {
      await limiter.connected(5_000);
      const limit = { rate: 1, burst: 1 };
      expect((await limiter.take('outage', 1, limit)).allowed).toBe(true);
      expect((await limiter.take('outage', 1, limit)).allowed).toBe(false);

      server.kill('SIGKILL');
      await once(server, 'exit');
      const failures = await Promise.allSettled(Array.from({ length: 5 }, () => limiter.take('outage', 1, limit)));
      expect(failures.every((f) => f.status === 'rejected')).toBe(true);

      // A restarted Redis without persistence is empty: the limiter reconnects and starts from a full bucket.
      server = await startRedis(port);
      await limiter.connected(10_000);
      expect((await limiter.take('outage', 1, limit)).allowed).toBe(true);
      expect((await limiter.take('outage', 1, limit)).allowed).toBe(false);
    } finally {
      await limiter.close();
      server.kill('SIGKILL');
    }
  });
});
