/**
 * Alerts in `metronis dev` (what `npm start` runs), from the build, with a local PagerDuty Events v2
 * endpoint and a real SMTP server as the far ends: a rule "severity >= high -> PagerDuty and email"
 * and a trace leaking a private key give one trigger and one mail; then a storm of 5,000 such traces
 * for one application with `kill -9` of the process in the middle and a restart on the same data
 * folder: at the far ends, one incident, a few notifications, and one resolve after recovery.
 * Needs `npm run build`; no services.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagerDutyServer, SmtpFarEnd } from '../../../topologies/alerts/test/far-ends.js';
import { eventually, runCli, type Running } from './process.js';

const KEY = 'mtr_test_alerts_dev_key_0123456789';
const ROUTING_KEY = 'Q0123456789abcdef0123456789ABCDE';
const PRIVATE_KEY = `-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpF\n-----END RSA PRIVATE KEY-----`;
let dataDir: string;
let running: Running | undefined;
let pd: PagerDutyServer;
let smtp: SmtpFarEnd;

async function start(): Promise<string> {
  running = runCli(['dev'], { METRONIS_DATA_DIR: dataDir, METRONIS_PORT: '0', METRONIS_DEV_API_KEY: KEY, METRONIS_EGRESS_ALLOW: '127.0.0.1' });
  return (await running.waitFor(/listening on (http:\/\/\S+)/, 120_000))[1]!;
}

async function call(url: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

const leak = (id: string, application: string) => ({ trace_id: id, application, environment: 'prod', input: 'Show me the deploy key', output: `Here it is:\n${PRIVATE_KEY}` });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'metronis-alerts-dev-'));
  [pd, smtp] = await Promise.all([new PagerDutyServer().start(), new SmtpFarEnd().start()]);
});

afterAll(async () => {
  await running?.kill('SIGKILL');
  await Promise.all([pd?.close(), smtp?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

describe('alerts in metronis dev', { timeout: 600_000 }, () => {
  it('pages and mails once for a leaked key; a storm with kill -9 in the middle is one incident and one resolve', async () => {
    let url = await start();
    expect((await call(url, 'POST', '/v1/alerts/channels', { id: 'pd', name: 'on-call', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: ROUTING_KEY } })).status).toBe(201);
    expect((await call(url, 'POST', '/v1/alerts/channels', { id: 'mail', name: 'team', type: 'email', settings: { host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'alerts@example.com', to: ['oncall@example.com'] } })).status).toBe(201);
    const rule = { id: 'leaks', name: 'leaked secrets', kind: 'per_event', when: { min_severity: 'high' }, channels: ['pd', 'mail'], group_wait: '1s', group_interval: '2s', resolve_after: '40s' }; // longer than a restart under load (2 s in CI; 40 s keeps a 20× margin)
    expect((await call(url, 'POST', '/v1/alerts/rules', rule)).status).toBe(201);

    expect((await call(url, 'POST', '/v1/traces', leak('one-leak', 'deploy-bot'))).status).toBe(202);
    await eventually(async () => (pd.triggers().length >= 1 && smtp.mails.length >= 1) || undefined, 60_000, 'the page and the mail');
    await new Promise((r) => setTimeout(r, 3_000));
    expect(pd.triggers()).toHaveLength(1);
    expect(pd.triggers()[0]!.payload).toMatchObject({ severity: 'critical', component: 'deploy-bot' });
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.subject).toBe('[FIRING:1] leaked secrets (deploy-bot prod)');

    const t0 = Date.now();
    const progress = (what: string) => console.log(`alerts dev: ${what} after ${Math.round((Date.now() - t0) / 1000)} s`);
    progress('first page and mail');
    // The storm: 5,000 traces for one application, kill -9 half way, restart, the rest.
    const storm = Array.from({ length: 5_000 }, (_, i) => leak(`storm-${i}`, 'storm-app'));
    for (let i = 0; i < 2_500; i += 500) expect((await call(url, 'POST', '/v1/traces/batch', { traces: storm.slice(i, i + 500) })).status).toBe(202);
    await eventually(async () => pd.triggers().some((e) => e.payload?.component === 'storm-app') || undefined, 60_000, 'the storm page');
    progress('storm page; kill -9');
    expect(await running!.kill('SIGKILL')).toBe(null);
    url = await start();
    progress('restarted');
    for (let i = 2_500; i < 5_000; i += 500) expect((await call(url, 'POST', '/v1/traces/batch', { traces: storm.slice(i, i + 500) })).status).toBe(202);

    const stormAlert = async () => {
      const body = (await (await call(url, 'GET', '/v1/alerts?rule=leaks&limit=50')).json()) as { alerts: { labels: Record<string, string>; occurrences: number; status: string }[] };
      return body.alerts.filter((a) => a.labels.application === 'storm-app');
    };
    await eventually(async () => ((await stormAlert()).reduce((n, a) => n + a.occurrences, 0) >= 5_000 ? true : undefined), 240_000, 'all 5,000 verdicts alerted');
    progress('all 5,000 alerted');
    const stormKeys = new Set(pd.triggers().filter((e) => e.payload?.component === 'storm-app').map((e) => e.dedup_key!));
    expect(stormKeys.size).toBe(1);
    const key = [...stormKeys][0]!;
    await eventually(async () => pd.resolves().some((e) => e.dedup_key === key) || undefined, 120_000, 'the resolve after recovery');
    progress('resolved');
    const events = pd.events.filter((e) => e.dedup_key === key);
    const history = await (await call(url, 'GET', '/v1/alerts/deliveries?channel=pd&limit=100')).text();
    if (events.filter((e) => e.event_action === 'resolve').length !== 1) console.log('PagerDuty saw', JSON.stringify(events.map((e) => e.event_action)), 'deliveries', history);
    expect(pd.alerts.get(key)).toMatchObject({ opened: 1, open: false }); // one incident, no lost and no duplicated page
    expect(events.filter((e) => e.event_action === 'trigger').length).toBeLessThanOrEqual(4);
    expect(events.filter((e) => e.event_action === 'resolve')).toHaveLength(1);
    await eventually(async () => smtp.mails.some((m) => m.subject?.startsWith('[RESOLVED]') && m.subject.includes('storm-app')) || undefined, 60_000, 'the resolved mail');
    const stormMails = smtp.mails.filter((m) => m.subject?.includes('storm-app'));
    expect(stormMails.filter((m) => m.subject?.startsWith('[RESOLVED]'))).toHaveLength(1);
    expect(new Set(stormMails.map((m) => m.messageId)).size).toBeLessThanOrEqual(5);

    // Were we paged, and when: the deliveries, with their attempts.
    const deliveries = (await (await call(url, 'GET', '/v1/alerts/deliveries?channel=pd&limit=100')).json()) as { deliveries: { status: string; kind: string; attempts: { outcome: string }[] }[] };
    expect(deliveries.deliveries.filter((d) => d.kind === 'resolve' && d.status === 'delivered').length).toBeGreaterThanOrEqual(1);
  });
});
