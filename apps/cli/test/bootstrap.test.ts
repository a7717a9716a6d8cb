import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashApiKey } from '@metronis/ingest-gateway';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapDefaultOrg, DEFAULT_ORG_ID, resolveDevKey } from '../src/bootstrap.js';

let dir: string;
let store: RelationalStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metronis-bootstrap-'));
  store = createPgliteStore();
  await store.migrate();
}, 60_000);

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dev key', () => {
  it('generates a key once, keeps it private in the data folder, and reuses it', async () => {
    const file = join(dir, 'dev-api-key');
    const first = await resolveDevKey(undefined, file);
    expect(first.source).toBe('generated');
    expect(first.key).toMatch(/^mtr_[A-Za-z0-9_-]{32}$/);
    expect((await readFile(file, 'utf8')).trim()).toBe(first.key);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await resolveDevKey(undefined, file)).toEqual({ key: first.key, source: 'file' });
  });

  it('prefers the configured key and fails clearly with neither a key nor a file', async () => {
    expect(await resolveDevKey('mtr_configured_key_123456', join(dir, 'dev-api-key'))).toEqual({ key: 'mtr_configured_key_123456', source: 'env' });
    await expect(resolveDevKey(undefined, undefined)).rejects.toThrow(/set METRONIS_DEV_API_KEY/);
  });

  it('registers the default org and the key idempotently; another dev key is added beside it', async () => {
    await bootstrapDefaultOrg(store, 'mtr_first_dev_key_123456');
    await bootstrapDefaultOrg(store, 'mtr_first_dev_key_123456');
    await bootstrapDefaultOrg(store, 'mtr_second_dev_key_12345');
    for (const key of ['mtr_first_dev_key_123456', 'mtr_second_dev_key_12345']) {
      const found = await store.findApiKeyByHash(hashApiKey(key));
      expect(found).toMatchObject({ org_id: DEFAULT_ORG_ID, scopes: ['ingest', 'read', 'admin'], revoked_at: null });
    }
    expect(await store.findApiKeyByHash(hashApiKey('mtr_never_registered_1234'))).toBeNull();
  });
});
