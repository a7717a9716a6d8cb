/**
 * What the sinks' process log says when a Postgres batch fails: ids, counts, organizations and the
 * reason, never what the traces say. Real parts: the embedded log and the runner, the in-process
 * registry with the Confluent serde, PGlite, and a real pino logger whose JSON lines are captured.
 *
 * The poison record is a trace whose timestamp lies past year 9999 (Postgres refuses its ISO form):
 * it fails the whole batch of traces from two organizations, the runner splits the batch down to it,
 * and it goes to the DLQ. The driver's error for that batch holds the SQL with every row's parameters.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { makeTrace, type Trace } from '@metronis/schemas';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { createEmbeddedLog, createInProcessRegistry, createSerde, DLQ_HEADERS, DLQ_TOPIC, runTopology, TOPICS, type Log, type LogRecord } from '@metronis/streams';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresTracesSink } from '../src/index.js';

let root: string;
let store: RelationalStore;
let log: Log;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'metronis-sink-logs-'));
  store = createPgliteStore();
  await store.migrate();
  log = await createEmbeddedLog({ dir: join(root, 'log') });
  await log.admin.createTopics([
    { name: TOPICS.traces.name, partitions: 1 },
    { name: DLQ_TOPIC, partitions: 1 },
  ]);
}, 60_000);

afterAll(async () => {
  await log?.close();
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

/** A pino logger at debug level whose output lines are kept. */
function capturedPino(): { logger: pino.Logger; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), text: () => lines.join('') };
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function readTopic(topic: string, count: number): Promise<LogRecord[]> {
  const consumer = log.consumer({ groupId: `reader-${randomUUID()}`, topics: [topic], maxWaitMs: 20 });
  const records: LogRecord[] = [];
  const deadline = Date.now() + 10_000;
  for await (const batch of consumer.batches()) {
    records.push(...batch);
    if (records.length >= count || Date.now() > deadline) break;
  }
  await consumer.close();
  return records;
}

describe('sink logs', () => {
  it('name ids, counts, organizations and the reason of a failed batch, never trace contents or SQL parameters', async () => {
    const orgs = [`org_logs_a_${randomUUID().slice(0, 6)}`, `org_logs_b_${randomUUID().slice(0, 6)}`];
    const secret = (what: string) => `${what}-${randomUUID()}`;
    const good: Trace[] = Array.from({ length: 8 }, (_, i) =>
      makeTrace({
        org_id: orgs[i % 2]!,
        user_id: secret('user'),
        input: { text: secret('prompt of a customer'), messages: [] },
        output: { content: secret('private answer'), finish_reason: 'stop' },
        metadata: { note: secret('metadata value') },
      }),
    );
    const poison = makeTrace({ org_id: orgs[0]!, timestamp: 253_402_300_800_000, input: { text: secret('poison prompt'), messages: [] } });
    const all = [...good.slice(0, 4), poison, ...good.slice(4)];
    const traces = await createSerde(createInProcessRegistry()).forTopic(TOPICS.traces);
    await log.producer().send(all.map((t) => ({ topic: TOPICS.traces.name, key: t.trace_id, value: traces.encode(t) })));

    const { logger, text } = capturedPino();
    const runner = runTopology(postgresTracesSink(store), { log, serde: createSerde(createInProcessRegistry()), logger, retry: { initialMs: 5, maxMs: 20 }, consumer: { maxWaitMs: 20 } });
    try {
      await until('every good trace is stored', async () => (await Promise.all(good.map((t) => store.getTrace(t.org_id, t.trace_id)))).every((t) => t !== null));
      const [dead] = await readTopic(DLQ_TOPIC, 1);
      expect(dead?.key).toBe(poison.trace_id);
      expect(dead?.headers[DLQ_HEADERS.error]).toMatch(/timestamp must be epoch milliseconds/);
    } finally {
      await runner.stop();
    }

    const output = text();
    const lines = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    // The batch failure says how many records and which organizations, and why.
    const split = lines.find((l) => l.msg === 'sink write failed, splitting the batch to isolate the poison records');
    expect(split).toMatchObject({ records: all.length, org_ids: [...orgs].sort() });
    expect(JSON.stringify(split)).toMatch(/timestamp must be epoch milliseconds/);
    // The record set aside is named by its ids.
    expect(lines.find((l) => l.msg === 'record sent to the DLQ')).toMatchObject({ key: poison.trace_id, org_id: poison.org_id });
    // Nothing any trace said, nor the statement and its parameters.
    for (const t of all) {
      for (const content of [t.input.text, t.output.content, t.user_id, t.metadata.note]) {
        if (content) expect(output).not.toContain(content);
      }
    }
    expect(output).not.toMatch(/insert into|params:|Failed query/i);
  });
});
