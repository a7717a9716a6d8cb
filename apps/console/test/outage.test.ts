/**
 * The database unreachable: every console route that needs it answers 503 `store_unavailable` with
 * Retry-After, never a 500. The keys are checked against a working store (PGlite), the routes run on a
 * real PostgreSQL client pointed at a port where nothing listens (connection refused). Found by
 * breaking the store under the HTTP fuzz suite: every route answered 500 `internal`. (A closed
 * PGlite, as during shutdown, still answers 500: its error is not a connection error.)
 */
import { createApiKeyAuthenticator, hashApiKey } from '@metronis/ingest-gateway';
import { createPgliteStore, createPostgresStore, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/index.js';

const KEY = 'mtr_test_outage_admin_0123456789';
let keys: RelationalStore;
let down: RelationalStore;
let app: ReturnType<typeof createConsoleApp>;

beforeAll(async () => {
  keys = createPgliteStore();
  await keys.migrate();
  await keys.ensureOrganization('org_outage', 'Outage');
  await keys.putApiKey({ id: 'key_outage', org_id: 'org_outage', hash: hashApiKey(KEY), prefix: KEY.slice(0, 8), scopes: ['ingest', 'read', 'admin'] });
  down = createPostgresStore({ url: 'postgres://metronis@127.0.0.1:1/metronis', connectTimeoutSeconds: 2 });
  app = createConsoleApp({ store: down, authenticate: createApiKeyAuthenticator({ store: keys }), ready: async () => ({ postgres: false }) });
}, 60_000);

afterAll(async () => {
  await down?.close().catch(() => undefined);
  await keys?.close();
});

describe('console with the database unreachable', () => {
  for (const [method, path, body] of [
    ['GET', '/v1/traces/t1'],
    ['GET', '/v1/policy'],
    ['PUT', '/v1/policy', '{"fail_at":"high"}'],
    ['GET', '/v1/org'],
    ['GET', '/v1/keys'],
  ] as const) {
    it(`answers ${method} ${path} with 503 store_unavailable and Retry-After`, async () => {
      const response = await app.request(path, { method, body, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-request-id': 'outage-1' } });
      const text = await response.text();
      expect(response.status, text).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(JSON.parse(text)).toEqual({ error: { code: 'store_unavailable', message: expect.any(String), request_id: 'outage-1' } });
      expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/i);
    });
  }
});
