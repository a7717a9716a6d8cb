/**
 * One trace has one size limit, whichever route carries it: a batch item larger than the body limit of
 * `POST /v1/traces` is refused alone (the route answers 413 for the same trace sent by itself), and a
 * trace whose log record would be larger than a trace may take is refused on both routes before
 * anything is written. Found by an outside probe: a 2.5 MB item was accepted inside a batch while the
 * single route refused it, and Kafka then refused the record.
 */
import { MAX_RECORD_BYTES } from '@metronis/streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, SETUP_TIMEOUT_MS, traceBody } from './fixtures.js';
import { startTestGateway, type TestGateway } from './support.js';

interface Answer {
  status: number;
  json: { accepted?: { index: number; trace_id: string }[]; rejected?: { index: number; errors: { path: string; message: string }[] }[]; error?: { code: string; message: string } };
}

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, json: (await res.json()) as Answer['json'] };
}

/** A valid trace of about `bytes` bytes of JSON, its text spread over fields that each stay under their own caps. */
function traceOfSize(id: string, bytes: number): Record<string, unknown> {
  const piece = 'x'.repeat(Math.floor(bytes / 3));
  return traceBody({ trace_id: id, output: piece, reference: piece, context: [piece] });
}

describe('trace sizes on the single and the batch route', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gw.close();
  });

  it('refuses a batch item larger than the single route takes, alone, and the single route answers 413 for it', async () => {
    const before = await gw.countOnLog();
    const big = traceOfSize('size-big', 2_500_000);
    const batch = await answer(await gw.app.request(...post('/v1/traces/batch', { traces: [traceBody({ trace_id: 'size-a' }), big, traceBody({ trace_id: 'size-b' })] })));
    expect(batch.status).toBe(202);
    expect(batch.json.accepted!.map((a) => a.trace_id)).toEqual(['size-a', 'size-b']);
    expect(batch.json.rejected).toHaveLength(1);
    expect(batch.json.rejected![0]!.index).toBe(1);
    expect(batch.json.rejected![0]!.errors).toEqual([{ path: '$.traces[1]', message: expect.stringMatching(/bytes of JSON, more than the 1048576 bytes one trace may have/) }]);
    expect(await gw.countOnLog()).toBe(before + 2);

    const single = await answer(await gw.app.request(...post('/v1/traces', big)));
    expect(single.status).toBe(413);
    expect(single.json.error?.code).toBe('body_too_large');
    expect(await gw.countOnLog()).toBe(before + 2);
  });

  it('refuses a trace whose log record would be larger than a trace may take, on both routes, and writes nothing of it', async () => {
    const before = await gw.countOnLog();
    // Under the body limit as JSON, over the record limit as Avro (the record limit leaves room for an escalation).
    const heavy = traceBody({ trace_id: 'size-heavy', output: 'y'.repeat(990_000) });
    expect(JSON.stringify(heavy).length).toBeLessThan(1024 * 1024);
    const single = await answer(await gw.app.request(...post('/v1/traces', heavy)));
    expect(single.status).toBe(413);
    expect(single.json.error?.message).toMatch(/takes \d+ bytes on the log, more than the \d+ bytes a trace may take/);
    const batch = await answer(await gw.app.request(...post('/v1/traces/batch', { traces: [heavy, traceBody({ trace_id: 'size-c' })] })));
    expect(batch.status).toBe(202);
    expect(batch.json.accepted!.map((a) => a.trace_id)).toEqual(['size-c']);
    expect(batch.json.rejected![0]!.errors[0]!.path).toBe('$.traces[0]');
    expect(await gw.countOnLog()).toBe(before + 1);
  });

  it('never writes a record larger than the log takes', async () => {
    const records = await gw.readTraces(await gw.countOnLog());
    expect(records.length).toBeGreaterThan(0);
    for (const { record } of records) expect(Buffer.byteLength(record.key ?? '') + (record.value?.length ?? 0)).toBeLessThanOrEqual(MAX_RECORD_BYTES);
  });

  it('measures the record after PII masking, which can lengthen text', async () => {
    // "a@b.co" (6 characters) is masked as "[EMAIL_1]" (9): under the limit as sent, over it once masked.
    const body = traceBody({ trace_id: 'size-masked', output: 'a@b.co '.repeat(300) });
    const limits = { recordBytes: 2_800 };
    const plain = await startTestGateway({ limits });
    const masking = await startTestGateway({ limits, policies: { get: async () => ({ mask_pii_before_storage: true }) } });
    try {
      expect((await plain.app.request(...post('/v1/traces', body))).status).toBe(202);
      const refused = await answer(await masking.app.request(...post('/v1/traces', body)));
      expect(refused.status).toBe(413);
      expect(refused.json.error?.message).toMatch(/once its PII is masked, more than the 2800 bytes/);
      expect(await masking.countOnLog()).toBe(0);
    } finally {
      await plain.close();
      await masking.close();
    }
  });

  it('refuses a record limit above what the log takes', async () => {
    await expect(startTestGateway({ limits: { recordBytes: MAX_RECORD_BYTES + 1 } })).rejects.toThrow(/recordBytes/);
  });
});
