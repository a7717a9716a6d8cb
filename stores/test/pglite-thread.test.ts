/**
 * PGlite on a worker thread (what `metronis dev` opens): the relational store's contract and the
 * deletion race through it, and what the thread's client must keep of PGlite's own behaviour —
 * errors with their SQLSTATE, the caller's parsers, transactions that commit, roll back and hold
 * the database, data kept on disk across a reopen, and a clear, retriable failure once the thread is gone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRetriable } from '@metronis/streams';
import { makeTrace } from '@metronis/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteStore } from '../src/postgres/pglite.js';
import { pgliteOnThread, type PgliteClient } from '../src/postgres/pglite-thread.js';
import type { RelationalStore } from '../src/types.js';
import { describeDeletionRace } from './deletion-race.js';
import { describeRelationalStore } from './relational-contract.js';

describe('PGlite on a worker thread', () => {
  describeRelationalStore('pglite', async (options) => createPgliteStore({ ...options, thread: true }));

  let raced: RelationalStore | undefined;
  afterAll(() => raced?.close());
  describeDeletionRace('pglite on a thread', async () => (raced = createPgliteStore({ thread: true })));
});

describe('the PGlite thread client', () => {
  let client: PgliteClient;
  beforeAll(async () => {
    client = pgliteOnThread(undefined);
    await client.exec('CREATE TABLE t (id int PRIMARY KEY, at timestamptz, doc jsonb)');
  }, 60_000);
  afterAll(() => client?.close());

  it('answers rows as PGlite does, in object and array mode, and runs the caller parsers on the text of their types', async () => {
    await client.query('INSERT INTO t VALUES ($1, $2, $3)', [1, new Date('2026-01-02T03:04:05Z'), { a: [1, 'x'] }]);
    const objects = await client.query<{ id: number; at: Date; doc: unknown }>('SELECT id, at, doc FROM t WHERE id = $1', [1]);
    expect(objects.rows).toEqual([{ id: 1, at: new Date('2026-01-02T03:04:05Z'), doc: { a: [1, 'x'] } }]);
    expect(objects.fields.map((f) => f.name)).toEqual(['id', 'at', 'doc']);

    const TIMESTAMPTZ = 1184;
    const seen: string[] = [];
    const arrays = await client.query<unknown[]>('SELECT id, at FROM t WHERE id = 1', [], {
      rowMode: 'array',
      parsers: { [TIMESTAMPTZ]: (text: string) => (seen.push(text), `parsed:${text}`) },
    });
    expect(seen).toEqual(['2026-01-02 03:04:05+00']);
    expect(arrays.rows).toEqual([[1, 'parsed:2026-01-02 03:04:05+00']]);
  });

  it('keeps the SQLSTATE and fields of a database error', async () => {
    await client.query('INSERT INTO t (id) VALUES (2)');
    const error = await client.query('INSERT INTO t (id) VALUES (2)').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: '23505', constraint: 't_pkey', message: expect.stringMatching(/duplicate key/) });
    const syntax = await client.exec('SELEC 1').catch((e: unknown) => e);
    expect(syntax).toMatchObject({ code: '42601' });
    expect(isRetriable(syntax)).toBe(false);
  });

  it('commits a transaction, rolls one back when its callback throws, and holds the database while one is open', async () => {
    const committed = await client.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id) VALUES (10)');
      await tx.exec('INSERT INTO t (id) VALUES (11)');
      return 'done';
    });
    expect(committed).toBe('done');

    const failure = new Error('changed my mind');
    await expect(
      client.transaction(async (tx) => {
        await tx.query('INSERT INTO t (id) VALUES (12)');
        throw failure;
      }),
    ).rejects.toBe(failure);

    await client.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id) VALUES (13)');
      await tx.rollback();
      expect(tx.closed).toBe(true);
      await expect(tx.query('SELECT 1')).rejects.toThrow(/closed/);
    });

    // A query made while a transaction is open runs after it, and sees what it committed.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const open = client.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id) VALUES (14)');
      await held;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const outside = client.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE id = 14');
    release();
    await open;
    expect((await outside).rows).toEqual([{ n: 1 }]);

    const { rows } = await client.query<{ id: number }>('SELECT id FROM t WHERE id BETWEEN 10 AND 14 ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual([10, 11, 14]);
  });

  it('refuses options that cannot cross to the thread', async () => {
    await expect(client.query('SELECT 1', [], { serializers: { 25: (v: unknown) => String(v) } })).rejects.toThrow(/cannot cross/);
  });
});

describe('a PGlite thread on disk', () => {
  it('keeps what it stored across close and reopen, and fails retriably once closed', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'metronis-pglite-thread-'));
    try {
      const trace = makeTrace({ output: { content: 'kept on the thread', finish_reason: null } });
      const first = createPgliteStore({ dir, thread: true });
      await first.migrate();
      await first.upsertTraces([trace]);
      await first.close();
      const error = await first.getTrace(trace.org_id, trace.trace_id).catch((e: unknown) => e);
      expect(isRetriable(error)).toBe(true);
      expect(String(error)).toMatch(/PGlite thread stopped/);

      const second = createPgliteStore({ dir, thread: true });
      try {
        await second.migrate();
        expect(await second.getTrace(trace.org_id, trace.trace_id)).toEqual(trace);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
