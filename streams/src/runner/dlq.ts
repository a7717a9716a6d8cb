/**
 * Dead-letter records: the raw key and value of a record that could not be processed, with its
 * original headers and `DLQ_HEADERS` saying which stage failed, why, and where the record came from.
 */
import type { LogRecord, OutgoingRecord } from '../log.js';
import { DLQ_HEADERS, DLQ_TOPIC } from '../topics.js';

const MAX_MESSAGE = 2_000;

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}

export function dlqRecord(stage: string, record: LogRecord, error: unknown, failedAt: number): OutgoingRecord {
  return {
    topic: DLQ_TOPIC,
    key: record.key ?? '',
    value: record.value ?? Buffer.alloc(0),
    headers: {
      ...record.headers,
      [DLQ_HEADERS.stage]: stage,
      [DLQ_HEADERS.error]: errorMessage(error),
      [DLQ_HEADERS.errorName]: errorName(error),
      [DLQ_HEADERS.topic]: record.topic,
      [DLQ_HEADERS.partition]: String(record.partition),
      [DLQ_HEADERS.offset]: record.offset.toString(),
      [DLQ_HEADERS.failedAt]: new Date(failedAt).toISOString(),
    },
  };
}
