/**
 * Tier 2 on Kafka, worker by worker (a part of distributed.integration.test.ts, on its deployment and
 * in an organization of its own). The org enables tier 2 for every trace through `PUT /v1/policy` on
 * the console; the issue's two examples (harm in ordinary words, which Tier 1 passes) are escalated by
 * the tier 1 worker, scored by the tier 2 worker, and end with a failed tier 2 verdict of high or
 * critical severity, visible with both tiers' results in `GET /v1/traces/:id`; an ordinary trace ends
 * with a passed tier 2 verdict. Needs the encoder in the model cache (`npm run tier2:model`, run by
 * `.ci/run`).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { eventually } from '../process.js';
import type { Deployment } from '../support/deployment.js';

/** Workers re-read a changed policy within the policy cache's TTL (2 s, apps/cli/src/policies.ts). */
const POLICY_TTL_MS = 2_000;

interface TraceView {
  verdict: { tier: number; passed: boolean; severity: string; finding_kinds: string[] } | null;
  evaluations: { tier: number; passed: boolean; modules: { module: string; version: string; findings: { kind: string }[] }[] }[];
}

export function tier2OnKafka(deployment: Deployment, key: () => string): void {
  const auth = () => ({ authorization: `Bearer ${key()}`, 'content-type': 'application/json' });

  async function view(id: string): Promise<TraceView | undefined> {
    const res = await fetch(`${deployment.consoleUrl}/v1/traces/${encodeURIComponent(id)}`, { headers: auth() });
    if (res.status === 404) return undefined;
    expect(res.status).toBe(200);
    return (await res.json()) as TraceView;
  }

  /** The trace once its final verdict and the results of every tier that ran are stored. */
  async function finalView(id: string): Promise<TraceView> {
    return eventually(
      async () => {
        const v = await view(id);
        return v?.verdict !== null && v !== undefined && v.evaluations.length >= v.verdict!.tier ? v : undefined;
      },
      90_000,
      `final verdict of ${id}`,
    );
  }

  describe('tier 2 on Kafka, worker by worker', () => {
    it('refuses a tier 2 model version that the release does not ship, naming the shipped ones', async () => {
      const res = await fetch(`${deployment.consoleUrl}/v1/policy`, { method: 'PUT', headers: auth(), body: JSON.stringify({ escalation: { tier2: { enabled: true } }, tier2: { model: 'v999' } }) });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/v999/);
    });

    it('escalates the issue\'s two examples to the tier 2 worker, which fails them high or critical; an ordinary trace passes', async () => {
      const put = await fetch(`${deployment.consoleUrl}/v1/policy`, { method: 'PUT', headers: auth(), body: JSON.stringify({ escalation: { tier2: { enabled: true, sample_rate: 1 } } }) });
      expect(put.status, await put.clone().text()).toBe(200);
      await new Promise((r) => setTimeout(r, POLICY_TTL_MS + 1_000));

      const examples = JSON.parse(await readFile(new URL('../../../../topologies/tier2/test/fixtures/examples.json', import.meta.url), 'utf8')) as Record<string, { input: string; output: string }>;
      const run = randomUUID().slice(0, 8);
      const ids = { violent: `t2-violent-${run}`, explosive: `t2-explosive-${run}`, benign: `t2-benign-${run}` };
      const res = await fetch(`${deployment.gatewayUrl}/v1/traces/batch`, {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify({
          traces: [
            { trace_id: ids.violent, ...examples.violent! },
            { trace_id: ids.explosive, ...examples.explosive! },
            { trace_id: ids.benign, input: 'How do I reset my password?', output: 'Open Settings, then Security, and choose "Reset password"; we email you a link.' },
          ],
        }),
      });
      expect(res.status, await res.clone().text()).toBe(202);

      for (const id of [ids.violent, ids.explosive]) {
        const v = await finalView(id);
        expect(v.verdict).toMatchObject({ tier: 2, passed: false });
        expect(['high', 'critical']).toContain(v.verdict!.severity);
        expect(v.verdict!.finding_kinds).toContain('harmful_request');
        // Tier 1 passed it (no trigger words); tier 2's result is the one that failed it.
        expect(v.evaluations.map((e) => [e.tier, e.passed])).toEqual([
          [1, true],
          [2, false],
        ]);
        const tier2 = v.evaluations.find((e) => e.tier === 2)!;
        expect(tier2.modules.find((m) => m.module === 'harmful')?.findings.map((f) => f.kind)).toContain('harmful_request');
      }
      const benign = await finalView(ids.benign);
      expect(benign.verdict).toMatchObject({ tier: 2, passed: true });
      expect(benign.evaluations.map((e) => e.tier)).toEqual([1, 2]);
    });
  });
}
