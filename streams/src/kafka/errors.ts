/**
 * Maps what @platformatic/kafka throws onto the stream runtime's error taxonomy: an unreachable or
 * timing-out broker (network, timeout, or a retriable protocol error such as NOT_LEADER or
 * COORDINATOR_NOT_AVAILABLE) becomes `LogUnavailableError`, which the gateway answers with 503 and the
 * runner retries; anything else keeps its message, prefixed with what we were doing.
 */
import { LogUnavailableError } from '../errors.js';

interface ErrorLike {
  code?: unknown;
  canRetry?: unknown;
  apiId?: unknown;
  errors?: unknown;
  cause?: unknown;
  message?: unknown;
}

function walk(error: unknown, visit: (e: ErrorLike) => boolean, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 8) return false;
  const e = error as ErrorLike;
  if (visit(e)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => walk(inner, visit, depth + 1))) return true;
  return walk(e.cause, visit, depth + 1);
}

/** True when the error says the broker could not be reached or did not answer in time. */
export function isKafkaUnavailable(error: unknown): boolean {
  if (error instanceof LogUnavailableError) return true;
  return walk(error, (e) => e.code === 'PLT_KFK_NETWORK' || e.code === 'PLT_KFK_TIMEOUT' || (e.code === 'PLT_KFK_PROTOCOL' && e.canRetry === true));
}

/**
 * True when the broker answered with a protocol error it marks retriable (NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS, LEADER_NOT_AVAILABLE, ...): the state it needs is moving and the same
 * request succeeds once it settles, as after a broker restart while __consumer_offsets loads.
 * Rebalance errors are excluded: they mean a consumer joined, which waiting does not undo.
 */
export function isRetriableProtocolError(error: unknown): boolean {
  if (isRebalanceError(error)) return false;
  return walk(error, (e) => e.code === 'PLT_KFK_PROTOCOL' && e.canRetry === true);
}

/** True when a Kafka protocol error with this id (e.g. `TOPIC_ALREADY_EXISTS`) is anywhere in the error. */
export function hasKafkaErrorId(error: unknown, apiId: string): boolean {
  return walk(error, (e) => e.apiId === apiId);
}

/** True when the error says the consumer group moved on (rebalance, unknown member, old generation). */
export function isRebalanceError(error: unknown): boolean {
  return ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID'].some((id) => hasKafkaErrorId(error, id));
}

/** The innermost messages of an error tree, for logs and error messages. */
export function describeKafkaError(error: unknown): string {
  const messages: string[] = [];
  walk(error, (e) => {
    if (!Array.isArray(e.errors) && typeof e.message === 'string' && e.message && !messages.includes(e.message)) messages.push(e.message);
    return messages.length >= 3;
  });
  if (messages.length === 0) return error instanceof Error ? error.message : String(error);
  return messages.join('; ');
}

/** Wraps a failure of `action` into LogUnavailableError when the broker is the cause, else a plain Error. */
export function toLogError(error: unknown, action: string): Error {
  if (error instanceof LogUnavailableError) return error;
  if (isKafkaUnavailable(error)) {
    return new LogUnavailableError(`Kafka is unavailable: ${action} failed: ${describeKafkaError(error)}`, { cause: error });
  }
  return new Error(`Kafka ${action} failed: ${describeKafkaError(error)}`, { cause: error });
}

/**
 * Resolves or rejects as `work` does, unless `ms` pass first: then rejects with LogUnavailableError.
 * `onTimeout` runs when the deadline wins (to abandon the work, e.g. close a client).
 */
export function withDeadline<T>(work: Promise<T>, ms: number, action: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new LogUnavailableError(`Kafka is unavailable: ${action} did not complete within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Closes a @platformatic/kafka client with `force` (its typings only return a promise without it). */
export function forceClose(client: { close(force: boolean, callback: (error?: Error | null) => void): void }): Promise<void> {
  return new Promise((resolve, reject) => client.close(true, (error) => (error ? reject(error) : resolve())));
}
