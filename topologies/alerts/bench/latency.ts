/**
 * Verdict → far end latency of the alerts topology, on embedded parts (the embedded log, PGlite, the
 * real runner, adapters and dispatcher) with a local PagerDuty Events v2 endpoint: each round
 * produces one critical verdict for a new application (a new group, so `group_wait` applies once)
 * and times until the far end receives the trigger. Prints p50/p95/p99 and the mean.
 *
 * The rule uses `group_wait: 0s`: what is measured is the pipeline (rules stage, Alert record,
 * notifier, flush, delivery), plus up to one dispatcher period (`--dispatch-ms`, default 500, the
 * product's). One routing key is paced at 120 events a minute (PagerDuty's limit, pacing.ts), so a
 * run faster than that waits for the limiter after its 120th round and times out: at 500 ms a round
 * takes about half a second, under the limit. Run it on a quiet machine:
 *
 *   node --conditions=source --import tsx topologies/alerts/bench/latency.ts [rounds=200] [--dispatch-ms=500]
 */
import { makeVerdict, startEngine } from '../test/engine.js';
import { PagerDutyServer, waitFor } from '../test/far-ends.js';

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 200);
const dispatchMs = Number(args.find((a) => a.startsWith('--dispatch-ms='))?.split('=')[1] ?? 500);
const ORG = 'org_bench_alerts';

const pd = await new PagerDutyServer().start();
const engine = await startEngine({ dispatchIntervalMs: dispatchMs });
await engine.addChannel(ORG, 'pd', { name: 'pd', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: 'B0123456789abcdef0123456789ABCDE' } });
await engine.addRule(ORG, 'leaks', { name: 'leaks', kind: 'per_event', when: { min_severity: 'high' }, channels: ['pd'], group_wait: '0s', group_interval: '1m' });

const latencies: number[] = [];
for (let i = 0; i < rounds; i++) {
  const before = pd.triggers().length;
  const started = performance.now();
  await engine.produceVerdicts([makeVerdict({ org_id: ORG, application: `bench-app-${i}` })]);
  await waitFor('the trigger', () => pd.triggers().length > before, 30_000);
  latencies.push(performance.now() - started);
}
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
const mean = (latencies.reduce((s, v) => s + v, 0) / latencies.length).toFixed(1);
console.log(`verdict -> PagerDuty trigger, ${rounds} rounds, dispatcher every ${dispatchMs} ms (node ${process.version})`);
console.log(`p50 ${at(0.5)} ms  p95 ${at(0.95)} ms  p99 ${at(0.99)} ms  mean ${mean} ms  max ${latencies.at(-1)!.toFixed(1)} ms`);
await engine.close();
await pd.close();
