/**
 * GCRA shared by every gateway instance, in Redis: one Lua script per take, so the read of the TAT,
 * the decision and the write are atomic (Redis runs a script alone). The clock is Redis's own
 * (`TIME`, in microseconds), so the gateways' clocks do not matter. The key is
 * `<prefix><key>` (default prefix `metronis:rl:`, so `metronis:rl:traces:org_acme`), written with
 * `SET ... PX` to expire exactly when the bucket is full again: an idle org holds no memory.
 *
 * The script is sent by its SHA-1 (`EVALSHA`); after a Redis restart or `SCRIPT FLUSH` the server
 * answers NOSCRIPT and the take is retried once with `EVAL`, which loads it again.
 *
 * Every call is bounded by `timeoutMs` (ioredis `commandTimeout`), and commands are not queued while
 * disconnected, so a Redis outage rejects at once instead of piling requests up. What to do then is
 * the caller's choice; the gateway's middleware lets the request through (fail open, middleware.ts).
 * The same holds before the first connection: await `connected()` at start to begin with it open.
 *
 * @example
 *   const limiter = createRedisRateLimiter({ url: 'redis://127.0.0.1:6379' });
 *   await limiter.take('traces:org_acme', 50, { rate: 10_000, burst: 20_000 });
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { assertTake, type RateLimiter, type RateLimitDecision } from './gcra.js';

export interface RedisRateLimiterOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  url: string;
  /** Prefix of every key. Default `metronis:rl:`. */
  prefix?: string;
  /** Longest wait for one take before it rejects. Default 250 ms. */
  timeoutMs?: number;
  /** Connection errors (reported at most once per 10 s by the caller's logger). */
  onError?: (err: Error) => void;
}

// KEYS[1] bucket; ARGV[1] emission interval in µs (may be fractional), ARGV[2] burst, ARGV[3] cost.
// Returns { allowed 0|1, remaining, retry after µs, reset µs } as integers (Redis truncates numbers).
// The value is "<TAT in µs>:<the interval it was taken with>" (a bare TAT from before: the current
// interval); TAT written with %.0f, as tostring() would keep only 14 digits. The carry-over of a
// debt taken under another limit is gcra.ts's currentTat, step for step.
export const GCRA_SCRIPT = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = now
local rebased = false
local stored = redis.call('GET', KEYS[1])
if stored then
  local storedTat, storedInterval = string.match(stored, '^([%d%.]+):([%d%.eE+-]+)$')
  if storedTat == nil then storedTat = stored end
  storedTat = tonumber(storedTat)
  storedInterval = tonumber(storedInterval) or interval
  if storedTat ~= nil and storedTat > now then
    local units = (storedTat - now) / storedInterval
    if units > burst then
      tat = now + burst * interval
      rebased = true
    elseif storedInterval == interval then
      tat = storedTat
    else
      tat = now + units * interval
      rebased = true
    end
  end
end
local tolerance = interval * burst
local nextTat = tat + cost * interval
local allowAt = nextTat - tolerance
if allowAt > now then
  -- Refused under a changed limit: keep the debt as carried over, so it drains at the new rate.
  if rebased then
    redis.call('SET', KEYS[1], string.format('%.0f', tat) .. ':' .. ARGV[1], 'PX', math.max(1, math.ceil((tat - now) / 1000)))
  end
  local wait = allowAt - now
  if cost > burst then wait = tat - now end
  return { 0, math.max(0, math.floor((tolerance - (tat - now)) / interval)), math.max(1, math.ceil(wait)), math.ceil(tat - now) }
end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', nextTat) .. ':' .. ARGV[1], 'PX', math.max(1, math.ceil((nextTat - now) / 1000)))
end
return { 1, math.max(0, math.floor((tolerance - (nextTat - now)) / interval)), 0, math.ceil(nextTat - now) }
`;

const SHA = createHash('sha1').update(GCRA_SCRIPT).digest('hex');

const toMs = (us: number): number => Math.ceil(us / 1000);

export interface RedisRateLimiter extends RateLimiter {
  redis: Redis;
  /** Resolves once connected; rejects after `timeoutMs` (the limiter keeps reconnecting either way). */
  connected(timeoutMs?: number): Promise<void>;
}

export function createRedisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  const prefix = options.prefix ?? 'metronis:rl:';
  const timeoutMs = options.timeoutMs ?? 250;
  const redis = new Redis(options.url, {
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1_000),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Reconnect forever, at most every 2 s: the limiter comes back by itself when Redis does.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  // Without a listener ioredis prints every connection error to stderr.
  redis.on('error', (err: Error) => options.onError?.(err));

  async function run(key: string, args: string[]): Promise<number[]> {
    try {
      return (await redis.evalsha(SHA, 1, key, ...args)) as number[];
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return (await redis.eval(GCRA_SCRIPT, 1, key, ...args)) as number[];
    }
  }

  return {
    redis,
    connected(waitMs = 2_000) {
      if (redis.status === 'ready') return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          redis.off('ready', onReady);
          reject(new Error(`Redis at ${redis.options.host}:${redis.options.port} did not answer within ${waitMs} ms`));
        }, waitMs);
        const onReady = (): void => {
          clearTimeout(timer);
          resolve();
        };
        redis.once('ready', onReady);
      });
    },
    async take(key, cost, limit): Promise<RateLimitDecision> {
      assertTake(cost, limit);
      const [allowed, remaining, retryAfterUs, resetUs] = await run(prefix + key, [String(1_000_000 / limit.rate), String(limit.burst), String(cost)]);
      return { allowed: allowed === 1, remaining: remaining!, retryAfterMs: allowed === 1 ? 0 : toMs(retryAfterUs!), resetMs: toMs(resetUs!), limit: limit.burst };
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
