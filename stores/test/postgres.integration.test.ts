/**
 * The RelationalStore contract on a real PostgreSQL (`npm run stack:up`), in a throwaway database
 * created for this run and dropped after it, plus a restart of the server under a live store.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { makeTrace } from '@metronis/schemas';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetriable } from '../../streams/src/errors.js';
import { createPostgresStore } from '../src/postgres/postgres.js';
import type { RelationalStore } from '../src/types.js';
import { describeRelationalStore } from './relational-contract.js';
import { describeTenancy } from './tenancy-contract.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
const database = `metronis_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
const testUrl = (() => {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();

const stores: RelationalStore[] = [];
const make = (options: { maxRowsPerStatement?: number } = {}) => {
  const store = createPostgresStore({ url: testUrl, max: 4, ...options });
  stores.push(store);
  return store;
};

beforeAll(async () => {
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end();
  }
});

afterAll(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
  } finally {
    await admin.end();
  }
});

describeRelationalStore('postgres', async (options) => make(options));

describeTenancy('postgres', async () => {
  const sql = postgres(testUrl, { max: 1, onnotice: () => {} });
  stores.push({ close: () => sql.end() } as unknown as RelationalStore);
  return { store: make(), raw: (statement) => sql.unsafe(statement) };
});

describe('postgres store, several processes migrating at once', () => {
  it('applies the migrations once when migrate() runs concurrently', async () => {
    const [a, b, c] = [make(), make(), make()];
    await Promise.all([a.migrate(), b.migrate(), c.migrate()]);
    const trace = makeTrace({ org_id: `org_${randomUUID()}` });
    await a.upsertTraces([trace]);
    expect(await c.getTrace(trace.org_id, trace.trace_id)).toEqual(trace);
  });
});

// The stack script serializes its commands with a lock, so a stop or start can wait for another
// engineer's command. The child is killed when it waits too long, so an abandoned `stop` never runs
// later and leaves the server down.
const stack = (timeoutMs: number, ...args: string[]) =>
  promisify(execFile)('bash', ['scripts/stack.sh', ...args], { cwd: new URL('../..', import.meta.url), timeout: timeoutMs }).catch((error: Error) => {
    throw new Error(`bash scripts/stack.sh ${args.join(' ')} failed or took over ${timeoutMs / 1000}s: ${error.message}`, { cause: error });
  });

describe('postgres store across a server restart', () => {
  it('fails retriably while the server is down and works again afterwards without being recreated', { timeout: 420_000 }, async () => {
    const store = make();
    await store.migrate();
    const before = makeTrace({ org_id: `org_${randomUUID()}` });
    await store.upsertTraces([before]);

    await stack(150_000, 'stop', 'postgres');
    let down: unknown = null;
    try {
      await store.upsertTraces([makeTrace()]);
    } catch (error) {
      down = error;
    } finally {
      await stack(240_000, 'start', 'postgres');
    }
    expect(down).not.toBeNull();
    expect(isRetriable(down)).toBe(true);

    // The same store object: its pool reconnects. The first query after the restart may still meet
    // a connection the server closed, which is retriable; retry like the runner does.
    const after = makeTrace({ org_id: before.org_id });
    for (let attempt = 1; ; attempt++) {
      try {
        await store.upsertTraces([after]);
        break;
      } catch (error) {
        if (!isRetriable(error) || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    expect(await store.getTrace(before.org_id, before.trace_id)).toEqual(before);
    expect(await store.getTrace(after.org_id, after.trace_id)).toEqual(after);
    await registryAnswersAgain();
  });
});

/**
 * The schema registry keeps its schemas in this PostgreSQL: after the restart its pooled connections
 * are dead, and its first answers are 500s ("terminating connection due to administrator command").
 * Leave the stack as the next integration files expect it: register a throwaway schema until the
 * registry answers, then delete the subject.
 */
async function registryAnswersAgain(): Promise<void> {
  const registry = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
  const subject = `restart-check-${randomUUID()}-value`;
  const schema = JSON.stringify({ type: 'record', name: 'RestartCheck', fields: [{ name: 'id', type: 'string' }] });
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${registry}/subjects/${subject}/versions`, { method: 'POST', headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema }) }).catch(() => null);
    if (response !== null && response.status < 300) break;
    if (attempt >= 60) throw new Error(`the schema registry did not answer a registration after the PostgreSQL restart (last status ${response?.status ?? 'none'})`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await fetch(`${registry}/subjects/${subject}`, { method: 'DELETE' }).catch(() => undefined);
}
