/**
 * Pacing of deliveries to far ends that publish a rate limit (PagerDuty Events API v2: about 120
 * events a minute per routing key). A sliding-window log per key: at most `limit` sends in any
 * `windowMs`, so no minute ever holds more than the limit (a token bucket with a full burst would
 * allow twice that across a minute boundary). A send without a slot is not attempted: the notifier
 * puts its delivery back in the queue for the time the oldest send of the window leaves it, without
 * counting an attempt, so nothing paced is lost and deliveries of one group keep their order.
 *
 * The log is per process (the notifier of each alerts worker); several workers sending to one
 * routing key each keep the pace, and PagerDuty's 429 (retried with backoff) covers what they add
 * together. Keys are hashed by the caller: no secret (a routing key) is held here.
 */

export interface Pacing {
  /** what the limit is counted by (a hash of the routing key), or null when this send is not paced */
  key(settings: Record<string, unknown>, secrets: Record<string, unknown>): string | null;
  limit: number;
  windowMs: number;
}

export type PaceAnswer = { ok: true } | { ok: false; retryAt: number };

export interface Pacer {
  /** takes a slot for `key` now, or says when the next one frees */
  take(key: string, limit: number, windowMs: number): PaceAnswer;
}

export function createPacer(options: { clock?: { now(): number } } = {}): Pacer {
  const clock = options.clock ?? Date;
  const logs = new Map<string, number[]>();
  let lastSweep = 0;
  return {
    take(key, limit, windowMs) {
      const now = clock.now();
      if (now - lastSweep > windowMs) {
        lastSweep = now;
        for (const [k, sent] of logs) if (sent.length === 0 || sent[sent.length - 1]! <= now - windowMs) logs.delete(k);
      }
      let sent = logs.get(key);
      if (sent === undefined) {
        sent = [];
        logs.set(key, sent);
      }
      while (sent.length > 0 && sent[0]! <= now - windowMs) sent.shift();
      if (sent.length >= limit) return { ok: false, retryAt: sent[sent.length - limit]! + windowMs };
      sent.push(now);
      return { ok: true };
    },
  };
}
