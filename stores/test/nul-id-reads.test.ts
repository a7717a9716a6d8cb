/**
 * Reads by an id holding U+0000 find nothing instead of failing: Postgres text cannot carry the
 * character (the query errors with 22021), and writes refuse such ids, so no stored record can match.
 * Found by the HTTP fuzz suite: `GET /v1/traces/%00` answered 500.
 */
import { makeTrace } from '@metronis/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteStore, type RelationalStore } from '../src/index.js';

let store: RelationalStore;

beforeAll(async () => {
  store = createPgliteStore();
  await store.migrate();
  await store.ensureOrganization('org_nul', 'Nul');
  await store.upsertTraces([makeTrace({ org_id: 'org_nul', trace_id: 'a' })]);
}, 60_000);

afterAll(async () => {
  await store?.close();
});

describe('reads by an id with U+0000', () => {
  for (const id of ['\u0000', 'a\u0000', '\u0000a']) {
    it(`find nothing for ${JSON.stringify(id)}`, async () => {
      await expect(store.getTrace('org_nul', id)).resolves.toBeNull();
      await expect(store.getVerdict('org_nul', id)).resolves.toBeNull();
      await expect(store.getEvaluations('org_nul', id)).resolves.toEqual([]);
      const scope = store.forOrg('org_nul');
      await expect(scope.getTrace(id)).resolves.toBeNull();
      await expect(scope.getVerdict(id)).resolves.toBeNull();
      await expect(scope.getEvaluations(id)).resolves.toEqual([]);
    });
  }

  it('still find the record of a plain id', async () => {
    await expect(store.getTrace('org_nul', 'a')).resolves.toMatchObject({ trace_id: 'a' });
    await expect(store.forOrg('org_nul').getTrace('a')).resolves.toMatchObject({ trace_id: 'a' });
  });
});
