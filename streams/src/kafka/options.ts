/**
 * Options of the Kafka log, validated once when the log is created, with the defaults the gateway and
 * the workers need: a send is answered (acknowledged or `LogUnavailableError`) within
 * `requestTimeoutMs`, and group membership notices a dead consumer within `sessionTimeoutMs`.
 */

import zlib from 'node:zlib';

/** Compression of produced record batches (Kafka's `compression.type`). */
export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

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
  /**
   * Compression of the record batches producers send. Default `none`: measured on the co-located
   * 2-core machine (BENCHMARKS.md), compression cost the producer more CPU than the broker saved.
   * `zstd` needs a Node.js with zstd in node:zlib (22.15+).
   */
  compression?: KafkaCompression;
  /**
   * Bytes a consumer's fetch waits for (up to the consumer's `maxWaitMs`) before the broker answers
   * (Kafka's `fetch.min.bytes`). Default 1: answer as soon as anything arrived.
   */
  fetchMinBytes?: number;
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
  compression: KafkaCompression;
  fetchMinBytes: number;
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
  const compression = options.compression ?? 'none';
  if (!KAFKA_COMPRESSIONS.includes(compression)) throw new TypeError(`Kafka log option compression must be one of ${KAFKA_COMPRESSIONS.join(', ')}, got "${String(compression)}"`);
  if (compression === 'zstd' && typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync !== 'function') throw new TypeError(`Kafka log option compression "zstd" needs a Node.js with zstd in node:zlib (22.15 or later); this is ${process.version}`);
  const fetchMinBytes = options.fetchMinBytes ?? 1;
  if (!Number.isInteger(fetchMinBytes) || fetchMinBytes < 1) throw new TypeError(`Kafka log option fetchMinBytes must be a positive integer (bytes), got ${String(options.fetchMinBytes)}`);
  return {
    brokers: [...options.brokers],
    clientId: options.clientId,
    logger: options.logger ?? silentLogger,
    requestTimeoutMs: positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 8_000),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs: positiveInteger('rebalanceTimeoutMs', options.rebalanceTimeoutMs, 15_000),
    reconnectBackoffMs: positiveInteger('reconnectBackoffMs', options.reconnectBackoffMs, 500),
    compression,
    fetchMinBytes,
  };
}
