/**
 * The console's OpenAPI document: served at /openapi.json, and merged with another document without
 * silently redefining a shared component. That every served route is documented is checked by the
 * HTTP fuzz suite (apps/cli/test/fuzz), over the embedded surface.
 */
import { createPgliteStore } from '@metronis/stores';
import { describe, expect, it } from 'vitest';
import { buildConsoleOpenApiDocument, createConsoleApp, mergeOpenApiDocuments } from '../src/index.js';

const app = createConsoleApp({ store: createPgliteStore(), authenticate: async () => {
    throw new Error('not called: no test here presents a key');
  },
  ready: async () => ({}) });

describe('console OpenAPI document', () => {
  it('is served at /openapi.json and documents the read and policy routes', async () => {
    const response = await app.request('/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths['/v1/traces/{id}'] ?? {}).sort()).toEqual(['delete', 'get']);
    for (const path of ['/v1/orgs', '/v1/org', '/v1/keys', '/v1/keys/{id}', '/v1/audit', '/v1/users/{user_id}/data', '/v1/compliance/report']) expect(doc.paths[path], path).toBeDefined();
    expect(Object.keys(doc.paths['/v1/policy'] ?? {}).sort()).toEqual(['get', 'put']);
  });

  it('merges with another document, the second winning on a shared path and method', () => {
    const first = { openapi: '3.1.0', info: { title: 'a' }, paths: { '/healthz': { get: { operationId: 'a' } }, '/x': { post: {} } }, components: { schemas: { A: { type: 'string' } } } };
    const merged = mergeOpenApiDocuments(first, buildConsoleOpenApiDocument()) as { paths: Record<string, Record<string, { operationId?: string }>>; components: { schemas: Record<string, unknown> } };
    expect(merged.paths['/x']).toEqual({ post: {} });
    expect(merged.paths['/healthz']?.get?.operationId).toBe('health');
    expect(merged.components.schemas.A).toEqual({ type: 'string' });
    expect(merged.components.schemas.ConsoleError).toBeDefined();
  });

  it('refuses two different definitions of one component', () => {
    const first = { paths: {}, components: { schemas: { ConsoleError: { type: 'string' } } } };
    expect(() => mergeOpenApiDocuments(first, buildConsoleOpenApiDocument())).toThrow(/ConsoleError/);
  });
});
