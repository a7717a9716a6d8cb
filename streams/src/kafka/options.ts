/**
 * Options of the Kafka log, validated once when the log is created, with the defaults the gateway and
 * the workers need: a send is answered (acknowledged or `LogUnavailableError`) within
 * `requestTimeoutMs`, and group membership notices a dead consumer within `sessionTimeoutMs`.
 */

/** The pino-compatible subset of a logger that the Kafka log writes to. */
export interface KafkaLogLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface KafkaLogOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Kafka client id (shows in broker logs and quotas); producers and consumers append a suffix. */
  clientId: string;
  logger?: KafkaLogLogger;
  /**
   * Longest a send waits for its acknowledgement, and an admin call for its answer, before failing with
   * `LogUnavailableError`. Default 8000 ms.
   */
  requestTimeoutMs?: number;
  /** Consumer group session timeout (the broker allows 6000–300000 by default). Default 10000 ms. */
  sessionTimeoutMs?: number;
  /** Consumer group heartbeat interval. Default 1000 ms. */
  heartbeatIntervalMs?: number;
  /** How long the group waits for members to rejoin during a rebalance. Default 15000 ms. */
  rebalanceTimeoutMs?: number;
  /** First wait before a consumer rebuilds its session after the broker failed it; doubles up to 10 s. Default 500 ms. */
  reconnectBackoffMs?: number;
}

export interface ResolvedKafkaLogOptions {
  brokers: string[];
  clientId: string;
  logger: KafkaLogLogger;
  requestTimeoutMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  reconnectBackoffMs: number;
}

const silentLogger: KafkaLogLogger = { debug() {}, info() {}, warn() {}, error() {} };

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`Kafka log option ${name} must be a positive integer (milliseconds), got ${String(value)}`);
  }
  return value;
}

/** Checks the options and fills in the defaults; throws a TypeError naming the bad option. */
export function resolveKafkaLogOptions(options: KafkaLogOptions): ResolvedKafkaLogOptions {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    throw new TypeError('Kafka log option brokers must be a non-empty array of "host:port" strings');
  }
  for (const broker of options.brokers) {
    if (typeof broker !== 'string' || !/^[^:\s]+:\d{1,5}$/.test(broker)) {
      throw new TypeError(`Kafka log option brokers: "${String(broker)}" is not "host:port"`);
    }
  }
  if (typeof options.clientId !== 'string' || !/^[A-Za-z0-9._-]+$/.test(options.clientId)) {
    throw new TypeError(`Kafka log option clientId must be a non-empty string of letters, digits, ".", "_" or "-", got "${String(options.clientId)}"`);
  }
  const sessionTimeoutMs = positiveInteger('sessionTimeoutMs', options.sessionTimeoutMs, 10_000);
  const heartbeatIntervalMs = positiveInteger('heartbeatIntervalMs', options.heartbeatIntervalMs, 1_000);
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new TypeError(`Kafka log option heartbeatIntervalMs (${heartbeatIntervalMs}) must be lower than sessionTimeoutMs (${sessionTimeoutMs})`);
  }
  return {
    brokers: [...options.brokers],
    clientId: options.clientId,
    logger: options.logger ?? silentLogger,
    requestTimeoutMs: positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 8_000),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs: positiveInteger('rebalanceTimeoutMs', options.rebalanceTimeoutMs, 15_000),
    reconnectBackoffMs: positiveInteger('reconnectBackoffMs', options.reconnectBackoffMs, 500),
  };
}
