/**
 * What the notifier holds back, with the real notifier, store (PGlite), adapters and local far ends.
 *
 * PagerDuty pacing (about 120 events a minute per routing key), with the real notifier, store
 * (PGlite), adapter and a local Events API v2 server, on an injected clock: the dispatcher runs a pass
 * every 5 s of clock time and the test counts, at the far end, the requests of each routing key per
 * window. Nothing is asserted about real time; what is asserted is that no 60 s window holds more than
 * the limit, that the limit was reached (the pace did something), that a second routing key is not
 * held behind the first, and that every event arrives exactly once (paced ones later, a 429 retried).
 *
 * Egress: a webhook whose name resolves to loopback when the notifier connects (DNS rebinding; the
 * name exists only in the policy's resolver) is refused, and the refusal is the delivery's recorded
 * outcome (failed, not retried), with nothing sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEgressPolicy, createPgliteStore, createSecretBox, generateSecretsKey, parseSecretsKey, type RelationalStore, type Resolver } from '@metronis/stores';
import { pino } from 'pino';
import { channelInputSchema, createAlertConfigCache, createChannelAdapters, createPacer, dispatchOnce, generateSigningSecret, sealChannel, testChannel, type NotifierDeps } from '../src/index.js';
import { PagerDutyServer, WebhookReceiver } from './far-ends.js';

const ORG = 'org_pacing';
const KEY_A = 'A0123456789abcdef0123456789ABCDE';
const KEY_B = 'B0123456789abcdef0123456789ABCDE';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const STEP_MS = 5_000;

let store: RelationalStore;
let pd: PagerDutyServer;

beforeAll(async () => {
  store = createPgliteStore();
  await store.migrate();
  pd = await new PagerDutyServer().start();
}, 60_000);
afterAll(async () => {
  await pd.close();
  await store.close();
});

describe('PagerDuty pacing', () => {
  it('keeps 120 events a minute per routing key, queueing the rest for later: none lost, none twice', async () => {
    let now = T0;
    const clock = { now: () => now };
    const box = createSecretBox(parseSecretsKey(generateSecretsKey()));
    for (const [id, key] of [['pd-a', KEY_A], ['pd-b', KEY_B]] as const) {
      const sealed = sealChannel(box, ORG, id, channelInputSchema.parse({ id, name: id, type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: key } }));
      await store.alerts.forOrg(ORG).createChannel(sealed.channel, { keyId: 'test' });
    }
    const queue = async (channel: string, count: number) => {
      for (let i = 0; i < count; i++) {
        const dedup = `mtr-${channel}-${i}`;
        const payload = { status: 'firing', group_key: dedup, group_labels: { alertname: 'paced', application: channel }, dedup_key: dedup, counts: { firing: 1, resolved: 0 }, alerts: [] };
        await store.alerts.queueDelivery(ORG, { notification_id: `${dedup}.1`, channel_id: channel, channel_type: 'pagerduty', kind: 'trigger', dedup_key: dedup, payload }, new Date(now));
      }
    };
    await queue('pd-a', 300);
    await queue('pd-b', 10);

    const deps: NotifierDeps = {
      store: store.alerts,
      config: createAlertConfigCache({ store: store.alerts, clock }),
      secrets: box,
      adapters: createChannelAdapters({ timeoutMs: 30_000, egress: createEgressPolicy({ allow: ['127.0.0.1'] }), retryDelaysMs: { pagerduty: [1_000, 2_000] } }), // (a generous timeout: a request that timed out would be sent again)
      logger: pino({ level: 'silent' }),
      clock,
      pacer: createPacer({ clock }),
    };
    pd.script.push({ status: 429, body: '{"status":"throttled","message":"Requests for this service are arriving too quickly"}' });

    // requests at the far end per pass (clock time) and routing key
    const passes: { at: number; a: number; b: number }[] = [];
    let seen = 0;
    for (let pass = 0; pass < 120 && new Set(pd.events.map((e) => e.dedup_key)).size < 310; pass++) {
      await dispatchOnce(deps, { deliveries: 50 });
      const fresh = pd.bodies.slice(seen).map((b) => (JSON.parse(b) as { routing_key: string }).routing_key);
      seen = pd.bodies.length;
      passes.push({ at: now, a: fresh.filter((k) => k === KEY_A).length, b: fresh.filter((k) => k === KEY_B).length });
      now += STEP_MS;
    }

    // Every event exactly once (the 429 was retried, the paced ones sent later).
    const keys = pd.triggers().map((e) => e.dedup_key!);
    expect(keys).toHaveLength(310);
    expect(new Set(keys).size).toBe(310);
    expect(pd.requests).toBe(311); // the 310 events and the one answered 429

    // No 60 s window holds more than 120 requests of one routing key, and the limit was reached.
    let busiest = 0;
    for (const p of passes) {
      const window = passes.filter((q) => q.at > p.at - 60_000 && q.at <= p.at);
      const inWindow = window.reduce((n, q) => n + q.a, 0);
      expect(inWindow, `requests for routing key A in the 60 s up to +${(p.at - T0) / 1000} s`).toBeLessThanOrEqual(120);
      expect(window.reduce((n, q) => n + q.b, 0)).toBeLessThanOrEqual(120);
      busiest = Math.max(busiest, inWindow);
    }
    expect(busiest).toBe(120);
    const perMinute = [0, 1, 2, 3].map((m) => passes.filter((p) => p.at >= T0 + m * 60_000 && p.at < T0 + (m + 1) * 60_000).reduce((n, p) => n + p.a, 0));
    expect(perMinute[0]).toBe(120);
    expect(perMinute[1]).toBe(120);
    expect(perMinute.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(300);
    // The other routing key is not held behind the first one's pace.
    expect(passes.filter((p) => p.at < T0 + 60_000).reduce((n, p) => n + p.b, 0)).toBeGreaterThanOrEqual(10);

    // Paced deliveries were not attempts: every delivery delivered, with one attempt (two for the 429).
    const deliveries = await store.alerts.forOrg(ORG).listDeliveries({ limit: 500 });
    expect(deliveries).toHaveLength(310);
    expect(deliveries.every((d) => d.status === 'delivered')).toBe(true);
    expect(deliveries.map((d) => d.attempts).sort((x, y) => y - x).slice(0, 2)).toEqual([2, 1]);
    const retried = deliveries.find((d) => d.attempts === 2)!;
    expect(retried.attempt_log.map((a) => [a.outcome, a.status_code])).toEqual([['retry', 429], ['delivered', 202]]);
  }, 120_000);

  it('a channel test over the pace fails at once, naming the pace, without a request to the far end', async () => {
    const clock = { now: () => T0 };
    const adapters = createChannelAdapters({ timeoutMs: 5_000 });
    const pacer = createPacer({ clock });
    const key = adapters.pagerduty.pacing!.key({}, { routing_key: KEY_A })!;
    expect(key).not.toContain(KEY_A); // the routing key (a secret) is not kept in the pacer
    for (let i = 0; i < 120; i++) expect(pacer.take(key, 120, 60_000)).toEqual({ ok: true });
    const before = pd.requests;
    const box = createSecretBox(parseSecretsKey(generateSecretsKey()));
    const sealed = sealChannel(box, ORG, 'pd-t', channelInputSchema.parse({ id: 'pd-t', name: 'pd-t', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: KEY_A } }));
    await store.alerts.forOrg(ORG).createChannel(sealed.channel, { keyId: 'test' });
    const result = await testChannel({ store: store.alerts, secrets: box, adapters, logger: pino({ level: 'silent' }), clock, pacer }, ORG, (await store.alerts.channel(ORG, 'pd-t'))!);
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatch(/pace \(120 events in 60 s\) is used up until 2026-01-01T12:01:00.000Z/);
    expect(pd.requests).toBe(before);
    expect(pacer.take('another routing key', 120, 60_000)).toEqual({ ok: true });
  });
});

describe('egress control in the notifier', () => {
  it('refuses a destination that resolves inside the network when connecting, and records why (failed, not retried)', async () => {
    const signing = generateSigningSecret();
    const hook = await new WebhookReceiver(signing).start();
    try {
      const resolver: Resolver = (host, _options, callback) =>
        host === 'hooks.rebind.test' ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
      const box = createSecretBox(parseSecretsKey(generateSecretsKey()));
      const org = 'org_egress';
      // saved as a name that looks fine (what the API checks on save); it resolves to loopback only when used
      const sealed = sealChannel(box, org, 'hook', channelInputSchema.parse({ id: 'hook', name: 'hook', type: 'webhook', secrets: { url: `http://hooks.rebind.test:${new URL(hook.url).port}/in`, signing_secret: signing } }));
      await store.alerts.forOrg(org).createChannel(sealed.channel, { keyId: 'test' });
      const payload = { status: 'firing', group_key: 'g', group_labels: { alertname: 'x' }, dedup_key: 'mtr-egress', counts: { firing: 1, resolved: 0 }, alerts: [] };
      await store.alerts.queueDelivery(org, { notification_id: 'egress.1', channel_id: 'hook', channel_type: 'webhook', kind: 'trigger', dedup_key: 'mtr-egress', payload }, new Date());
      const deps: NotifierDeps = {
        store: store.alerts,
        config: createAlertConfigCache({ store: store.alerts }),
        secrets: box,
        adapters: createChannelAdapters({ timeoutMs: 5_000, egress: createEgressPolicy({ resolver }), retryDelaysMs: { webhook: [100, 200] } }),
        logger: pino({ level: 'silent' }),
      };
      await dispatchOnce(deps);
      await dispatchOnce(deps);
      const [delivery] = await store.alerts.forOrg(org).listDeliveries({ limit: 10 });
      expect(delivery).toMatchObject({ status: 'failed', attempts: 1 });
      expect(delivery!.attempt_log).toHaveLength(1);
      expect(delivery!.attempt_log[0]).toMatchObject({ outcome: 'failed', status_code: null });
      expect(delivery!.attempt_log[0]!.error).toMatch(/EGRESS_REFUSED: egress refused: the address 127\.0\.0\.1 \(of hooks\.rebind\.test\) is loopback.*METRONIS_EGRESS_ALLOW/);
      expect(hook.requests).toBe(0);
    } finally {
      await hook.close();
    }
  });
});
