/**
 * The log contract run against the real Kafka broker (`npm run stack:up`), plus what only the Kafka
 * implementation has: option validation, concurrent sends on the idempotent producer, unknown topics.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaLog } from '../src/kafka/index.js';
import type { Log } from '../src/log.js';
import { describeLogContract } from './log-contract.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');

describeLogContract('kafka', async () => {
  const log = await createKafkaLog({ brokers, clientId: `contract-${randomUUID().slice(0, 8)}` });
  return { log, cleanup: () => log.close() };
});

describe('kafka log', () => {
  let log: Log;

  beforeAll(async () => {
    log = await createKafkaLog({ brokers, clientId: 'kafka-log-test' });
  });
  afterAll(async () => {
    await log?.close();
  });

  it('rejects bad options with the option named', async () => {
    await expect(createKafkaLog({ brokers: [], clientId: 'x' })).rejects.toThrow(/brokers/);
    await expect(createKafkaLog({ brokers: ['no-port'], clientId: 'x' })).rejects.toThrow(/"no-port" is not "host:port"/);
    await expect(createKafkaLog({ brokers, clientId: '' })).rejects.toThrow(/clientId/);
    await expect(createKafkaLog({ brokers, clientId: 'x', requestTimeoutMs: -1 })).rejects.toThrow(/requestTimeoutMs/);
    await expect(createKafkaLog({ brokers, clientId: 'x', heartbeatIntervalMs: 20_000 })).rejects.toThrow(/heartbeatIntervalMs/);
  });

  it('rejects bad records and consumer options with what is wrong', async () => {
    const producer = log.producer();
    await expect(producer.send([{ topic: 't', key: 'k', value: 'not a buffer' as unknown as Buffer }])).rejects.toThrow(/record 0.*value must be a Buffer/);
    await expect(producer.send([{ topic: '', key: 'k', value: Buffer.from('v') }])).rejects.toThrow(/topic must be a non-empty string/);
    await expect(producer.send([{ topic: 't', key: 1 as unknown as string, value: Buffer.from('v') }])).rejects.toThrow(/key must be a string/);
    expect(() => log.consumer({ groupId: '', topics: ['t'] })).toThrow(/groupId/);
    expect(() => log.consumer({ groupId: 'g', topics: [] })).toThrow(/topics/);
    expect(() => log.consumer({ groupId: 'g', topics: ['t'], maxBatchRecords: 0 })).toThrow(/maxBatchRecords/);
    await expect(log.admin.resetOffsets('g', 't', 'yesterday' as never)).rejects.toThrow(/"to" must be/);
    await expect(log.admin.createTopics([{ name: 'bad name!', partitions: 1 }])).rejects.toThrow(/not a Kafka topic name/);
    await producer.close();
    await expect(producer.send([{ topic: 't', key: 'k', value: Buffer.from('v') }])).rejects.toThrow(/closed/);
  });

  it('says which topic is missing when sending to one that does not exist', async () => {
    const producer = log.producer();
    const missing = `missing-${randomUUID().slice(0, 8)}`;
    await expect(producer.send([{ topic: missing, key: 'k', value: Buffer.from('v') }])).rejects.toThrow(new RegExp(`${missing}.*createTopics`));
    await expect(log.admin.endOffsets(missing)).rejects.toThrow(missing);
    await producer.close();
  });

  it('gives every concurrent send on one producer its own offset (no record silently dropped)', async () => {
    const topic = `concurrent-${randomUUID().slice(0, 8)}`;
    await log.admin.createTopics([{ name: topic, partitions: 2 }]);
    const producer = log.producer();
    const sends = Array.from({ length: 200 }, (_, i) => producer.send([{ topic, key: `k-${i % 3}`, value: Buffer.from(`v-${i}`) }]));
    const results = (await Promise.all(sends)).flat();
    const ids = new Set(results.map((m) => `${m.partition}:${m.offset}`));
    expect(ids.size).toBe(200);
    const ends = await log.admin.endOffsets(topic);
    expect(ends.reduce((sum, o) => sum + o.offset, 0n)).toBe(200n);
    await producer.close();
  });
});
