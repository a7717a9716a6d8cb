/**
 * The alerts topology end to end on embedded parts (engine.ts) with the far ends of far-ends.ts:
 * verdicts in, pages, mails, Slack messages and signed webhooks out, counted at the far ends.
 * Each test uses its own organization.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningSecret } from '../src/channels/webhook.js';
import { attempt } from '../src/index.js';
import { makeTierResult, makeVerdict, startEngine, type Engine } from './engine.js';
import { deadPort, PagerDutyServer, SlackServer, SmtpFarEnd, waitFor, WebhookReceiver } from './far-ends.js';

const ROUTING_KEY = 'R0123456789abcdef0123456789ABCDE';
let engine: Engine;
let pd: PagerDutyServer;
let smtp: SmtpFarEnd;
let slack: SlackServer;
const signing = generateSigningSecret();
let hook: WebhookReceiver;
let orgSeq = 0;
const newOrg = () => `org_alerts_${process.pid}_${++orgSeq}`;

beforeAll(async () => {
  [pd, smtp, slack, hook] = await Promise.all([new PagerDutyServer().start(), new SmtpFarEnd().start(), new SlackServer().start(), new WebhookReceiver(signing).start()]);
  engine = await startEngine();
}, 120_000);
afterAll(async () => {
  await engine?.close();
  await Promise.all([pd?.close(), smtp?.close(), slack?.close(), hook?.close()]);
});

async function pagerDutyAndEmail(org: string, rule: Record<string, unknown>): Promise<void> {
  await engine.addChannel(org, 'pd', { name: 'on-call', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: ROUTING_KEY } });
  await engine.addChannel(org, 'mail', { name: 'team mail', type: 'email', settings: { host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'alerts@example.com', to: [`${org}@example.com`] } });
  await engine.addRule(org, 'leaks', { name: 'leaked secrets', kind: 'per_event', when: { min_severity: 'high' }, channels: ['pd', 'mail'], group_wait: '0s', group_interval: '1s', ...rule });
}

const mailsTo = (org: string) => smtp.mails.filter((m) => JSON.stringify(m.to).includes(`${org}@example.com`));
const pdEventsOf = (dedupKeys: Set<string>) => pd.events.filter((e) => e.dedup_key !== undefined && dedupKeys.has(e.dedup_key));

async function dedupKeysOf(org: string): Promise<Set<string>> {
  const deliveries = await engine.store.alerts.forOrg(org).listDeliveries({ limit: 1000 });
  return new Set(deliveries.filter((d) => d.channel_type === 'pagerduty').map((d) => d.dedup_key));
}

describe('alerts on embedded parts', { timeout: 120_000 }, () => {
  it('a rule "severity >= high -> PagerDuty and email" pages once and mails once for a critical verdict; a low one does nothing', async () => {
    const org = newOrg();
    await pagerDutyAndEmail(org, {});
    await engine.produceVerdicts([makeVerdict({ org_id: org, severity: 'low', finding_kinds: [] })]);
    await engine.produceVerdicts([makeVerdict({ org_id: org, severity: 'critical' })]);
    await waitFor('one mail', () => mailsTo(org).length === 1);
    const keys = await waitFor('a PagerDuty delivery', async () => {
      const k = await dedupKeysOf(org);
      return k.size > 0 && pdEventsOf(k).length > 0 ? k : null;
    });
    await new Promise((r) => setTimeout(r, 1_500)); // two more group intervals: nothing new to say
    expect(pdEventsOf(keys).filter((e) => e.event_action === 'trigger')).toHaveLength(1);
    expect(mailsTo(org)).toHaveLength(1);
    expect(mailsTo(org)[0]!.subject).toBe('[FIRING:1] leaked secrets (support-bot prod)');
    const alerts = await engine.store.alerts.forOrg(org).listAlerts({ limit: 10 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ status: 'firing', severity: 'critical', occurrences: 1 });
    const deliveries = await engine.store.alerts.forOrg(org).listDeliveries({ limit: 10 });
    expect(deliveries.map((d) => d.status).sort()).toEqual(['delivered', 'delivered']);
    expect(deliveries[0]!.attempt_log[0]).toMatchObject({ attempt: 1, outcome: 'delivered' });
    expect(deliveries[0]!.attempt_log[0]!.latency_ms).toBeGreaterThan(0);
  });

  it('a storm of 5,000 critical verdicts in one application is a few grouped notifications and one incident; recovery sends one resolve', async () => {
    const org = newOrg();
    await pagerDutyAndEmail(org, { resolve_after: '15s', group_wait: '1s', group_interval: '2s' });
    const started = Date.now();
    const storm = Array.from({ length: 5_000 }, () => makeVerdict({ org_id: org }));
    for (let i = 0; i < storm.length; i += 1_000) await engine.produceVerdicts(storm.slice(i, i + 1_000));
    await waitFor('all 5,000 verdicts applied', async () => (await engine.store.alerts.forOrg(org).listAlerts({ limit: 5 }))[0]?.occurrences === 5_000, 120_000);
    console.log(`storm: 5,000 verdicts applied in ${Date.now() - started} ms`);
    const keys = await waitFor('the page', async () => {
      const k = await dedupKeysOf(org);
      return k.size > 0 && pdEventsOf(k).length > 0 ? k : null;
    });
    expect(keys.size).toBe(1);
    const key = [...keys][0]!;
    await waitFor('the resolve at PagerDuty', () => pdEventsOf(keys).some((e) => e.event_action === 'resolve'), 60_000);
    const events = pdEventsOf(keys);
    expect(events.filter((e) => e.event_action === 'trigger').length).toBeLessThanOrEqual(3);
    expect(events.filter((e) => e.event_action === 'resolve')).toHaveLength(1);
    expect(pd.alerts.get(key)).toMatchObject({ opened: 1, open: false });
    await waitFor('the resolved mail', () => mailsTo(org).some((m) => m.subject?.startsWith('[RESOLVED]')));
    expect(mailsTo(org).length).toBeLessThanOrEqual(4);
    expect(mailsTo(org).filter((m) => m.subject?.startsWith('[RESOLVED]'))).toHaveLength(1);
  });

  it('a silence stops notifications; an alert that starts under a silence is told once the silence ends', async () => {
    const org = newOrg();
    await engine.addChannel(org, 'slack', { name: 'alerts room', type: 'slack', secrets: { webhook_url: `${slack.webhookUrl}?org=${org}` } });
    await engine.addRule(org, 'severe', { name: 'severe', kind: 'per_event', when: { min_severity: 'high' }, channels: ['slack'], group_wait: '0s', group_interval: '1s' });
    const now = new Date();
    await engine.store.alerts
      .forOrg(org)
      .createSilence({ id: 'quiet', matchers: [{ label: 'application', op: '=', value: 'support-bot' }], starts_at: now, ends_at: new Date(now.getTime() + 2_500), comment: 'maintenance' }, { keyId: 'test' });
    const before = slack.messages.length;
    await engine.produceVerdicts([makeVerdict({ org_id: org })]);
    await waitFor('the alert', async () => (await engine.store.alerts.forOrg(org).listAlerts({ limit: 1 })).length === 1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(slack.messages.length).toBe(before);
    await waitFor('the message after the silence', () => slack.messages.length === before + 1, 10_000);
  });

  it('a critical alert inhibits a high one of the same application (the default inhibition)', async () => {
    const org = newOrg();
    await engine.addChannel(org, 'hook', { name: 'hook', type: 'webhook', secrets: { url: `${hook.url}/${org}`, signing_secret: signing } });
    await engine.addRule(org, 'all', { name: 'all failures', kind: 'per_event', channels: ['hook'], group_by: ['severity'], group_wait: '500ms', group_interval: '1s' });
    await engine.produceVerdicts([makeVerdict({ org_id: org, severity: 'critical' }), makeVerdict({ org_id: org, severity: 'high' })]);
    await waitFor('the critical notification', () => hook.received.some((r) => (r.body.data as { org_id: string }).org_id === org));
    await new Promise((r) => setTimeout(r, 1_500));
    const mine = hook.received.filter((r) => (r.body.data as { org_id: string }).org_id === org);
    expect(mine).toHaveLength(1);
    expect((mine[0]!.body.data as { group_labels: Record<string, string> }).group_labels).toEqual({ severity: 'critical' });
  });

  it('an aggregate failure rate fires over its minimum volume only, and resolves when an edit mid-window puts it back under', async () => {
    const org = newOrg();
    await engine.addChannel(org, 'hook', { name: 'hook', type: 'webhook', secrets: { url: `${hook.url}/${org}`, signing_secret: signing } });
    const rule = { name: 'failure rate', kind: 'aggregate', measure: 'failure_rate', threshold: 0.5, min_volume: 20, window: '1m', severity: 'high', channels: ['hook'], group_wait: '0s', group_interval: '1s' };
    await engine.addRule(org, 'rate', rule);
    const mine = () => hook.received.filter((r) => (r.body.data as { org_id: string }).org_id === org);
    await engine.produceVerdicts(Array.from({ length: 10 }, () => makeVerdict({ org_id: org })));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(mine()).toHaveLength(0); // 10 records: under the minimum volume
    await engine.produceVerdicts(Array.from({ length: 15 }, () => makeVerdict({ org_id: org })));
    await waitFor('the firing webhook', () => mine().length === 1);
    expect(mine()[0]!.body).toMatchObject({ type: 'alert.firing' });
    const firing = (await engine.store.alerts.forOrg(org).listAlerts({ limit: 1 }))[0]!;
    expect(firing).toMatchObject({ status: 'firing', value: 1, threshold: 0.5, volume: 25 });
    // Edited mid-window: the threshold applies to the window as it is, at the next tick.
    await engine.store.alerts.forOrg(org).updateRule('rate', { ...rule, threshold: 1, op: '>' }, { keyId: 'test' });
    engine.config.invalidate(org);
    await waitFor('the resolved webhook', () => mine().some((r) => r.body.type === 'alert.resolved'), 10_000);
    expect((await engine.store.alerts.forOrg(org).listAlerts({ limit: 1 }))[0]).toMatchObject({ status: 'resolved' });
  });

  it('a delivery to a channel deleted while it is being retried is abandoned, and its attempts are in the history', async () => {
    const org = newOrg();
    await engine.addChannel(org, 'down', { name: 'down', type: 'webhook', secrets: { url: `http://127.0.0.1:${await deadPort()}/x` } });
    await engine.addRule(org, 'r', { name: 'r', kind: 'per_event', channels: ['down'], group_wait: '0s', group_interval: '1s' });
    await engine.produceVerdicts([makeVerdict({ org_id: org })]);
    const retrying = await waitFor('a retried delivery', async () => (await engine.store.alerts.forOrg(org).listDeliveries({ limit: 1 })).find((d) => d.status === 'retrying'));
    expect(retrying.attempt_log[0]).toMatchObject({ attempt: 1, outcome: 'retry' });
    expect(retrying.attempt_log[0]!.error).toMatch(/ECONNREFUSED/);
    expect(await engine.store.alerts.forOrg(org).deleteChannel('down', { keyId: 'test' })).toBe(true);
    const [after] = await engine.store.alerts.forOrg(org).listDeliveries({ limit: 1 });
    expect(after).toMatchObject({ status: 'abandoned', last_error: 'the channel was deleted' });
    await new Promise((r) => setTimeout(r, 800));
    expect((await engine.store.alerts.forOrg(org).listDeliveries({ limit: 1 }))[0]!.status).toBe('abandoned');
  });

  it('a webhook answering 410 disables its channel; PagerDuty 400 fails at once; 500 is retried until delivered', async () => {
    const org = newOrg();
    const gone = await new WebhookReceiver(signing).start();
    gone.script.push({ status: 410 });
    await engine.addChannel(org, 'gone', { name: 'gone', type: 'webhook', secrets: { url: gone.url, signing_secret: signing } });
    await engine.addChannel(org, 'pd', { name: 'pd', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: ROUTING_KEY } });
    await engine.addRule(org, 'r', { name: 'r', kind: 'per_event', channels: ['gone', 'pd'], group_wait: '0s', group_interval: '1s' });
    pd.script.push({ status: 500 });
    await engine.produceVerdicts([makeVerdict({ org_id: org })]);
    await waitFor('the channel disabled', async () => (await engine.store.alerts.forOrg(org).getChannel('gone'))?.disabled_at);
    const pdDelivery = await waitFor('PagerDuty delivered after a 500', async () => (await engine.store.alerts.forOrg(org).listDeliveries({ channel_id: 'pd', limit: 1 })).find((d) => d.status === 'delivered'));
    expect(pdDelivery.attempt_log.map((a) => [a.outcome, a.status_code])).toEqual([
      ['retry', 500],
      ['delivered', 202],
    ]);
    await gone.close();
  });

  it('a worker dying between sending and recording: the lease expires, the same notification is sent again, and the far end still has one page', async () => {
    const org = newOrg();
    const receiver = await new WebhookReceiver(signing).start();
    await engine.addChannel(org, 'pd', { name: 'pd', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: ROUTING_KEY } });
    await engine.addChannel(org, 'hook', { name: 'hook', type: 'webhook', secrets: { url: receiver.url, signing_secret: signing } });
    const deps = { store: engine.store.alerts, secrets: engine.box, adapters: engine.runtime.adapters, logger: engine.runtime.logger };
    const payload = { status: 'firing', group_key: 'g', group_labels: { alertname: 'crash' }, dedup_key: `mtr-crash-${org}`, counts: { firing: 1, resolved: 0 }, alerts: [] };
    for (const channel of ['pd', 'hook']) {
      const now = Date.now();
      // Claimed with a short lease, sent, and never recorded: the worker "died" right after the send.
      const delivery = await engine.store.alerts.queueDelivery(org, { notification_id: `crash.${org}.${channel}`, channel_id: channel, channel_type: channel === 'pd' ? 'pagerduty' : 'webhook', kind: 'trigger', dedup_key: `mtr-crash-${org}`, payload }, new Date(now), new Date(now + 300));
      expect((await attempt(deps, delivery)).outcome).toBe('delivered');
    }
    // The running dispatcher claims both again once the lease expired, sends and records them.
    const done = await waitFor('both re-sent and recorded', async () => {
      const list = await engine.store.alerts.forOrg(org).listDeliveries({ limit: 10 });
      return list.length === 2 && list.every((d) => d.status === 'delivered') ? list : null;
    });
    expect(done.map((d) => d.attempts).sort()).toEqual([2, 2]);
    expect(pd.events.filter((e) => e.dedup_key === `mtr-crash-${org}` && e.event_action === 'trigger')).toHaveLength(2);
    expect(pd.alerts.get(`mtr-crash-${org}`)).toMatchObject({ opened: 1, triggers: 2 }); // one page
    expect(receiver.requests).toBe(2);
    expect(receiver.received).toHaveLength(1); // the receiver drops the repeated webhook-id
    await receiver.close();
  });

  it('an incident that resolved and fires again is paged again (a new incarnation of the same group)', async () => {
    const org = newOrg();
    await engine.addChannel(org, 'pd', { name: 'pd', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: ROUTING_KEY } });
    await engine.addRule(org, 'r', { name: 'again', kind: 'per_event', channels: ['pd'], group_wait: '0s', group_interval: '1s', resolve_after: '1s' });
    const keyOf = async () => [...(await dedupKeysOf(org))][0];
    await engine.produceVerdicts([makeVerdict({ org_id: org })]);
    const key = await waitFor('the first page', async () => {
      const k = await keyOf();
      return k !== undefined && pd.alerts.get(k)?.opened === 1 ? k : null;
    });
    await waitFor('the resolve', () => pd.alerts.get(key)?.open === false);
    await engine.produceVerdicts([makeVerdict({ org_id: org })]);
    await waitFor('the second page', () => pd.alerts.get(key)?.opened === 2 && pd.alerts.get(key)?.open === true);
  });

  it("an aggregate over tier results: a module's mean score under its threshold, by application, fires for that application only", async () => {
    const org = newOrg();
    await engine.addChannel(org, 'hook', { name: 'hook', type: 'webhook', secrets: { url: `${hook.url}/${org}`, signing_secret: signing } });
    await engine.addRule(org, 'quality', { name: 'quality drop', kind: 'aggregate', source: 'evaluation', measure: 'mean_score', module: 'quality', op: '<', threshold: 0.6, min_volume: 5, window: '1m', by: ['application'], severity: 'medium', channels: ['hook'], group_wait: '0s', group_interval: '1s' });
    await engine.produceEvaluations([...Array.from({ length: 6 }, () => makeTierResult(org, 0.3)), ...Array.from({ length: 6 }, () => makeTierResult(org, 0.9, { application: 'healthy-app' }))]);
    const mine = () => hook.received.filter((r) => (r.body.data as { org_id: string }).org_id === org);
    await waitFor('the firing webhook', () => mine().length === 1);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(mine()).toHaveLength(1);
    const alerts = await engine.store.alerts.forOrg(org).listAlerts({ limit: 5 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ status: 'firing', labels: { application: 'support-bot', severity: 'medium' }, volume: 6, threshold: 0.6 });
    expect(alerts[0]!.value).toBeCloseTo(0.3);
  });

  it('a record whose organization id cannot exist goes to the DLQ; the others of its batch are alerted', async () => {
    const org = newOrg();
    await engine.addChannel(org, 'hook', { name: 'hook', type: 'webhook', secrets: { url: `${hook.url}/${org}`, signing_secret: signing } });
    await engine.addRule(org, 'r', { name: 'r', kind: 'per_event', channels: ['hook'], group_wait: '0s', group_interval: '1s' });
    const before = engine.runners[0]!.stats().dlq;
    await engine.produceVerdicts([makeVerdict({ org_id: '' }), makeVerdict({ org_id: 'bad\u0000org' }), makeVerdict({ org_id: org })]);
    await waitFor('the good one notified', () => hook.received.some((r) => (r.body.data as { org_id: string }).org_id === org));
    await waitFor('the bad ones in the DLQ', () => engine.runners[0]!.stats().dlq - before === 2);
  });
});
