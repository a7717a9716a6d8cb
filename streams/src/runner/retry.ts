/**
 * Retrying infrastructure failures: exponential backoff with jitter, capped, forever (a record is
 * never skipped because a service is down), until the runner is stopped, which interrupts the wait.
 */
import { isRetriable } from '../errors.js';
import type { RetryOptions } from './types.js';

/** Thrown out of a retry or a wait when the runner was asked to stop: the work in flight is abandoned, uncommitted. */
export class StoppedError extends Error {
  override readonly name = 'StoppedError';
  constructor() {
    super('the runner is stopping');
  }
}

/** The delay before retry number `attempt` (0-based): between half and all of min(maxMs, initialMs·2^attempt). */
export function backoffDelay(attempt: number, options: RetryOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** Waits `ms`, or rejects with `StoppedError` as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new StoppedError());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StoppedError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface Retrier {
  /** Runs `fn`, retrying it while it fails with a retriable error; other errors are thrown as they are. */
  <T>(what: string, fn: () => T | Promise<T>): Promise<T>;
}

/**
 * A retrier bound to the runner's stop signal. The first attempt always runs (so a flush on stop is
 * tried once); after a retriable failure it waits, unless the runner is stopping.
 */
export function createRetrier(options: RetryOptions, signal: AbortSignal, onRetry: (what: string, error: unknown, attempt: number, delayMs: number) => void): Retrier {
  return async function retrying<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!isRetriable(error)) throw error;
        if (signal.aborted) throw new StoppedError();
        const delay = backoffDelay(attempt, options);
        onRetry(what, error, attempt, delay);
        await sleep(delay, signal);
      }
    }
  };
}
