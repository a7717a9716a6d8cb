/**
 * The default organization and the development API key. Embedded mode creates both at start; the
 * distributed `migrate` creates the organization, and the key when METRONIS_DEV_API_KEY is given.
 * The key is stored only as its SHA-256 hash; in embedded mode a generated key is kept in the data
 * folder (mode 0600) so that it stays the same across restarts.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { hashApiKey } from '@metronis/ingest-gateway';
import type { RelationalStore } from '@metronis/stores';

export const DEFAULT_ORG_ID = 'default';
/** Dev keys are named by their hash, so setting another METRONIS_DEV_API_KEY adds a key rather than clashing. */
export function devKeyId(hash: string): string {
  return `key_dev_${hash.slice(0, 12)}`;
}

export function generateApiKey(): string {
  return `mtr_${randomBytes(24).toString('base64url')}`;
}

/** The dev key: the configured one, else the one kept in `file`, else a new one written there. */
export async function resolveDevKey(configured: string | undefined, file: string | undefined): Promise<{ key: string; source: 'env' | 'file' | 'generated' }> {
  if (configured !== undefined) return { key: configured, source: 'env' };
  if (file === undefined) throw new Error('No development API key: set METRONIS_DEV_API_KEY.');
  try {
    const key = (await readFile(file, 'utf8')).trim();
    if (key.length >= 16) return { key, source: 'file' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = generateApiKey();
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return { key, source: 'generated' };
}

/**
 * Creates the default organization and registers the dev key (idempotent). An earlier dev key stays
 * valid: revoking keys arrives with the admin API (issue 4).
 */
export async function bootstrapDefaultOrg(store: Pick<RelationalStore, 'ensureOrganization' | 'putApiKey'>, devKey: string | undefined): Promise<void> {
  await store.ensureOrganization(DEFAULT_ORG_ID, 'Default organization', { operator: true });
  if (devKey === undefined) return;
  const hash = hashApiKey(devKey);
  await store.putApiKey({
    id: devKeyId(hash),
    org_id: DEFAULT_ORG_ID,
    hash,
    prefix: devKey.slice(0, 8),
    scopes: ['ingest', 'read', 'admin'],
    expires_at: null,
  });
}
