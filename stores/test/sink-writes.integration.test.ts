/**
 * The sinks' set-based upserts (sink-writes-contract.ts) on a real PostgreSQL (`npm run stack:up`), in
 * a throwaway database created for this run and dropped after it; the pool's connections run the
 * prepared statements.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { createPostgresStore } from '../src/postgres/postgres.js';
import { describeSinkWrites } from './sink-writes-contract.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
const database = `metronis_sinkw_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
const url = new URL(DATABASE_URL);
url.pathname = `/${database}`;

beforeAll(async () => {
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end();
  }
});

afterAll(async () => {
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
  } finally {
    await admin.end();
  }
});

describeSinkWrites('postgres', async () => {
  const store = createPostgresStore({ url: url.toString(), max: 4 });
  const reader = postgres(url.toString(), { max: 1, onnotice: () => {} });
  return {
    store,
    rows: async (text, params) => [...(await reader.unsafe(text, params as never[]))],
    close: async () => {
      await reader.end();
      await store.close();
    },
  };
});
