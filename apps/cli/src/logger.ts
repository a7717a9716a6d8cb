/** The process logger: JSON lines on stdout (pino), one per process, passed down explicitly. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, base: { pid: process.pid } });
}
