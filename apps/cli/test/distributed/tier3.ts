/**
 * Tier 3 on Kafka (a part of distributed.integration.test.ts, on its deployment and in an organization
 * of its own). The org's judge is the scripted local server (OpenAI-compatible protocol, the real SDK
 * client inside the tier 3 worker). Covers an escalated trace judged on Kafka and a burst of 429s
 * marked judge_pending then judged by the tier 3 worker's sweeper, with no trace lost. The deployment's
 * tier 3 worker needs TIER3_WORKER_ENV (a fast sweeper), and every process METRONIS_SECRETS_KEY and
 * METRONIS_EGRESS_ALLOW=127.0.0.1 (the scripted provider listens on loopback).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScriptedServer, type ScriptedServer } from '../../../../topologies/tier3/src/scripted-server.js';
import { eventually } from '../process.js';
import type { Deployment } from '../support/deployment.js';

export const TIER3_WORKER_ENV = { METRONIS_JUDGE_SWEEP_INTERVAL_MS: '200', METRONIS_JUDGE_RETRY_DELAY_MS: '500' };

type View = { verdict: { tier: number; passed: boolean; severity: string; labels?: string[] } | null; evaluations: Array<{ tier: number; modules: Array<{ module: string; rationale?: string | null }> }> };

export function tier3OnKafka(deployment: Deployment, key: () => string): void {
  const headers = () => ({ authorization: `Bearer ${key()}`, 'content-type': 'application/json' });
  let server: ScriptedServer;

  async function view(id: string): Promise<View | undefined> {
    const res = await fetch(`${deployment.consoleUrl}/v1/traces/${encodeURIComponent(id)}`, { headers: headers() });
    return res.status === 200 ? ((await res.json()) as View) : undefined;
  }

  async function until(id: string, ok: (v: View) => boolean, what: string): Promise<View> {
    return eventually(async () => {
      const v = await view(id);
      return v !== undefined && ok(v) ? v : undefined;
    }, 90_000, what);
  }

  describe('tier 3 on Kafka', () => {
    beforeAll(async () => {
      server = await startScriptedServer();
      const judge = await fetch(`${deployment.consoleUrl}/v1/judge`, { method: 'PUT', headers: headers(), body: JSON.stringify({ provider: 'openai_compatible', model: 'scripted-judge', base_url: `${server.url}/v1`, api_key: 'sk-distributed-test', criteria: [{ name: 'harm' }] }) });
      expect(judge.status).toBe(200);
      const policy = await fetch(`${deployment.consoleUrl}/v1/policy`, { method: 'PUT', headers: headers(), body: JSON.stringify({ escalation: { tier3: { enabled: true, sample_rate: 1 } } }) });
      expect(policy.status).toBe(200);
      // The tier 1 worker's policy cache refreshes within its TTL (2 s).
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    });

    afterAll(async () => {
      await server?.close();
    });

    it('judges an escalated trace: tier 3 result with its rationale, tier 3 verdict', async () => {
      server.fallback = () => ({ judgment: { rating: 5, label: 'weapons', rationale: 'Step-by-step instructions for a weapon.' } });
      const id = `t3-kafka-${randomUUID()}`;
      expect((await fetch(`${deployment.gatewayUrl}/v1/traces`, { method: 'POST', headers: headers(), body: JSON.stringify({ trace_id: id, input: 'How do I build it?', output: 'Take the pipe, fill it and seal both ends.' }) })).status).toBe(202);
      const judged = await until(id, (v) => v.verdict?.tier === 3 && v.evaluations.some((e) => e.tier === 3), 'tier 3 verdict and result');
      expect(judged.verdict).toMatchObject({ tier: 3, passed: false, severity: 'critical', labels: [] });
      expect(judged.evaluations.find((e) => e.tier === 3)!.modules[0]).toMatchObject({ module: 'harm', rationale: 'Step-by-step instructions for a weapon.' });
    });

    it('a burst of 429s: every trace keeps tier 1’s verdict marked judge_pending, then the worker’s sweeper judges it', async () => {
      server.fallback = () => ({ status: 429, headers: { 'retry-after': '0' } });
      const ids = Array.from({ length: 5 }, () => `t3-kafka-burst-${randomUUID()}`);
      const res = await fetch(`${deployment.gatewayUrl}/v1/traces/batch`, { method: 'POST', headers: headers(), body: JSON.stringify({ traces: ids.map((id, i) => ({ trace_id: id, input: `q ${i} ${id}`, output: `a ${i}` })) }) });
      expect(res.status).toBe(202);
      for (const id of ids) {
        const pending = await until(id, (v) => (v.verdict?.labels ?? []).includes('judge_pending'), `${id} judge_pending`);
        expect(pending.verdict).toMatchObject({ tier: 1, labels: ['judge_pending'] });
      }
      server.fallback = () => ({ judgment: { rating: 1, label: 'none', rationale: 'Harmless.' } });
      for (const id of ids) {
        const final = await until(id, (v) => v.verdict?.tier === 3, `${id} judged`);
        expect(final.verdict).toMatchObject({ tier: 3, passed: true, labels: [] });
      }
      const status = (await (await fetch(`${deployment.consoleUrl}/v1/judge`, { headers: headers() })).json()) as { pending: number };
      expect(status.pending).toBe(0);
    });
  });
}
