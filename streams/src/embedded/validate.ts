/**
 * Checks of what callers hand the embedded log, each failing with what is wrong and where
 * (`send: records[3].value must be a Buffer`), before anything is written.
 */
import type { ConsumerOptions, OutgoingRecord, TopicSpec } from '../log.js';

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Kafka's rule for topic names, which also keeps them safe as folder names. */
export function validateTopicName(name: unknown, where: string): void {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new Error(`embedded log: ${where}: topic name ${JSON.stringify(name)} is invalid (1-249 characters of a-z A-Z 0-9 . _ -, not "." or "..")`);
  }
}

export function validateTopicSpecs(specs: TopicSpec[]): void {
  if (!Array.isArray(specs)) throw new TypeError('embedded log: createTopics takes an array of { name, partitions }');
  for (const [i, spec] of specs.entries()) {
    const where = `createTopics: topics[${i}]`;
    validateTopicName(spec?.name, where);
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1 || spec.partitions > 10_000) {
      throw new Error(`embedded log: ${where}.partitions must be an integer from 1 to 10000, got ${String(spec.partitions)}`);
    }
    if (spec.retentionMs !== undefined && (!Number.isInteger(spec.retentionMs) || spec.retentionMs < 1)) {
      throw new Error(`embedded log: ${where}.retentionMs must be a positive integer of milliseconds, got ${String(spec.retentionMs)}`);
    }
  }
}

export function validateRecords(records: OutgoingRecord[], maxRecordBytes: number): void {
  if (!Array.isArray(records)) throw new TypeError('embedded log: send takes an array of records');
  for (const [i, r] of records.entries()) {
    const where = `send: records[${i}]`;
    if (r === null || typeof r !== 'object') throw new TypeError(`embedded log: ${where} must be an object { topic, key, value }`);
    if (typeof r.topic !== 'string') throw new TypeError(`embedded log: ${where}.topic must be a string`);
    if (typeof r.key !== 'string') throw new TypeError(`embedded log: ${where}.key must be a string`);
    if (!Buffer.isBuffer(r.value)) throw new TypeError(`embedded log: ${where}.value must be a Buffer`);
    if (r.timestamp !== undefined && (!Number.isSafeInteger(r.timestamp) || r.timestamp < 0)) {
      throw new TypeError(`embedded log: ${where}.timestamp must be epoch milliseconds (a non-negative integer), got ${String(r.timestamp)}`);
    }
    let bytes = Buffer.byteLength(r.key) + r.value.length;
    if (r.headers !== undefined) {
      if (r.headers === null || typeof r.headers !== 'object') throw new TypeError(`embedded log: ${where}.headers must be an object of strings`);
      for (const [name, value] of Object.entries(r.headers)) {
        if (typeof value !== 'string') throw new TypeError(`embedded log: ${where}.headers["${name}"] must be a string`);
        bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 8;
      }
    }
    if (bytes > maxRecordBytes) throw new RangeError(`embedded log: ${where} is ${bytes} bytes, more than maxRecordBytes (${maxRecordBytes})`);
  }
}

export function validateConsumerOptions(options: ConsumerOptions): void {
  if (options === null || typeof options !== 'object') throw new TypeError('embedded log: consumer options must be an object { groupId, topics }');
  if (typeof options.groupId !== 'string' || options.groupId === '') throw new TypeError('embedded log: consumer: groupId must be a non-empty string');
  if (!Array.isArray(options.topics) || options.topics.length === 0) throw new TypeError('embedded log: consumer: topics must be a non-empty array of topic names');
  if (options.start !== undefined && options.start !== 'earliest' && options.start !== 'latest') {
    throw new TypeError(`embedded log: consumer: start must be 'earliest' or 'latest', got ${JSON.stringify(options.start)}`);
  }
  if (options.maxBatchRecords !== undefined && (!Number.isInteger(options.maxBatchRecords) || options.maxBatchRecords < 1)) {
    throw new RangeError(`embedded log: consumer: maxBatchRecords must be a positive integer, got ${String(options.maxBatchRecords)}`);
  }
  if (options.maxWaitMs !== undefined && (!Number.isFinite(options.maxWaitMs) || options.maxWaitMs < 0)) {
    throw new RangeError(`embedded log: consumer: maxWaitMs must be a non-negative number, got ${String(options.maxWaitMs)}`);
  }
}
