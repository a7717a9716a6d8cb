/**
 * The alerts API on real parts (PGlite, real keys, the real adapters against local far ends): CRUD
 * of rules, channels, silences and routing with their scopes, validation and audit; secrets sealed,
 * never returned and never logged; the channel test answering what the far end said; organization
 * isolation; the history of alerts and deliveries.
 */
import { createApiKeyAuthenticator, hashApiKey } from '@metronis/ingest-gateway';
import { createEgressPolicy, createPgliteStore, createSecretBox, generateSecretsKey, parseSecretsKey, type RelationalStore } from '@metronis/stores';
import { createChannelAdapters, createPacer, signWebhook } from '@metronis/topology-alerts';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagerDutyServer, SlackServer, WebhookReceiver } from '../../../topologies/alerts/test/far-ends.js';
import { createConsoleApp } from '../src/index.js';

const ORG_A = 'org_alerts_a';
const ORG_B = 'org_alerts_b';
const KEYS = { aAdmin: 'mk_alerts_a_admin_0123456789', aRead: 'mk_alerts_a_read_0123456789', bAdmin: 'mk_alerts_b_admin_0123456789' } as const;
const ROUTING_KEY = 'Zr0123456789abcdef0123456789ABCD';
const SLACK_TOKEN = 'XSECRETSLACKTOKEN1234567';

let store: RelationalStore;
let app: ReturnType<typeof createConsoleApp>;
let pd: PagerDutyServer;
let slack: SlackServer;
let hook: WebhookReceiver;
const logLines: string[] = [];
// A real pino logger, as the apps pass: its methods need it as `this` (a copy of them threw, and a channel test answered 500).
const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
const changed: string[] = [];
const adapters = createChannelAdapters({ timeoutMs: 1_000, egress: createEgressPolicy({ allow: ['127.0.0.1'] }) });
const pacer = createPacer();

beforeAll(async () => {
  store = createPgliteStore();
  await store.migrate();
  for (const [org, key, scopes] of [
    [ORG_A, KEYS.aAdmin, ['admin']],
    [ORG_A, KEYS.aRead, ['read']],
    [ORG_B, KEYS.bAdmin, ['admin', 'read']],
  ] as const) {
    await store.ensureOrganization(org, org);
    await store.putApiKey({ id: `key_${key}`, org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes: [...scopes] });
  }
  [pd, slack, hook] = await Promise.all([new PagerDutyServer().start(), new SlackServer().start(), new WebhookReceiver('whsec_placeholderplaceholderplaceholder0=').start()]);
  app = createConsoleApp({
    store,
    authenticate: createApiKeyAuthenticator({ store, cacheTtlMs: 0 }),
    ready: async () => ({}),
    logger,
    alerts: { secrets: createSecretBox(parseSecretsKey(generateSecretsKey())), adapters, pacer, onChanged: (org) => void changed.push(org) },
  });
}, 60_000);

afterAll(async () => {
  await store?.close();
  await Promise.all([pd?.close(), slack?.close(), hook?.close()]);
});

function call(method: string, path: string, key: string, body?: unknown) {
  return Promise.resolve(
    app.request(path, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
  );
}
const json = async (r: Response) => (await r.json()) as any;

describe('alerts API', () => {
  it('answers what happened when a channel test cannot reach its far end (200, not delivered), and logs it', async () => {
    const created = await call('POST', '/v1/alerts/channels', KEYS.aAdmin, { id: 'down', name: 'nobody home', type: 'webhook', secrets: { url: 'http://127.0.0.1:9/hook' } });
    expect(created.status).toBe(201);
    const tested = await call('POST', '/v1/alerts/channels/down/test', KEYS.aAdmin);
    expect(tested.status).toBe(200);
    expect(await json(tested)).toMatchObject({ channel_id: 'down', delivered: false });
    expect(logLines.some((line) => line.includes('alert notification not delivered'))).toBe(true);
    expect((await call('DELETE', '/v1/alerts/channels/down', KEYS.aAdmin)).status).toBeLessThan(300);
  });

  it('creates a PagerDuty channel whose routing key is never returned nor logged, and tests it against the far end', async () => {
    const created = await call('POST', '/v1/alerts/channels', KEYS.aAdmin, { id: 'pd', name: 'on-call', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: ROUTING_KEY } });
    expect(created.status).toBe(201);
    const view = await json(created);
    expect(view).toMatchObject({ id: 'pd', type: 'pagerduty', secrets_set: ['routing_key'], enabled: true, settings: { url: pd.endpoint } });
    expect(changed).toContain(ORG_A);
    const tested = await call('POST', '/v1/alerts/channels/pd/test', KEYS.aAdmin);
    expect(tested.status).toBe(200);
    expect(await json(tested)).toMatchObject({ delivered: true, outcome: 'delivered', status_code: 202 });
    expect(pd.triggers().at(-1)).toMatchObject({ routing_key: ROUTING_KEY, event_action: 'trigger' });
    const everything = [
      JSON.stringify(view),
      await (await call('GET', '/v1/alerts/channels', KEYS.aRead)).text(),
      await (await call('GET', '/v1/alerts/channels/pd', KEYS.aAdmin)).text(),
      await (await call('GET', '/v1/alerts/deliveries', KEYS.aRead)).text(),
      await (await call('GET', '/v1/audit', KEYS.aAdmin)).text(),
      logLines.join('\n'),
      JSON.stringify((await store.alerts.forOrg(ORG_A).getChannel('pd'))?.secret),
    ].join('\n');
    expect(everything).not.toContain(ROUTING_KEY);
  });

  it('refuses a destination inside the network on create and update (400 naming the field), and stores nothing', async () => {
    const metadata = await call('POST', '/v1/alerts/channels', KEYS.aAdmin, { id: 'meta', name: 'metadata', type: 'webhook', secrets: { url: 'http://169.254.169.254/latest/meta-data/' } });
    expect(metadata.status).toBe(400);
    const body = await json(metadata);
    expect(body.error).toMatchObject({ code: 'destination_refused' });
    expect(body.error.issues).toEqual([{ path: '$.secrets.url', message: expect.stringMatching(/169\.254\.169\.254 is link-local \(cloud metadata\).*METRONIS_EGRESS_ALLOW/) }]);
    expect((await call('GET', '/v1/alerts/channels/meta', KEYS.aAdmin)).status).toBe(404);
    const mail = await call('POST', '/v1/alerts/channels', KEYS.aAdmin, { id: 'mail-local', name: 'mail', type: 'email', settings: { host: 'localhost', from: 'a@example.com', to: ['b@example.com'] } });
    expect(mail.status).toBe(400);
    expect((await json(mail)).error.issues[0].path).toBe('$.settings.host');
    // an allowed destination (the operator allowed 127.0.0.1 for these tests) is created, then moved inside the network
    expect((await call('POST', '/v1/alerts/channels', KEYS.aAdmin, { id: 'pd-moved', name: 'pd', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: ROUTING_KEY } })).status).toBe(201);
    const moved = await call('PUT', '/v1/alerts/channels/pd-moved', KEYS.aAdmin, { name: 'pd', type: 'pagerduty', settings: { url: 'http://10.0.0.8/v2/enqueue' } });
    expect(moved.status).toBe(400);
    expect((await json(moved)).error.issues).toEqual([{ path: '$.settings.url', message: expect.stringMatching(/10\.0\.0\.8 is private/) }]);
    expect((await json(await call('GET', '/v1/alerts/channels/pd-moved', KEYS.aAdmin))).settings.url).toBe(pd.endpoint);
    expect((await call('DELETE', '/v1/alerts/channels/pd-moved', KEYS.aAdmin)).status).toBe(200);
  });

  it('a channel test keeps the PagerDuty pace: over 120 events a minute for the routing key it is not sent, and says until when', async () => {
    const routingKey = 'P0123456789abcdef0123456789ABCDE';
    expect((await call('POST', '/v1/alerts/channels', KEYS.aAdmin, { id: 'pd-paced', name: 'paced', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: routingKey } })).status).toBe(201);
    const key = adapters.pagerduty.pacing!.key({}, { routing_key: routingKey })!;
    for (let i = 0; i < 120; i++) pacer.take(key, 120, 60_000);
    const before = pd.requests;
    const tested = await call('POST', '/v1/alerts/channels/pd-paced/test', KEYS.aAdmin);
    expect(tested.status).toBe(200);
    const body = await json(tested);
    expect(body).toMatchObject({ delivered: false, outcome: 'failed', status_code: null });
    expect(body.error).toMatch(/pace \(120 events in 60 s\) is used up until .*; try the test again then/);
    expect(pd.requests).toBe(before);
    expect((await call('DELETE', '/v1/alerts/channels/pd-paced', KEYS.aAdmin)).status).toBe(200);
  });

  it('a Slack webhook URL is a secret too; a test to a Slack that answers 404 says so', async () => {
    const url = `${slack.url}/services/T1/B1/${SLACK_TOKEN}`;
    expect((await call('POST', '/v1/alerts/channels', KEYS.aAdmin, { id: 'slack', name: 'room', type: 'slack', secrets: { webhook_url: url } })).status).toBe(201);
    slack.script.push({ status: 404, body: 'no_service' });
    const tested = await json(await call('POST', '/v1/alerts/channels/slack/test', KEYS.aAdmin));
    expect(tested).toMatchObject({ delivered: false, outcome: 'failed', status_code: 404, response: 'no_service' });
    const shown = [await (await call('GET', '/v1/alerts/channels', KEYS.aAdmin)).text(), await (await call('GET', '/v1/alerts/deliveries?channel=slack', KEYS.aAdmin)).text(), logLines.join('\n')].join('\n');
    expect(shown).not.toContain(SLACK_TOKEN);
  });

  it('a webhook channel gets a generated signing secret shown once, which the receiver verifies', async () => {
    const created = await json(await call('POST', '/v1/alerts/channels', KEYS.aAdmin, { id: 'hook', name: 'hook', type: 'webhook', secrets: { url: hook.url } }));
    const secret = created.generated_secrets.signing_secret as string;
    expect(secret).toMatch(/^whsec_/);
    expect(signWebhook(secret, 'a', 1, 'b')).toMatch(/^v1,/);
    hook.setSecret(secret);
    expect(await json(await call('POST', '/v1/alerts/channels/hook/test', KEYS.aAdmin))).toMatchObject({ delivered: true, status_code: 204 });
    expect(hook.received.at(-1)?.body).toMatchObject({ type: 'alert.test' });
    const again = await (await call('GET', '/v1/alerts/channels/hook', KEYS.aAdmin)).text();
    expect(again).not.toContain(secret);
    // Replacing the channel without secrets keeps them.
    const replaced = await call('PUT', '/v1/alerts/channels/hook', KEYS.aAdmin, { name: 'hook renamed', type: 'webhook' });
    expect(replaced.status).toBe(200);
    expect(await json(await call('POST', '/v1/alerts/channels/hook/test', KEYS.aAdmin))).toMatchObject({ delivered: true });
  });

  it('validates rules with paths, refuses unknown channels, versions and audits them; read keys cannot change them', async () => {
    const bad = await call('POST', '/v1/alerts/rules', KEYS.aAdmin, { name: 'x', kind: 'aggregate', measure: 'failure_rate', threshold: 2, severity: 'loud' });
    expect(bad.status).toBe(400);
    const paths = (await json(bad)).error.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['$.severity']));
    const unknown = await call('POST', '/v1/alerts/rules', KEYS.aAdmin, { name: 'x', kind: 'per_event', channels: ['nope'] });
    expect(unknown.status).toBe(400);
    expect((await json(unknown)).error.issues).toEqual([{ path: '$.channels[0]', message: "no channel with id 'nope'" }]);
    const rule = { id: 'leaks', name: 'leaked secrets', kind: 'per_event', when: { min_severity: 'high' }, channels: ['pd'] };
    expect((await call('POST', '/v1/alerts/rules', KEYS.aRead, rule)).status).toBe(403);
    const created = await call('POST', '/v1/alerts/rules', KEYS.aAdmin, rule);
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({ id: 'leaks', version: 1, rule: { resolve_after: '5m', send_resolved: true } });
    expect((await call('POST', '/v1/alerts/rules', KEYS.aAdmin, rule)).status).toBe(409);
    const updated = await call('PUT', '/v1/alerts/rules/leaks', KEYS.aAdmin, { ...rule, when: { min_severity: 'critical' } });
    expect(await json(updated)).toMatchObject({ version: 2, rule: { when: { min_severity: 'critical' } } });
    expect((await json(await call('GET', '/v1/alerts/rules', KEYS.aRead))).rules).toHaveLength(1);
    const audit = (await json(await call('GET', '/v1/audit', KEYS.aAdmin))).entries.map((e: { action: string }) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['alert_rule.created', 'alert_rule.changed', 'alert_channel.created']));
    expect((await call('DELETE', '/v1/alerts/rules/leaks', KEYS.aAdmin)).status).toBe(200);
    expect((await call('GET', '/v1/alerts/rules/leaks', KEYS.aAdmin)).status).toBe(404);
  });

  it("another organization's rules, channels and silences answer 404 and are not listed", async () => {
    expect((await call('GET', '/v1/alerts/channels/pd', KEYS.bAdmin)).status).toBe(404);
    expect((await call('POST', '/v1/alerts/channels/pd/test', KEYS.bAdmin)).status).toBe(404);
    expect((await json(await call('GET', '/v1/alerts/channels', KEYS.bAdmin))).channels).toEqual([]);
    expect((await call('DELETE', '/v1/alerts/channels/pd', KEYS.bAdmin)).status).toBe(404);
  });

  it('silences: validated, listed while active, expired by DELETE and then listed only with include_expired', async () => {
    expect((await call('POST', '/v1/alerts/silences', KEYS.aAdmin, { matchers: [], duration: '1h' })).status).toBe(400);
    expect((await call('POST', '/v1/alerts/silences', KEYS.aAdmin, { matchers: [{ label: 'application', op: '=~', value: '(' }], duration: '1h' })).status).toBe(400);
    expect((await call('POST', '/v1/alerts/silences', KEYS.aAdmin, { matchers: [{ label: 'application', value: 'bot' }] })).status).toBe(400);
    const created = await call('POST', '/v1/alerts/silences', KEYS.aAdmin, { matchers: [{ label: 'application', value: 'support-bot' }], duration: '2h', comment: 'deploy' });
    expect(created.status).toBe(201);
    const silence = await json(created);
    expect(silence).toMatchObject({ state: 'active', comment: 'deploy' });
    expect((await json(await call('GET', '/v1/alerts/silences', KEYS.aRead))).silences).toHaveLength(1);
    expect(await json(await call('DELETE', `/v1/alerts/silences/${silence.id}`, KEYS.aAdmin))).toMatchObject({ state: 'expired' });
    expect((await json(await call('GET', '/v1/alerts/silences', KEYS.aRead))).silences).toHaveLength(0);
    expect((await json(await call('GET', '/v1/alerts/silences?include_expired=true', KEYS.aRead))).silences).toHaveLength(1);
  });

  it('routing: the default until saved; routes must name existing channels', async () => {
    expect(await json(await call('GET', '/v1/alerts/routing', KEYS.aRead))).toMatchObject({ version: 0, routing: { inhibit_rules: [{ equal: ['application', 'environment'] }] } });
    const bad = await call('PUT', '/v1/alerts/routing', KEYS.aAdmin, { routes: [{ matchers: [{ label: 'severity', value: 'critical' }], channels: ['missing'] }] });
    expect((await json(bad)).error.issues).toEqual([{ path: '$.routes[0].channels[0]', message: "no channel with id 'missing'" }]);
    const saved = await call('PUT', '/v1/alerts/routing', KEYS.aAdmin, { routes: [{ matchers: [{ label: 'severity', value: 'critical' }], channels: ['pd'] }, { channels: ['hook'] }] });
    expect(await json(saved)).toMatchObject({ version: 1 });
  });

  it('lists alerts and deliveries with filters, refusing bad ones', async () => {
    expect((await call('GET', '/v1/alerts?status=open', KEYS.aRead)).status).toBe(400);
    expect((await call('GET', '/v1/alerts?cursor=zzz', KEYS.aRead)).status).toBe(400);
    expect((await call('GET', '/v1/alerts?since=0000-01-01T00:00:00Z', KEYS.aRead)).status).toBe(400);
    expect((await call('GET', '/v1/alerts/deliveries?until=0000-01-01T00:00:00Z', KEYS.aRead)).status).toBe(400);
    expect(await json(await call('GET', '/v1/alerts?status=firing&limit=5', KEYS.aRead))).toEqual({ alerts: [], next_cursor: null });
    const deliveries = await json(await call('GET', '/v1/alerts/deliveries?status=delivered', KEYS.aRead));
    expect(deliveries.deliveries.length).toBeGreaterThanOrEqual(2);
    expect(deliveries.deliveries[0].attempts[0]).toMatchObject({ attempt: 1, outcome: 'delivered' });
    expect(deliveries.deliveries[0].alert_fingerprints).toEqual([]);
  });

  it("names the alerts each delivery carried, so the console can show an alert's deliveries", async () => {
    const now = new Date();
    const alert = (fingerprint: string) => ({ fingerprint, status: 'firing', severity: 'high', labels: {}, annotations: {}, starts_at: now.toISOString(), ends_at: null, occurrences: 1, trace_ids: [], value: null, threshold: null });
    const payload = { status: 'firing', group_key: 'g', group_labels: {}, dedup_key: 'd-carried', counts: { firing: 2, resolved: 0 }, alerts: [alert('fp-one'), alert('fp-two')] };
    const queued = await store.alerts.queueDelivery(ORG_A, { notification_id: 'n-carried', channel_id: 'hook', channel_type: 'webhook', kind: 'trigger', dedup_key: 'd-carried', payload }, now, new Date(now.getTime() + 60_000));
    const listed = await json(await call('GET', '/v1/alerts/deliveries?channel=hook', KEYS.aRead));
    const mine = listed.deliveries.find((d: { id: number }) => d.id === queued.id);
    expect(mine).toMatchObject({ alert_fingerprints: ['fp-one', 'fp-two'], status_summary: 'firing' });
    expect(mine.payload).toBeUndefined();
  });

  it('without a secrets key, channels cannot be created (503 naming METRONIS_SECRETS_KEY)', async () => {
    const bare = createConsoleApp({ store, authenticate: createApiKeyAuthenticator({ store, cacheTtlMs: 0 }), ready: async () => ({}) });
    const response = await bare.request('/v1/alerts/channels', { method: 'POST', headers: { authorization: `Bearer ${KEYS.aAdmin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', type: 'slack', secrets: { webhook_url: 'https://hooks.slack.com/services/a' } }) });
    expect(response.status).toBe(503);
    expect((await json(response)).error.message).toContain('METRONIS_SECRETS_KEY');
  });
});
