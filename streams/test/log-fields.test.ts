/**
 * errorFields: what the runner logs of an error keeps its name, code and the first line of its own
 * message, and only the names and codes of what it wraps, so a driver's error holding the failed
 * statement and its parameters (drizzle's "Failed query: … params: …") never reaches the log.
 */
import { describe, expect, it } from 'vitest';
import { errorFields, orgIdsOf } from '../src/runner/log-fields.js';

describe('errorFields', () => {
  it("keeps the reason and the codes of the chain, never a cause's message", () => {
    const server = Object.assign(new Error('time zone displacement out of range: "+010000-01-01T00:00:00.000Z"'), { code: '22009' });
    const driver = new Error('Failed query: insert into "traces" ("record") values ($1)\nparams: {"output":"a customer secret"}', { cause: server });
    const store = Object.assign(new Error(`pglite upsertTraces: ${server.message} (22009)`, { cause: driver }), { name: 'StoreError' });
    const fields = errorFields(store);
    expect(fields).toEqual({
      name: 'StoreError',
      message: 'pglite upsertTraces: time zone displacement out of range: "+010000-01-01T00:00:00.000Z" (22009)',
      causes: [{ name: 'Error' }, { name: 'Error', code: '22009' }],
    });
    expect(JSON.stringify(fields)).not.toMatch(/secret|Failed query|params/);
  });

  it('cuts a message to its first line and 300 characters, and takes what is not an Error', () => {
    expect(errorFields(new Error(`${'x'.repeat(400)}\nsecond line`)).message).toBe(`${'x'.repeat(300)}…`);
    expect(errorFields(new Error('first\nparams: secret')).message).toBe('first');
    expect(errorFields('a string thrown')).toEqual({ name: 'string', message: 'a string thrown' });
    expect(errorFields(null)).toEqual({ name: 'object', message: 'null' });
  });
});

describe('orgIdsOf', () => {
  it('lists the distinct organizations of records, sorted, at most 20, with their count', () => {
    expect(orgIdsOf([{ org_id: 'b' }, { org_id: 'a' }, { org_id: 'b' }, { nothing: 1 }, null, 'x'])).toEqual({ org_ids: ['a', 'b'], org_count: 2 });
    const many = orgIdsOf(Array.from({ length: 30 }, (_, i) => ({ org_id: `org_${String(i).padStart(2, '0')}` })));
    expect(many.org_ids).toHaveLength(20);
    expect(many.org_count).toBe(30);
  });
});
