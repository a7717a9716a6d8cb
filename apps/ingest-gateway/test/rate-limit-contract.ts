/**
 * The contract every RateLimiter keeps, run against the in-process limiter (unit) and the Redis one
 * (integration). Real time: the limits are chosen so that the refill during a test is far below one
 * unit (rate 1/s within well under a second) or waited for explicitly.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RateLimiter } from '../src/index.js';

export function rateLimiterContract(name: string, limiter: () => RateLimiter): void {
  describe(`${name}: the RateLimiter contract`, () => {
    const key = () => `contract:${randomUUID()}`;

    it('allows a burst at once, then refuses with a retry of about one emission interval', async () => {
      const k = key();
      const limit = { rate: 1, burst: 5 };
      const remaining: number[] = [];
      for (let i = 0; i < 5; i++) {
        const d = await limiter().take(k, 1, limit);
        expect(d.allowed).toBe(true);
        remaining.push(d.remaining);
      }
      expect(remaining).toEqual([4, 3, 2, 1, 0]);
      const refused = await limiter().take(k, 1, limit);
      expect(refused).toMatchObject({ allowed: false, remaining: 0, limit: 5 });
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
      expect(refused.resetMs).toBeGreaterThan(4000);
      expect(refused.resetMs).toBeLessThanOrEqual(5000);
    });

    it('refills at the rate: after the retry it allows again', async () => {
      const k = key();
      const limit = { rate: 20, burst: 2 };
      expect((await limiter().take(k, 2, limit)).allowed).toBe(true);
      const refused = await limiter().take(k, 1, limit);
      expect(refused.allowed).toBe(false);
      await sleep(refused.retryAfterMs + 5);
      expect((await limiter().take(k, 1, limit)).allowed).toBe(true);
    });

    it('charges the cost: a batch takes that many units, and one that does not fit takes nothing', async () => {
      const k = key();
      const limit = { rate: 1, burst: 100 };
      expect(await limiter().take(k, 60, limit)).toMatchObject({ allowed: true, remaining: 40 });
      const refused = await limiter().take(k, 50, limit);
      expect(refused).toMatchObject({ allowed: false, remaining: 40 });
      expect(refused.retryAfterMs).toBeGreaterThan(9_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(10_000);
      expect(await limiter().take(k, 40, limit)).toMatchObject({ allowed: true, remaining: 0 });
    });

    it('refuses a cost above the burst even from a full bucket, with a finite retry', async () => {
      const d = await limiter().take(key(), 11, { rate: 1, burst: 10 });
      expect(d.allowed).toBe(false);
      expect(d.remaining).toBe(10);
      expect(Number.isFinite(d.retryAfterMs)).toBe(true);
      expect(d.retryAfterMs).toBeGreaterThan(0);
      expect(d.retryAfterMs).toBeLessThanOrEqual(1000);
    });

    it('keeps keys apart', async () => {
      const [a, b] = [key(), key()];
      expect((await limiter().take(a, 3, { rate: 1, burst: 3 })).allowed).toBe(true);
      expect((await limiter().take(a, 1, { rate: 1, burst: 3 })).allowed).toBe(false);
      expect(await limiter().take(b, 3, { rate: 1, burst: 3 })).toMatchObject({ allowed: true, remaining: 0 });
    });

    it('applies a changed limit at once: an exhausted key is never more than one emission interval of the new limit from its next unit', async () => {
      // Raised (rate up, burst down: the old debt in time was the lock-out), reset to large defaults, and lowered.
      const changes = [
        [{ rate: 1, burst: 600 }, { rate: 100, burst: 50 }],
        [{ rate: 1, burst: 3_600 }, { rate: 10_000, burst: 20_000 }],
        [{ rate: 2, burst: 100 }, { rate: 20, burst: 100 }],
        [{ rate: 2, burst: 1_000 }, { rate: 1, burst: 10 }],
      ] as const;
      for (const [before, after] of changes) {
        const k = key();
        expect((await limiter().take(k, before.burst, before)).allowed).toBe(true);
        expect((await limiter().take(k, 1, before)).allowed).toBe(false);
        const next = await limiter().take(k, 1, after);
        const label = `${before.rate}/s burst ${before.burst} -> ${after.rate}/s burst ${after.burst}`;
        expect(next.allowed || next.retryAfterMs <= Math.ceil(1000 / after.rate), `${label}: ${JSON.stringify(next)}`).toBe(true);
        expect(next.resetMs, label).toBeLessThanOrEqual(Math.ceil((1000 * after.burst) / after.rate) + 1);
        // And it is let in once that wait is over: refusals do not keep it a full bucket behind.
        if (!next.allowed) await sleep(next.retryAfterMs + 5);
        const later = await limiter().take(k, 1, after);
        expect(next.allowed || later.allowed, `${label}, after the wait: ${JSON.stringify(later)}`).toBe(true);
      }
    });

    it('lets a key exhausted under a slow limit flow at a raised one, take after take', async () => {
      const k = key();
      const slow = { rate: 1, burst: 30 };
      const fast = { rate: 200, burst: 5 };
      expect((await limiter().take(k, 30, slow)).allowed).toBe(true);
      const decisions = [];
      for (let i = 0; i < 20; i++) {
        decisions.push(await limiter().take(k, 1, fast));
        await sleep(10);
      }
      // 20 takes 10 ms apart at 200/s after at most a full bucket of debt: most are allowed.
      expect(decisions.filter((d) => d.allowed).length, JSON.stringify(decisions.map((d) => d.allowed))).toBeGreaterThanOrEqual(10);
    });

    it('carries what a key used into a changed limit: a raised rate does not refill a bucket that was just emptied', async () => {
      const k = key();
      expect((await limiter().take(k, 100, { rate: 1, burst: 100 })).allowed).toBe(true);
      // 100 units used; at 10/s with a burst of 100 they take 10 s to come back, so 50 more do not fit now.
      const raised = await limiter().take(k, 50, { rate: 10, burst: 100 });
      expect(raised.allowed).toBe(false);
      expect(raised.retryAfterMs).toBeGreaterThan(4_000);
      expect(raised.retryAfterMs).toBeLessThanOrEqual(5_000);
    });

    it('refuses nonsense limits and costs', async () => {
      await expect(limiter().take(key(), -1, { rate: 1, burst: 1 })).rejects.toThrow(/cost/);
      await expect(limiter().take(key(), 1, { rate: 0, burst: 1 })).rejects.toThrow(/rate and burst/);
      await expect(limiter().take(key(), 1, { rate: 1.5, burst: 1 })).rejects.toThrow(/rate and burst/);
    });
  });
}
