/**
 * The ClickHouse server code path of the facts store (@clickhouse/client over HTTP) against the
 * stack's server, which is Debian's ClickHouse 18.16. The real facts DDL (sql/clickhouse) targets
 * current ClickHouse — DateTime64, LowCardinality, TTL expressions — and is verified on chDB
 * (stores/test/chdb.test.ts); 18.16 cannot run it. So this test gives the store a DDL folder with a
 * `trace_facts_v1` that 18.16 understands (timestamps as strings) and checks the transport: migrate
 * and schema_migrations, ping, one JSONEachRow insert per batch, selects, query parameters, errors,
 * and a server restart under a live store.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetriable } from '../../streams/src/errors.js';
import { createClickHouseFactsStore } from '../src/clickhouse/server.js';
import { StoreError } from '../src/errors.js';
import type { FactsStore, TraceFact } from '../src/types.js';

const CLICKHOUSE_URL = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';
const database = `metronis_transport_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

// trace_facts_v1 as ClickHouse 18.16 can hold it: no DateTime64 (the store sends
// 'YYYY-MM-DD hh:mm:ss.sss', kept here as a string), no LowCardinality, no TTL.
const LEGACY_DDL = `-- for the transport test on ClickHouse 18.16 only
CREATE TABLE IF NOT EXISTS trace_facts_v1
(
    org_id String, trace_id String, timestamp String, received_at String,
    application String, environment String, model_provider String, model_name String,
    input_tokens UInt32, output_tokens UInt32, cost_usd Float64, latency_ms UInt32, user_id String
)
ENGINE = ReplacingMergeTree()
ORDER BY (org_id, trace_id);
`;

function fact(overrides: Partial<TraceFact> = {}): TraceFact {
  return {
    org_id: 'org_a',
    trace_id: randomUUID(),
    timestamp: Date.parse('2026-05-01T12:00:00.123Z'),
    received_at: Date.parse('2026-05-01T12:00:01.000Z'),
    application: 'search',
    environment: 'prod',
    model_provider: 'openai',
    model_name: 'gpt-4o-mini',
    input_tokens: 120,
    output_tokens: 80,
    cost_usd: 0.5,
    latency_ms: 900,
    user_id: 'u1',
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

const admin = createClient({ url: CLICKHOUSE_URL });
let ddlDir: string;
let store: FactsStore;

beforeAll(async () => {
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  ddlDir = await mkdtemp(join(tmpdir(), 'metronis-ch-ddl-'));
  await writeFile(join(ddlDir, '0001_trace_facts.sql'), LEGACY_DDL);
  store = createClickHouseFactsStore({ url: CLICKHOUSE_URL, database, ddlDir });
});

afterAll(async () => {
  await store?.close();
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
  await rm(ddlDir, { recursive: true, force: true });
});

describe('ClickHouse facts store over HTTP (server 18.16)', () => {
  it('pings and migrates once through schema_migrations', async () => {
    await store.ping();
    await store.migrate();
    await store.migrate();
    const rows = await store.query<{ version: number; name: string; n: number }>(
      'SELECT version, name, count() AS n FROM schema_migrations GROUP BY version, name',
    );
    expect(rows).toEqual([{ version: 1, name: '0001_trace_facts', n: 1 }]);
  });

  it('inserts a JSONEachRow batch and reads it back, a repeated row once under FINAL', async () => {
    const org = `org_${randomUUID()}`;
    const rows = [fact({ org_id: org, user_id: 'nul\u0000inside' }), fact({ org_id: org })];
    await store.insertTraceFacts([...rows, rows[0]!]);
    await store.insertTraceFacts([rows[1]!]);
    const got = await store.query<Record<string, unknown>>(
      `SELECT * FROM trace_facts_v1 FINAL WHERE org_id = '${org}' ORDER BY trace_id`,
    );
    const expected = rows
      .map((r) => ({ ...r, timestamp: '2026-05-01 12:00:00.123', received_at: '2026-05-01 12:00:01.000' }))
      .sort((a, b) => (a.trace_id < b.trace_id ? -1 : 1));
    expect(got).toEqual(expected);
  });

  it('binds {name:Type} parameters, or says plainly that this server predates them', async () => {
    const [{ version }] = (await store.query<{ version: string }>('SELECT version() AS version')) as [{ version: string }];
    const org = `org_${randomUUID()}`;
    await store.insertTraceFacts([fact({ org_id: org })]);
    const attempt = store.query<{ n: number }>('SELECT count() AS n FROM trace_facts_v1 WHERE org_id = {org:String}', { org });
    if (Number(version.split('.')[0]) < 19) {
      const error = await rejection(attempt);
      expect(error).toBeInstanceOf(StoreError);
      expect(error.message).toMatch(/Unknown setting param_org.*predates \{name:Type\} query parameters/);
      expect(isRetriable(error)).toBe(false);
    } else {
      expect(await attempt).toEqual([{ n: 1 }]);
    }
  });

  it('reports bad SQL as a store error that is not retriable', async () => {
    const error = await rejection(store.query('SELEC 1'));
    expect(error).toBeInstanceOf(StoreError);
    expect(error.message).toMatch(/^clickhouse query: .*Syntax error/);
    expect(isRetriable(error)).toBe(false);
  });

  it('reports an unreachable server as retriable', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const nowhere = createClickHouseFactsStore({ url: `http://127.0.0.1:${port}`, ddlDir });
    try {
      const error = await rejection(nowhere.ping());
      expect(error.message).toMatch(/^clickhouse ping: .*ECONNREFUSED/);
      expect(isRetriable(error)).toBe(true);
      expect(isRetriable(await rejection(nowhere.insertTraceFacts([fact()])))).toBe(true);
    } finally {
      await nowhere.close();
    }
  });

  it('fails retriably while the server is stopped and works again after it starts, same store', { timeout: 420_000 }, async () => {
    // The stack script serializes commands with a lock; a child waiting too long is killed so that an
    // abandoned `stop` never runs later.
    const stack = (timeoutMs: number, ...args: string[]) =>
      promisify(execFile)('bash', ['scripts/stack.sh', ...args], { cwd: new URL('../..', import.meta.url), timeout: timeoutMs }).catch((error: Error) => {
        throw new Error(`bash scripts/stack.sh ${args.join(' ')} failed or took over ${timeoutMs / 1000}s: ${error.message}`, { cause: error });
      });
    await store.migrate(); // idempotent; lets this test run on its own
    await stack(150_000, 'stop', 'clickhouse');
    let down: Error;
    try {
      down = await rejection(store.ping());
    } finally {
      await stack(240_000, 'start', 'clickhouse');
    }
    expect(isRetriable(down)).toBe(true);
    const row = fact({ org_id: `org_${randomUUID()}` });
    await store.ping();
    await store.insertTraceFacts([row]);
    expect(await store.query(`SELECT trace_id FROM trace_facts_v1 WHERE org_id = '${row.org_id}'`)).toEqual([{ trace_id: row.trace_id }]);
  });

  it('refuses a url that is not http(s)', () => {
    expect(() => createClickHouseFactsStore({ url: 'tcp://x:9000' })).toThrow(/url must be an http\(s\):\/\/ URL, got "tcp:\/\/x:9000"/);
  });
});
