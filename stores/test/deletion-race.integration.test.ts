/**
 * The deletion race (deletion-race.ts) on a real PostgreSQL (`npm run stack:up`), where the sinks'
 * writes and the deletion run on different connections of the pool at the same time: in a throwaway
 * database created for this run and dropped after it.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { createPostgresStore } from '../src/postgres/postgres.js';
import type { RelationalStore } from '../src/types.js';
import { describeDeletionRace } from './deletion-race.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
const database = `metronis_race_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
const testUrl = (() => {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();

let store: RelationalStore | undefined;

beforeAll(async () => {
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end();
  }
});

afterAll(async () => {
  await store?.close();
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
  } finally {
    await admin.end();
  }
});

describeDeletionRace('postgres', async () => (store = createPostgresStore({ url: testUrl, max: 8 })));
