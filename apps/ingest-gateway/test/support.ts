/**
 * What the gateway tests share: a gateway wired to real parts — the embedded log in a temporary
 * folder, the in-process schema registry with the Confluent wire-format serde, the PGlite relational
 * store holding the test keys — and a reader that takes the produced records back off the log and
 * decodes them.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Trace } from '@metronis/schemas';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { createEmbeddedLog, createInProcessRegistry, createSerde, TOPICS, type Log, type LogProducer, type LogRecord, type TopicSerde } from '@metronis/streams';
import { createApiKeyAuthenticator, createGatewayApp, type GatewayDeps } from '../src/index.js';
import { memoryLogger, seedKeys } from './fixtures.js';

export interface TestGateway {
  app: ReturnType<typeof createGatewayApp>;
  log: Log;
  store: RelationalStore;
  traces: TopicSerde<'Trace'>;
  logger: ReturnType<typeof memoryLogger>;
  /** The number of records of each `producer.send` the app made, in order. */
  sends: number[];
  /** How many records the traces topic holds (sum of its end offsets). */
  countOnLog(): Promise<number>;
  /** Reads and decodes every trace record on the log (all partitions) from the start. */
  readTraces(expected: number): Promise<{ record: LogRecord; trace: Trace }[]>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  corsOrigins?: readonly string[];
  clock?: () => number;
  generateId?: () => string;
  limits?: GatewayDeps['limits'];
  ready?: GatewayDeps['ready'];
  encodeTrace?: GatewayDeps['encodeTrace'];
  authenticate?: GatewayDeps['authenticate'];
  /** A migrated, seeded store to use (and leave open) instead of a fresh PGlite one. */
  store?: RelationalStore;
  /** The org's policy source (PII masking); none by default. */
  policies?: GatewayDeps['policies'];
  /** Per-org rate limits; none by default. */
  rateLimiter?: GatewayDeps['rateLimiter'];
  rateLimits?: GatewayDeps['rateLimits'];
  /** Wraps the real producer (to delay it, for instance); the wrapper must delegate to it. */
  wrapProducer?: (producer: LogProducer) => LogProducer;
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-gateway-'));
  const log = await createEmbeddedLog({ dir: join(dir, 'log') });
  await log.admin.createTopics([{ name: TOPICS.traces.name, partitions: TOPICS.traces.partitions }]);
  const serde = createSerde(createInProcessRegistry());
  const traces = await serde.forTopic(TOPICS.traces);
  const ownStore = options.store === undefined;
  const store = options.store ?? createPgliteStore();
  if (ownStore) await seedKeys(store);
  const logger = memoryLogger();
  const producer = log.producer();
  const sends: number[] = [];
  const counted: LogProducer = {
    send: (records) => {
      sends.push(records.length);
      return producer.send(records);
    },
    close: () => producer.close(),
  };
  const app = createGatewayApp({
    producer: options.wrapProducer?.(counted) ?? counted,
    encodeTrace: options.encodeTrace ?? ((trace) => traces.encode(trace)),
    authenticate: options.authenticate ?? createApiKeyAuthenticator({ store }),
    ready: options.ready ?? (async () => ({ log: true })),
    logger,
    clock: options.clock,
    generateId: options.generateId,
    limits: options.limits,
    policies: options.policies,
    rateLimiter: options.rateLimiter,
    rateLimits: options.rateLimits,
    ...(options.corsOrigins === undefined ? {} : { corsOrigins: options.corsOrigins }),
  });

  async function readTraces(expected: number): Promise<{ record: LogRecord; trace: Trace }[]> {
    const consumer = log.consumer({ groupId: `test-${randomUUID()}`, topics: [TOPICS.traces.name], start: 'earliest', maxWaitMs: 50 });
    const records: LogRecord[] = [];
    const deadline = Date.now() + 10_000;
    try {
      for await (const batch of consumer.batches()) {
        records.push(...batch);
        if (records.length >= expected || Date.now() > deadline) break;
      }
    } finally {
      await consumer.close();
    }
    return Promise.all(records.map(async (record) => ({ record, trace: await traces.decode(record.value) })));
  }

  return {
    app,
    log,
    store,
    traces,
    logger,
    sends,
    async countOnLog() {
      const ends = await log.admin.endOffsets(TOPICS.traces.name);
      return ends.reduce((sum, p) => sum + Number(p.offset), 0);
    },
    readTraces,
    async close() {
      await producer.close().catch(() => undefined);
      await log.close().catch(() => undefined);
      if (ownStore) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
