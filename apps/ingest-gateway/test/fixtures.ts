/**
 * Test fixtures that need nothing running: the test org and keys, a logger that keeps its lines,
 * valid trace bodies, and a POST helper for `app.request`.
 */
import type { ApiKeyScope, RelationalStore } from '@metronis/stores';
import { hashApiKey, type GatewayLogger } from '../src/index.js';

export const ORG = 'org_acme';
export const KEYS = {
  ingest: 'mk_test_ingest_0123456789',
  readOnly: 'mk_test_read_0123456789',
  expired: 'mk_test_expired_0123456789',
} as const;

/** A logger that keeps its lines, so tests can check what was logged. */
export function memoryLogger(): GatewayLogger & { lines: { level: string; obj: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
  };
}

export async function seedKeys(store: RelationalStore): Promise<void> {
  await store.migrate();
  await store.ensureOrganization(ORG, 'Acme');
  const put = (id: string, key: string, scopes: ApiKeyScope[], expires_at: Date | null = null) =>
    store.putApiKey({ id, org_id: ORG, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes, expires_at });
  await put('key_ingest', KEYS.ingest, ['ingest', 'read']);
  await put('key_read', KEYS.readOnly, ['read']);
  await put('key_expired', KEYS.expired, ['ingest'], new Date(Date.now() - 60_000));
}

/** A valid public trace body with the given fields overridden. */
export function traceBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    input: { messages: [{ role: 'user', content: 'What is the capital of France?' }] },
    output: { content: 'Paris.', finish_reason: 'stop' },
    model: { provider: 'openai', name: 'gpt-4o-mini', parameters: { temperature: 0.2 } },
    usage: { input_tokens: 12, output_tokens: 3, cost_usd: 0.00001 },
    latency_ms: 420,
    tags: ['smoke'],
    metadata: { team: 'search' },
    ...overrides,
  };
}

/** POST helper for `app.request`. */
export function post(path: string, body: unknown, headers: Record<string, string> = {}): [string, RequestInit] {
  return [
    path,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.ingest}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    },
  ];
}

/** Hook budget for starting PGlite and the embedded log, which can be slow on a busy machine. */
export const SETUP_TIMEOUT_MS = 60_000;
