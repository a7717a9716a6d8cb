/**
 * Store errors say which operation failed and keep the driver's error as `cause`, so that
 * `isRetriable()` (streams/src/errors.ts) still sees the network or server code (ECONNREFUSED,
 * CONNECTION_CLOSED, 57P01, ...) in the cause chain. A value the database refuses (a data error) is
 * not retriable; serialization failures and deadlocks are, and say so with `retriable`.
 */

/** Postgres SQLSTATEs worth retrying besides the connection ones isRetriable() knows. */
const RETRY_SQLSTATES = new Set(['40001', '40P01']);

export class StoreError extends Error {
  override readonly name: string = 'StoreError';
  /** true only when this layer knows the failure is transient; otherwise isRetriable() reads the cause chain */
  readonly retriable: boolean | undefined;
  constructor(
    readonly operation: string,
    message: string,
    options?: ErrorOptions & { retriable?: boolean },
  ) {
    super(`${operation}: ${message}`, options);
    this.retriable = options?.retriable;
  }
}

/**
 * A value the store cannot hold whatever is retried (for example U+0000 inside an id). Nothing of
 * the batch was written; `recordIndex` is the position of the offending record in the batch given,
 * so a sink can set that record aside (DLQ) and write the others.
 */
export class InvalidRecordError extends StoreError {
  override readonly name = 'InvalidRecordError';
  readonly recordIndex: number | undefined;
  constructor(operation: string, message: string, options?: ErrorOptions & { recordIndex?: number }) {
    super(operation, message, options);
    this.recordIndex = options?.recordIndex;
  }
}

/**
 * ClickHouse error codes worth retrying: TIMEOUT_EXCEEDED, TOO_MANY_SIMULTANEOUS_QUERIES,
 * SOCKET_TIMEOUT, NETWORK_ERROR, MEMORY_LIMIT_EXCEEDED, TABLE_IS_READ_ONLY, TOO_MANY_PARTS.
 */
export const CLICKHOUSE_RETRY_CODES: ReadonlySet<string> = new Set(['159', '202', '209', '210', '241', '242', '252']);

/**
 * Wraps a driver error with the operation that failed; the driver error stays in `cause`.
 * `retryCodes` are the server's own codes that mean "try again" (default: Postgres SQLSTATEs).
 */
export function storeError(operation: string, error: unknown, retryCodes: ReadonlySet<string> = RETRY_SQLSTATES): StoreError {
  if (error instanceof StoreError) return error;
  const root = rootCause(error);
  const code = (root as { code?: unknown }).code;
  const message = root instanceof Error ? root.message : String(root);
  const retriable = typeof code === 'string' && retryCodes.has(code) ? true : undefined;
  return new StoreError(operation, typeof code === 'string' ? `${message} (${code})` : message, { cause: error, retriable });
}

function rootCause(error: unknown): unknown {
  let e = error;
  for (let depth = 0; depth < 8; depth++) {
    const cause = (e as { cause?: unknown } | null)?.cause;
    if (cause === undefined || cause === null) break;
    e = cause;
  }
  return e;
}

/** A create that collides with something that exists (an organization id, say). Never retriable. */
export class ConflictError extends StoreError {
  override readonly name = 'ConflictError';
  constructor(operation: string, message: string) {
    super(operation, message, { retriable: false });
  }
}
