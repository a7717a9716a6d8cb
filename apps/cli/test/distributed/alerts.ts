/**
 * Alerts on Kafka (a part of distributed.integration.test.ts, on its deployment and in an organization
 * of its own), with a local PagerDuty Events v2 endpoint and a real SMTP server as the far ends (on
 * loopback, which the deployment allows with METRONIS_EGRESS_ALLOW=127.0.0.1; every process also needs
 * METRONIS_SECRETS_KEY). A rule "severity >= high -> PagerDuty and email": a leaked key gives one
 * trigger and one mail; a silence stops the notifications of its application; a storm of critical
 * verdicts for one application, with `kill -9` of the alerts worker in the middle and a restart, is one
 * incident and a few notifications, counted at the far ends (no page lost, none twice); recovery sends
 * one resolve.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagerDutyServer, SmtpFarEnd } from '../../../../topologies/alerts/test/far-ends.js';
import { eventually } from '../process.js';
import type { Deployment } from '../support/deployment.js';

const ROUTING_KEY = 'D0123456789abcdef0123456789ABCDE';
const PRIVATE_KEY = `-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpF\n-----END RSA PRIVATE KEY-----`;
const STORM = 300;
// unique per run: the shared Kafka keeps the verdicts of earlier runs, which must not count here
const run = randomUUID().slice(0, 8);
const app = (name: string) => `${name}-${run}`;
const leak = (id: string, application: string) => ({ trace_id: `${id}-${run}`, application, environment: 'prod', input: 'Show me the deploy key', output: `Here it is:\n${PRIVATE_KEY}` });

export function alertsOnKafka(deployment: Deployment, key: () => string): void {
  let pd: PagerDutyServer;
  let smtp: SmtpFarEnd;

  const headers = (body: boolean) => ({ authorization: `Bearer ${key()}`, ...(body ? { 'content-type': 'application/json' } : {}) });
  async function api(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${deployment.consoleUrl}${path}`, { method, headers: headers(body !== undefined), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  }
  async function traces(list: unknown[]): Promise<void> {
    for (let i = 0; i < list.length; i += 100) {
      const res = await fetch(`${deployment.gatewayUrl}/v1/traces/batch`, { method: 'POST', headers: headers(true), body: JSON.stringify({ traces: list.slice(i, i + 100) }) });
      expect(res.status).toBe(202);
    }
  }
  const forApp = (name: string) => pd.triggers().filter((e) => e.payload?.component === name);
  const mailsFor = (name: string) => smtp.mails.filter((m) => m.subject?.includes(name));

  async function occurrences(application: string): Promise<number> {
    const res = await api('GET', '/v1/alerts?rule=leaks&limit=100');
    if (res.status !== 200) return 0;
    const body = (await res.json()) as { alerts: { labels: Record<string, string>; occurrences: number }[] };
    return body.alerts.filter((a) => a.labels.application === application).reduce((n, a) => n + a.occurrences, 0);
  }

  describe('alerts on Kafka (gateway, tier1, sinks, alerts workers and console as processes)', () => {
    beforeAll(async () => {
      [pd, smtp] = await Promise.all([new PagerDutyServer().start(), new SmtpFarEnd().start()]);
    });

    afterAll(async () => {
      await Promise.all([pd?.close(), smtp?.close()]);
    });

    it('refuses a channel inside the network that the operator did not allow (400 naming the field)', async () => {
      const res = await api('POST', '/v1/alerts/channels', { id: 'meta', name: 'metadata', type: 'webhook', secrets: { url: 'http://169.254.169.254/latest/meta-data/' } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string; issues: { path: string }[] } }).error).toMatchObject({ code: 'destination_refused', issues: [{ path: '$.secrets.url' }] });
    });

    it('pages and mails once for a leaked key; a silence stops them; a storm with kill -9 of the alerts worker is one incident; recovery resolves once', { timeout: 600_000 }, async () => {
      const t0 = Date.now();
      const progress = (what: string) => console.log(`alerts distributed: ${what} after ${Math.round((Date.now() - t0) / 1000)} s`);
      expect((await api('POST', '/v1/alerts/channels', { id: 'pd', name: 'on-call', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: ROUTING_KEY } })).status).toBe(201);
      expect((await api('POST', '/v1/alerts/channels', { id: 'mail', name: 'team', type: 'email', settings: { host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'alerts@example.com', to: ['oncall@example.com'] } })).status).toBe(201);
      // resolve_after: longer than a restart of the alerts worker (process start, a group session timing out)
      const rule = { id: 'leaks', name: 'leaked secrets', kind: 'per_event', when: { min_severity: 'high' }, channels: ['pd', 'mail'], group_wait: '1s', group_interval: '2s', resolve_after: '45s' };
      expect((await api('POST', '/v1/alerts/rules', rule)).status).toBe(201);

      // One leaked key: one trigger, one mail.
      const one = app('deploy-bot');
      await traces([leak('one-leak', one)]);
      await eventually(async () => (forApp(one).length >= 1 && mailsFor(one).length >= 1) || undefined, 90_000, 'the page and the mail');
      progress('first page and mail');
      await new Promise((r) => setTimeout(r, 4_000)); // two group intervals: anything more would have been sent by now
      expect(forApp(one)).toHaveLength(1);
      expect(forApp(one)[0]!.payload).toMatchObject({ severity: 'critical', component: one, group: 'prod' });
      expect(mailsFor(one)).toHaveLength(1);
      expect(mailsFor(one)[0]!.subject).toBe(`[FIRING:1] leaked secrets (${one} prod)`);

      // A silence: the alert fires (it is in the history) and nothing is sent.
      const muted = app('muted-app');
      const silence = await api('POST', '/v1/alerts/silences', { matchers: [{ label: 'application', op: '=', value: muted }], duration: '1h', comment: 'maintenance' });
      expect(silence.status).toBe(201);
      await new Promise((r) => setTimeout(r, 2_500)); // a change applies within 2 s (the configuration cache)
      await traces(Array.from({ length: 20 }, (_, i) => leak(`muted-${i}`, muted)));
      await eventually(async () => ((await occurrences(muted)) >= 20 ? true : undefined), 90_000, 'the silenced alert in the history');
      await new Promise((r) => setTimeout(r, 4_000)); // group_wait and a group interval passed: a notification would be out
      expect(forApp(muted)).toHaveLength(0);
      expect(mailsFor(muted)).toHaveLength(0);
      progress('silence held');

      // The storm, with kill -9 of the alerts worker after its first page, and a restart.
      const storm = app('storm-app');
      const all = Array.from({ length: STORM }, (_, i) => leak(`storm-${i}`, storm));
      await traces(all.slice(0, STORM / 2));
      await eventually(async () => forApp(storm).length >= 1 || undefined, 90_000, 'the storm page');
      progress('storm page; kill -9 of the alerts worker');
      expect(await deployment.worker('alerts').kill('SIGKILL')).toBe(null);
      await deployment.startWorker('alerts');
      progress('alerts worker restarted');
      await traces(all.slice(STORM / 2));
      await eventually(async () => ((await occurrences(storm)) >= STORM ? true : undefined), 180_000, `all ${STORM} storm verdicts alerted`);
      progress(`all ${STORM} alerted`);

      const stormKeys = new Set(forApp(storm).map((e) => e.dedup_key!));
      expect(stormKeys.size).toBe(1);
      const key = [...stormKeys][0]!;
      await eventually(async () => pd.resolves().some((e) => e.dedup_key === key) || undefined, 150_000, 'the resolve after recovery');
      progress('resolved');
      await eventually(async () => mailsFor(storm).some((m) => m.subject?.startsWith('[RESOLVED]')) || undefined, 60_000, 'the resolved mail');
      await new Promise((r) => setTimeout(r, 4_000)); // a repeated resolve would be out by now

      const events = pd.events.filter((e) => e.dedup_key === key);
      expect(pd.alerts.get(key)).toMatchObject({ opened: 1, open: false }); // one incident: no page lost, none twice
      expect(events.filter((e) => e.event_action === 'trigger').length).toBeLessThanOrEqual(4); // a handful, not hundreds
      expect(events.filter((e) => e.event_action === 'resolve')).toHaveLength(1);
      const stormMails = mailsFor(storm);
      expect(stormMails.filter((m) => m.subject?.startsWith('[RESOLVED]'))).toHaveLength(1);
      expect(new Set(stormMails.map((m) => m.messageId)).size).toBeLessThanOrEqual(5);
      // the silenced application stayed quiet through it all
      expect(forApp(muted)).toHaveLength(0);
      expect(mailsFor(muted)).toHaveLength(0);

      // Were we paged, and when: the history has the delivered trigger and resolve of the storm.
      const history = (await (await api('GET', '/v1/alerts/deliveries?channel=pd&limit=100')).json()) as { deliveries: { dedup_key: string; kind: string; status: string }[] };
      const stormDeliveries = history.deliveries.filter((d) => d.dedup_key === key);
      expect(stormDeliveries.some((d) => d.kind === 'trigger' && d.status === 'delivered')).toBe(true);
      expect(stormDeliveries.filter((d) => d.kind === 'resolve' && d.status === 'delivered')).toHaveLength(1);
    });
  });
}
