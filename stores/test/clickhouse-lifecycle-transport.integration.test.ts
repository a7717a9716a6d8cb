/**
 * Retention, deletion and scoped reads through the ClickHouse server code path (@clickhouse/client
 * over HTTP) against the stack's server, Debian's ClickHouse 18.16. The statements themselves cannot
 * run there: 18.16 has no `{name:Type}` query parameters, no SETTINGS clause on ALTER and no
 * `mutations_sync` (they are verified on chDB, stores/test/chdb-lifecycle.test.ts). What this checks
 * on the wire: every operation sends its values as bound parameters (HTTP `param_*`, which 18.16
 * refuses as "Unknown setting param_…" before running anything), the store says plainly that the
 * server is too old, the failure is not retriable, and no row was changed. On a server that has query
 * parameters (19+) the same calls must work instead.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetriable } from '../../streams/src/errors.js';
import { createClickHouseFactsStore } from '../src/clickhouse/server.js';
import { StoreError } from '../src/errors.js';
import type { FactsStore } from '../src/types.js';

const CLICKHOUSE_URL = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';
const database = `metronis_lifecycle_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

// The columns the lifecycle statements read, in types 18.16 has (no DateTime64, no LowCardinality, no TTL).
const LEGACY_DDL = `-- for the lifecycle transport test on ClickHouse 18.16 only
CREATE TABLE IF NOT EXISTS trace_facts_v1
(org_id String, trace_id String, user_id String, timestamp DateTime, retention_days UInt16)
ENGINE = ReplacingMergeTree() ORDER BY (org_id, trace_id);
CREATE TABLE IF NOT EXISTS evaluation_facts_v1
(org_id String, trace_id String, evaluation_id String, trace_timestamp DateTime, retention_days UInt16)
ENGINE = ReplacingMergeTree() ORDER BY (org_id, trace_id, evaluation_id);
CREATE TABLE IF NOT EXISTS module_result_facts_v1
(org_id String, trace_id String, evaluation_id String, module String, trace_timestamp DateTime, retention_days UInt16)
ENGINE = ReplacingMergeTree() ORDER BY (org_id, trace_id, evaluation_id, module);
`;

const admin = createClient({ url: CLICKHOUSE_URL, database: 'default' });
let ddlDir: string;
let store: FactsStore;
let serverMajor: number;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

/** Every row of the three tables, as text: what must not change when the server refuses. */
async function snapshot(): Promise<string> {
  const tables = ['trace_facts_v1', 'evaluation_facts_v1', 'module_result_facts_v1'];
  const parts = await Promise.all(
    tables.map(async (t) => (await admin.query({ query: `SELECT * FROM ${database}.${t} ORDER BY org_id, trace_id`, format: 'TabSeparated' })).text()),
  );
  return parts.join('\n--\n');
}

beforeAll(async () => {
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  ddlDir = await mkdtemp(join(tmpdir(), 'metronis-ch-lifecycle-ddl-'));
  await writeFile(join(ddlDir, '0001_lifecycle_tables.sql'), LEGACY_DDL);
  store = createClickHouseFactsStore({ url: CLICKHOUSE_URL, database, ddlDir });
  await store.migrate();
  const [row] = await store.query<{ version: string }>('SELECT version() AS version');
  serverMajor = Number(row!.version.split('.')[0]);
  for (const org of ['org_a', 'org_b']) {
    await admin.command({ query: `INSERT INTO ${database}.trace_facts_v1 VALUES ('${org}', 't1', 'alice', now(), 90), ('${org}', 't2', 'bob', now(), 90)` });
    await admin.command({ query: `INSERT INTO ${database}.evaluation_facts_v1 VALUES ('${org}', 't1', 't1:1', now(), 90)` });
    await admin.command({ query: `INSERT INTO ${database}.module_result_facts_v1 VALUES ('${org}', 't1', 't1:1', 'pii', now(), 90)` });
  }
});

afterAll(async () => {
  await store?.close();
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
  await rm(ddlDir, { recursive: true, force: true });
});

describe('facts lifecycle over HTTP (server 18.16)', () => {
  const calls: Array<[string, (s: FactsStore) => Promise<unknown>, string]> = [
    ['setRetention', (s) => s.setRetention('org_a', 5), 'param_org'],
    ['deleteTraces', (s) => s.deleteTraces('org_a', ["t1'); DROP TABLE trace_facts_v1; --", 't1']), 'param_org'],
    ['deleteUserData', (s) => s.deleteUserData('org_a', 'alice'), 'param_org'],
    ['scoped query', (s) => s.forOrg('org_a').query('SELECT trace_id FROM trace_facts_v1 WHERE org_id = {org_id:String}'), 'param_org_id'],
    ['scoped query', (s) => s.forOrg('org_a').storedCounts(), 'param_org_id'],
  ];

  for (const [operation, call, param] of calls) {
    it(`${operation} sends its values as bound parameters (${param}) and changes nothing when the server cannot bind them`, async () => {
      const before = await snapshot();
      if (serverMajor >= 19) {
        await call(store); // a server with query parameters runs it; the chDB tests check the outcome
        return;
      }
      const error = await rejection(call(store));
      expect(error).toBeInstanceOf(StoreError);
      expect(error.message).toMatch(new RegExp(`^clickhouse ${operation}: .*Unknown setting ${param}\\b.*predates \\{name:Type\\} query parameters`));
      expect(isRetriable(error)).toBe(false);
      expect(await snapshot()).toBe(before);
    });
  }

  it('refuses bad arguments before sending anything', async () => {
    await expect(store.setRetention('org_a', 0)).rejects.toThrow(RangeError);
    await expect(store.deleteUserData('org_a', '')).rejects.toThrow(TypeError);
    await expect(store.forOrg('org_a').query('SELECT trace_id FROM trace_facts_v1')).rejects.toThrow(/must filter by \{org_id:String\}/);
    expect(await store.deleteTraces('org_a', [])).toEqual({ trace_facts: 0, evaluation_facts: 0, module_result_facts: 0 });
  });
});
