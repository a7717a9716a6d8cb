/**
 * The trace-search contract on a real PostgreSQL (`npm run stack:up`), in a throwaway database
 * created for this run and dropped after it.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { createPostgresStore } from '../src/postgres/postgres.js';
import type { RelationalStore } from '../src/types.js';
import { describeSearch } from './search-contract.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
const database = `metronis_search_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
const url = new URL(DATABASE_URL);
url.pathname = `/${database}`;
const stores: RelationalStore[] = [];

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

describeSearch('postgres', async () => {
  const store = createPostgresStore({ url: url.toString(), max: 4 });
  stores.push(store);
  return store;
});
