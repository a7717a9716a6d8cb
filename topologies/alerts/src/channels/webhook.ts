/**
 * Generic webhooks signed per Standard Webhooks (https://www.standardwebhooks.com): headers
 * `webhook-id` (the notification id: the same on every retry, so a receiver drops duplicates),
 * `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
 * keyed by the base64 bytes after `whsec_`. Answers: 2xx delivered; 410 Gone disables the channel;
 * anything else (and transport failures) retried on the spec's schedule: 5 s, 5 min, 30 min, 2 h, 5 h,
 * 10 h, 10 h, then failed.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { EgressPolicy } from '@metronis/stores';
import { egressPost } from './http.js';
import { refusedUrls, type ChannelAdapter, type Notification } from './types.js';

export const STANDARD_WEBHOOKS_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

export function webhookBodyOf(n: Notification, now: Date): string {
  const type = n.kind === 'test' ? 'alert.test' : n.payload.status === 'resolved' ? 'alert.resolved' : 'alert.firing';
  return JSON.stringify({ type, timestamp: now.toISOString(), data: { org_id: n.org_id, channel_id: n.channel.id, incident_key: n.dedup_key, ...n.payload } });
}

export function webhookAdapter(options: { timeoutMs: number; egress: EgressPolicy; retryDelaysMs?: number[]; clock?: { now(): number } }): ChannelAdapter {
  const clock = options.clock ?? Date;
  const postJson = egressPost(options.egress);
  return {
    type: 'webhook',
    retryDelaysMs: options.retryDelaysMs ?? STANDARD_WEBHOOKS_SCHEDULE_MS,
    refusedDestinations: (_settings, secrets) => refusedUrls(options.egress, [['$.secrets.url', secrets.url]]),
    async send(n, _settings, secrets) {
      const now = clock.now();
      const body = webhookBodyOf(n, new Date(now));
      const timestamp = Math.floor(now / 1000);
      const headers = { 'webhook-id': n.notification_id, 'webhook-timestamp': String(timestamp), 'webhook-signature': sign(String(secrets.signing_secret), n.notification_id, timestamp, body) };
      const result = await postJson(String(secrets.url), body, headers, options.timeoutMs);
      if (!result.ok) return { outcome: result.refused ? 'failed' : 'retry', status_code: null, response: null, error: result.error };
      const { status, body: answer } = result.answer;
      if (status >= 200 && status < 300) return { outcome: 'delivered', status_code: status, response: answer, error: null };
      if (status === 410) return { outcome: 'failed', status_code: status, response: answer, error: 'the endpoint answered 410 Gone: the channel is disabled', disable: 'the webhook endpoint answered 410 Gone' };
      return { outcome: 'retry', status_code: status, response: answer, error: null };
    },
  };
}
