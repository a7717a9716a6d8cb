/**
 * What the Postgres store throws when no server answers: a real postgres.js client against a port
 * nothing listens on (no server needed), checked with the stream runtime's isRetriable().
 */
import { createServer } from 'node:net';
import { makeTrace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { isRetriable } from '../../streams/src/errors.js';
import { StoreError } from '../src/errors.js';
import { createPgliteStore } from '../src/postgres/pglite.js';
import { createPostgresStore } from '../src/postgres/postgres.js';

/** A loopback port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('postgres store without a server', () => {
  it('fails ping and upserts with a retriable StoreError naming the operation', async () => {
    const store = createPostgresStore({ url: `postgres://u:p@127.0.0.1:${await freePort()}/db`, max: 1, connectTimeoutSeconds: 2 });
    try {
      // One at a time: a second promise made up front rejects while the first is awaited, unhandled.
      for (const attempt of [() => store.ping(), () => store.upsertTraces([makeTrace()])]) {
        const error = await attempt().then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreError);
        expect((error as Error).message).toMatch(/^postgres (ping|upsertTraces): .*ECONNREFUSED/);
        expect(isRetriable(error)).toBe(true);
      }
    } finally {
      await store.close();
    }
  });

  it('refuses a url that is not postgres:// and a bad statement size', () => {
    expect(() => createPostgresStore({ url: 'mysql://x' })).toThrow(/url must be a postgres:\/\/ URL, got "mysql:\/\/x"/);
    expect(() => createPostgresStore({ url: 'postgres://u@h/db', maxRowsPerStatement: 0 })).toThrow(/maxRowsPerStatement must be an integer in 1\.\.5000, got 0/);
    expect(() => createPgliteStore({ maxRowsPerStatement: 10_000 })).toThrow(/maxRowsPerStatement must be an integer in 1\.\.5000, got 10000/);
  });
});
