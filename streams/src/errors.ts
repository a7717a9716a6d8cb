/**
 * Two kinds of failure, handled differently by the runner:
 * - infrastructure (the broker, a database, the registry is unreachable): retried with backoff, the
 *   partition waits, nothing is skipped;
 * - a record that cannot be processed (bad bytes, a value a processor rejects): that record goes to
 *   the DLQ with the reason in its headers, and the partition moves on.
 */

/** A failure of something outside the record: retry later. */
export class InfrastructureError extends Error {
  override readonly name: string = 'InfrastructureError';
  readonly retriable = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The log (Kafka or embedded) cannot take or serve records right now. */
export class LogUnavailableError extends InfrastructureError {
  override readonly name = 'LogUnavailableError';
}

/** The schema registry cannot be reached. */
export class RegistryUnavailableError extends InfrastructureError {
  override readonly name = 'RegistryUnavailableError';
}

/** A record that cannot be processed, whatever is retried: it belongs in the DLQ. */
export class PoisonRecordError extends Error {
  override readonly name: string = 'PoisonRecordError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The bytes are not a value of the expected schema (bad magic byte, unknown schema id, bad Avro). */
export class SerdeError extends PoisonRecordError {
  override readonly name = 'SerdeError';
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT', '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006',
]);

/** True for failures worth retrying: infrastructure errors and network-level errors anywhere in the cause chain. */
export function isRetriable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    if (e instanceof PoisonRecordError) return false;
    if ((e as { retriable?: unknown }).retriable === true) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some((inner) => isRetriable(inner))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
