/**
 * PII masking at the gateway: with the org's policy saying `mask_pii_before_storage`, the record on
 * the log holds placeholders and no raw PII; without it, the raw text. The policy comes from the real
 * relational store (PGlite) through the real policy cache.
 */
import { createPolicyCache, type PolicyCache } from '@metronis/evaluators';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG, post, SETUP_TIMEOUT_MS, seedKeys, traceBody } from './fixtures.js';
import { startTestGateway, type TestGateway } from './support.js';

const EMAIL = 'ada.lovelace@analytical-engines.co.uk';
const CARD = '4556 7375 8143 3924'; // passes the Luhn check
const PHONE = '+44 20 7946 0958';

const piiBody = (overrides: Record<string, unknown> = {}) =>
  traceBody({
    input: { messages: [{ role: 'user', content: `My email is ${EMAIL}, please charge my card ${CARD}.` }] },
    output: { content: `Done: a receipt goes to ${EMAIL}. Call ${PHONE} with questions.`, finish_reason: 'stop' },
    context: [{ content: `Customer record: ${EMAIL}` }],
    reference: `Receipt sent to ${EMAIL}.`,
    ...overrides,
  });

describe('PII masking at the gateway', () => {
  let store: RelationalStore;
  let policies: PolicyCache;
  let gw: TestGateway;

  beforeAll(async () => {
    store = createPgliteStore();
    await seedKeys(store);
    policies = createPolicyCache({ load: async (org) => (await store.getPolicy(org))?.document ?? null, failClosed: true });
    gw = await startTestGateway({ store, policies });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gw?.close();
    await store?.close();
  });

  async function setMasking(on: boolean): Promise<void> {
    await store.putPolicy(ORG, { mask_pii_before_storage: on });
    policies.invalidate(ORG);
  }

  async function onLog(traceId: string) {
    const all = await gw.readTraces(await gw.countOnLog());
    const found = all.filter((r) => r.trace.trace_id === traceId);
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  it('masks every text field before the trace reaches the log when the org asks for it', async () => {
    await setMasking(true);
    const res = await gw.app.request(...post('/v1/traces', piiBody({ trace_id: 'masked-1' })));
    expect(res.status, await res.clone().text()).toBe(202);
    const { record, trace } = await onLog('masked-1');
    expect(trace.pii_masked).toBe(true);
    expect(trace.input.messages[0]!.content).toBe('My email is [EMAIL_1], please charge my card [CREDIT_CARD_1].');
    // the same address gets the same placeholder in every field of the trace
    expect(trace.output.content).toBe('Done: a receipt goes to [EMAIL_1]. Call [PHONE_1] with questions.');
    expect(trace.context[0]!.content).toBe('Customer record: [EMAIL_1]');
    expect(trace.reference).toBe('Receipt sent to [EMAIL_1].');
    // the raw values are nowhere in the bytes on the log
    const bytes = record.value!.toString('latin1');
    for (const raw of [EMAIL, CARD, CARD.replaceAll(' ', ''), PHONE, '7946 0958']) expect(bytes).not.toContain(raw);
  });

  it('masks every item of a batch', async () => {
    await setMasking(true);
    const res = await gw.app.request(...post('/v1/traces/batch', { traces: [piiBody({ trace_id: 'masked-b1' }), piiBody({ trace_id: 'masked-b2' })] }));
    expect(res.status).toBe(202);
    for (const id of ['masked-b1', 'masked-b2']) {
      const { trace } = await onLog(id);
      expect(trace.pii_masked).toBe(true);
      expect(trace.output.content).toContain('[EMAIL_1]');
      expect(JSON.stringify(trace)).not.toContain(EMAIL);
    }
  });

  it('keeps the raw text when the org does not ask for masking', async () => {
    await setMasking(false);
    const res = await gw.app.request(...post('/v1/traces', piiBody({ trace_id: 'raw-1' })));
    expect(res.status).toBe(202);
    const { trace } = await onLog('raw-1');
    expect(trace.pii_masked).toBe(false);
    expect(trace.input.messages[0]!.content).toBe(`My email is ${EMAIL}, please charge my card ${CARD}.`);
    expect(trace.output.content).toContain(EMAIL);
  });

  it('follows a policy change once the cache refreshes', async () => {
    await setMasking(false);
    await gw.app.request(...post('/v1/traces', piiBody({ trace_id: 'switch-raw' })));
    await setMasking(true);
    await gw.app.request(...post('/v1/traces', piiBody({ trace_id: 'switch-masked' })));
    expect((await onLog('switch-raw')).trace.output.content).toContain(EMAIL);
    expect((await onLog('switch-masked')).trace.output.content).not.toContain(EMAIL);
  });
});

describe('PII masking when the policy cannot be read', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const policies = createPolicyCache({
      load: async () => {
        throw new Error('policy store unreachable');
      },
      failClosed: true,
    });
    gw = await startTestGateway({ policies });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gw?.close();
  });

  it('answers 503 policy_unavailable with Retry-After and writes nothing', async () => {
    for (const request of [post('/v1/traces', piiBody()), post('/v1/traces/batch', { traces: [piiBody()] })]) {
      const res = await gw.app.request(...request);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('policy_unavailable');
      expect(body.error.message).toMatch(/PII masking cannot be decided/);
    }
    expect(await gw.countOnLog()).toBe(0);
    expect(gw.logger.lines.filter((l) => l.level === 'error').map((l) => String((l.obj.err as Error)?.message))).toEqual([
      expect.stringMatching(/policy store unreachable/),
      expect.stringMatching(/policy store unreachable/),
    ]);
  });
});
