/**
 * Each adapter's real client against a local server speaking its far end's protocol: what is sent,
 * and how every answer is classified (delivered, retried — with the far end's own delay —, or failed
 * for good), including far ends that are down, slow, refusing TLS, rate limiting or erroring.
 */
import { createEgressPolicy, type Resolver } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelAdapters, type Notification } from '../src/index.js';
import { generateSigningSecret } from '../src/channels/webhook.js';
import { deadPort, PagerDutyServer, SlackServer, SmtpFarEnd, WebhookReceiver } from './far-ends.js';

// The far ends are on loopback, which the egress policy refuses unless the operator allows it.
const adapters = createChannelAdapters({ timeoutMs: 1_000, egress: createEgressPolicy({ allow: ['127.0.0.1'] }) });
const ROUTING_KEY = 'R0123456789abcdef0123456789ABCDE';

function notification(overrides: Partial<Notification> = {}): Notification {
  return {
    kind: 'trigger',
    notification_id: 'g1.pd.1',
    dedup_key: 'mtr-abc',
    org_id: 'org_a',
    channel: { id: 'pd', name: 'on-call' },
    attempt: 1,
    payload: {
      status: 'firing',
      group_key: 'g1',
      group_labels: { alertname: 'leaked keys', application: 'support-bot', environment: 'prod' },
      dedup_key: 'mtr-abc',
      counts: { firing: 1, resolved: 0 },
      alerts: [
        {
          fingerprint: 'f1',
          status: 'firing',
          severity: 'critical',
          labels: { alertname: 'leaked keys', application: 'support-bot', severity: 'critical' },
          annotations: { summary: 'leaked keys: critical verdict for trace t1' },
          starts_at: new Date().toISOString(),
          ends_at: null,
          occurrences: 3,
          trace_ids: ['t1'],
          value: null,
          threshold: null,
        },
      ],
    },
    ...overrides,
  };
}

let pd: PagerDutyServer;
let slack: SlackServer;
let smtp: SmtpFarEnd;
const signing = generateSigningSecret();
let hook: WebhookReceiver;

beforeAll(async () => {
  pd = await new PagerDutyServer().start();
  slack = await new SlackServer().start();
  smtp = await new SmtpFarEnd().start();
  hook = await new WebhookReceiver(signing).start();
});
afterAll(async () => {
  await Promise.all([pd.close(), slack.close(), smtp.close(), hook.close()]);
});

describe('PagerDuty Events API v2', () => {
  const settings = () => ({ url: pd.endpoint });

  it('triggers with the dedup key (a second trigger is the same incident) and resolves it', async () => {
    expect((await adapters.pagerduty.send(notification(), settings(), { routing_key: ROUTING_KEY })).outcome).toBe('delivered');
    expect((await adapters.pagerduty.send(notification({ notification_id: 'g1.pd.2' }), settings(), { routing_key: ROUTING_KEY })).outcome).toBe('delivered');
    expect(pd.alerts.get('mtr-abc')).toMatchObject({ open: true, triggers: 2 });
    const trigger = pd.triggers()[0]!;
    expect(trigger.payload).toMatchObject({ severity: 'critical', source: 'support-bot', component: 'support-bot', group: 'prod' });
    const resolved = await adapters.pagerduty.send(notification({ kind: 'resolve', payload: { ...notification().payload, status: 'resolved' } }), settings(), { routing_key: ROUTING_KEY });
    expect(resolved).toMatchObject({ outcome: 'delivered', status_code: 202 });
    expect(pd.openIncidents()).toBe(0);
  });

  it('400 is never retried; 429 and 500 are', async () => {
    const bad = await adapters.pagerduty.send(notification(), settings(), { routing_key: 'short' });
    expect(bad).toMatchObject({ outcome: 'failed', status_code: 400 });
    expect(bad.response).toContain('invalid event');
    pd.script.push({ status: 429, body: '{"status":"throttled"}' }, { status: 500 });
    expect(await adapters.pagerduty.send(notification(), settings(), { routing_key: ROUTING_KEY })).toMatchObject({ outcome: 'retry', status_code: 429 });
    expect(await adapters.pagerduty.send(notification(), settings(), { routing_key: ROUTING_KEY })).toMatchObject({ outcome: 'retry', status_code: 500 });
  });

  it('a far end that is down, slow past the timeout, or refusing TLS is retried, and the error names the cause', async () => {
    const down = await adapters.pagerduty.send(notification(), { url: `http://127.0.0.1:${await deadPort()}/v2/enqueue` }, { routing_key: ROUTING_KEY });
    expect(down).toMatchObject({ outcome: 'retry', status_code: null });
    expect(down.error).toMatch(/ECONNREFUSED/);
    pd.delayMs = 1_500;
    const slow = await adapters.pagerduty.send(notification(), settings(), { routing_key: ROUTING_KEY });
    pd.delayMs = 0;
    expect(slow).toMatchObject({ outcome: 'retry', error: 'timed out' });
    const tls = await adapters.pagerduty.send(notification(), { url: pd.endpoint.replace('http:', 'https:') }, { routing_key: ROUTING_KEY });
    expect(tls.outcome).toBe('retry');
    expect(tls.error).toMatch(/SSL|TLS|EPROTO|wrong version/i);
  });
});

describe('Slack incoming webhook', () => {
  it('posts Block Kit with a text fallback', async () => {
    const result = await adapters.slack.send(notification(), {}, { webhook_url: slack.webhookUrl });
    expect(result).toMatchObject({ outcome: 'delivered', status_code: 200, response: 'ok' });
    const message = slack.messages.at(-1)!;
    expect(message.text).toContain('[FIRING:1] leaked keys (support-bot prod)');
    expect(message.blocks?.[0]).toMatchObject({ type: 'header' });
  });

  it("429 waits for Slack's Retry-After; 5xx retried; 404 no_service fails for good", async () => {
    slack.script.push({ status: 429, headers: { 'Retry-After': '7' } }, { status: 503 }, { status: 404, body: 'no_service' });
    expect(await adapters.slack.send(notification(), {}, { webhook_url: slack.webhookUrl })).toMatchObject({ outcome: 'retry', status_code: 429, retry_after_ms: 7_000 });
    expect(await adapters.slack.send(notification(), {}, { webhook_url: slack.webhookUrl })).toMatchObject({ outcome: 'retry', status_code: 503 });
    expect(await adapters.slack.send(notification(), {}, { webhook_url: slack.webhookUrl })).toMatchObject({ outcome: 'failed', status_code: 404 });
  });

  it('never puts the webhook URL (a secret) into an error', async () => {
    const url = `http://127.0.0.1:${await deadPort()}/services/T/B/SECRET-TOKEN-123`;
    const result = await adapters.slack.send(notification(), {}, { webhook_url: url });
    expect(JSON.stringify(result)).not.toContain('SECRET-TOKEN-123');
  });
});

describe('Standard Webhooks', () => {
  it('signs what the receiver verifies, with the notification id as webhook-id', async () => {
    const result = await adapters.webhook.send(notification({ notification_id: 'n-1' }), {}, { url: `${hook.url}/hooks`, signing_secret: signing });
    expect(result).toMatchObject({ outcome: 'delivered', status_code: 204 });
    expect(hook.received.at(-1)).toMatchObject({ id: 'n-1', body: { type: 'alert.firing', data: { incident_key: 'mtr-abc' } } });
  });

  it('a wrong secret is refused by the receiver (401) and retried; 410 Gone fails and disables', async () => {
    const wrong = await adapters.webhook.send(notification(), {}, { url: hook.url, signing_secret: generateSigningSecret() });
    expect(wrong).toMatchObject({ outcome: 'retry', status_code: 401 });
    expect(hook.rejected).toBeGreaterThan(0);
    hook.script.push({ status: 410 });
    const gone = await adapters.webhook.send(notification(), {}, { url: hook.url, signing_secret: signing });
    expect(gone).toMatchObject({ outcome: 'failed', status_code: 410 });
    expect(gone.disable).toMatch(/410/);
    expect(adapters.webhook.retryDelaysMs).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  });
});

describe('SMTP email', () => {
  const settings = () => ({ host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'alerts@example.com', to: ['oncall@example.com'] });

  it('sends a mail the server receives and parses, with a Message-ID derived from the notification', async () => {
    const result = await adapters.email.send(notification({ notification_id: 'g1.mail.1' }), settings(), {});
    expect(result).toMatchObject({ outcome: 'delivered', status_code: 250 });
    const mail = smtp.mails.at(-1)!;
    expect(mail.subject).toBe('[FIRING:1] leaked keys (support-bot prod)');
    expect(mail.messageId).toBe('<g1.mail.1@metronis.alerts>');
    expect(mail.text).toContain('leaked keys: critical verdict for trace t1');
    expect(mail.headers.get('x-metronis-incident')).toBe('mtr-abc');
  });

  it('4xx is retried, 5xx is not', async () => {
    smtp.script.push(451, 550);
    expect(await adapters.email.send(notification(), settings(), {})).toMatchObject({ outcome: 'retry', status_code: 451 });
    expect(await adapters.email.send(notification(), settings(), {})).toMatchObject({ outcome: 'failed', status_code: 550 });
  });

  it('STARTTLS required but refused (5xx: not retried), or the server down (retried), with the cause', async () => {
    const refused = await adapters.email.send(notification(), { ...settings(), tls: 'starttls' }, {});
    expect(refused.outcome).toBe('failed');
    expect(refused.error).toMatch(/ETLS.*STARTTLS/);
    const down = await adapters.email.send(notification(), { ...settings(), port: await deadPort() }, {});
    expect(down.outcome).toBe('retry');
    expect(down.error).toMatch(/ECONNREFUSED|ECONNECTION/);
  });
});

describe('egress control (the default policy refuses destinations inside the network)', () => {
  // *.rebind.test names exist only in this resolver, and resolve to loopback: what a DNS rebinding attacker's name does.
  const resolver: Resolver = (host, _options, callback) =>
    host.endsWith('.rebind.test') ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
  const strict = createChannelAdapters({ timeoutMs: 1_000, egress: createEgressPolicy({ resolver }) });
  const allowing = createChannelAdapters({ timeoutMs: 1_000, egress: createEgressPolicy({ resolver, allow: ['hooks.rebind.test', 'mail.rebind.test'] }) });

  it('refuses loopback for every HTTP far end, for good, without a request, naming the address', async () => {
    const before = [pd.requests, slack.requests, hook.requests];
    const results = [
      await strict.pagerduty.send(notification(), { url: pd.endpoint }, { routing_key: ROUTING_KEY }),
      await strict.slack.send(notification(), {}, { webhook_url: slack.webhookUrl }),
      await strict.webhook.send(notification(), {}, { url: hook.url, signing_secret: signing }),
    ];
    for (const result of results) {
      expect(result).toMatchObject({ outcome: 'failed', status_code: null });
      expect(result.error).toMatch(/EGRESS_REFUSED: egress refused: the address 127\.0\.0\.1 is loopback.*METRONIS_EGRESS_ALLOW/);
    }
    expect([pd.requests, slack.requests, hook.requests]).toEqual(before);
  });

  it('checks the address a name resolves to when connecting (DNS rebinding), and lets an allowed name connect', async () => {
    const port = new URL(hook.url).port;
    const before = hook.requests;
    const refused = await strict.webhook.send(notification({ notification_id: 'rebind-1' }), {}, { url: `http://hooks.rebind.test:${port}/hooks`, signing_secret: signing });
    expect(refused.outcome).toBe('failed');
    expect(refused.error).toMatch(/EGRESS_REFUSED.*127\.0\.0\.1 \(of hooks\.rebind\.test\) is loopback/);
    expect(hook.requests).toBe(before);
    // the name exists only in the policy's resolver: delivering proves the connection used the checked lookup
    const allowed = await allowing.webhook.send(notification({ notification_id: 'rebind-2' }), {}, { url: `http://hooks.rebind.test:${port}/hooks`, signing_secret: signing });
    expect(allowed).toMatchObject({ outcome: 'delivered', status_code: 204 });
    expect(hook.received.at(-1)!.id).toBe('rebind-2');
  });

  it('email: refuses an SMTP host resolving inside the network, and connects to the address it checked', async () => {
    const settings = { host: 'mail.rebind.test', port: smtp.port, tls: 'none', from: 'alerts@example.com', to: ['oncall@example.com'] };
    const refused = await strict.email.send(notification(), settings, {});
    expect(refused).toMatchObject({ outcome: 'failed', status_code: null });
    expect(refused.error).toMatch(/EGRESS_REFUSED.*127\.0\.0\.1 \(of mail\.rebind\.test\) is loopback/);
    const unknown = await strict.email.send(notification(), { ...settings, host: 'nowhere.invalid' }, {});
    expect(unknown).toMatchObject({ outcome: 'retry' }); // a name that does not resolve may resolve later
    const sent = await allowing.email.send(notification({ notification_id: 'mail-rebind' }), settings, {});
    expect(sent).toMatchObject({ outcome: 'delivered', status_code: 250 });
    expect(smtp.mails.at(-1)!.messageId).toBe('<mail-rebind@metronis.alerts>');
  });

  it('names each refused destination field, for the API to answer 400', () => {
    expect(strict.pagerduty.refusedDestinations({ url: 'http://169.254.169.254/v2/enqueue' }, {})).toEqual([{ path: '$.settings.url', message: expect.stringMatching(/link-local/) }]);
    expect(strict.slack.refusedDestinations({}, { webhook_url: 'http://10.0.0.1/services/x' })).toEqual([{ path: '$.secrets.webhook_url', message: expect.stringMatching(/private/) }]);
    expect(strict.webhook.refusedDestinations({}, { url: 'http://[::1]:8080/' })).toEqual([{ path: '$.secrets.url', message: expect.stringMatching(/loopback/) }]);
    expect(strict.email.refusedDestinations({ host: 'localhost' }, {})).toEqual([{ path: '$.settings.host', message: expect.stringMatching(/own machine/) }]);
    expect(strict.webhook.refusedDestinations({}, { url: 'https://hooks.example.com/x' })).toEqual([]);
  });
});
