/**
 * Graceful shutdown: the first SIGTERM or SIGINT runs the registered closers in reverse order of
 * registration (stop taking requests, stop fetching and commit, then close clients); a second
 * signal exits at once.
 */
import type { Logger } from './logger.js';

export interface Lifecycle {
  /** Registers something to close on shutdown; closed last-registered first. */
  onClose(name: string, close: () => Promise<void>): void;
  /** Resolves once a signal arrived and everything registered is closed. */
  closed: Promise<void>;
  /** Closes everything now (used by tests and on start-up failure). */
  close(): Promise<void>;
}

export function createLifecycle(logger: Logger, options: { signals?: boolean } = {}): Lifecycle {
  const closers: Array<{ name: string; close: () => Promise<void> }> = [];
  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  async function closeAll(): Promise<void> {
    for (const { name, close } of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.error({ err, component: name }, 'error while closing');
      }
    }
    resolveClosed();
  }

  const close = () => (closing ??= closeAll());

  if (options.signals !== false) {
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing !== undefined) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      logger.info({ signal }, 'shutting down');
      void close();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    closed.then(() => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
  }

  return { onClose: (name, fn) => closers.push({ name, close: fn }), closed, close };
}
