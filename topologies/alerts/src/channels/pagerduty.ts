/**
 * PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/overview): a `trigger`
 * or `resolve` event with the group's `dedup_key`, so every notification of one group is one alert
 * (one incident) on PagerDuty, and a repeated trigger (a retry, a restart) is deduplicated there.
 * Answers: 202 accepted; 400 never retried (the event is invalid); 429 and 5xx retried with
 * backoff. About 120 events a minute per routing key are allowed: the adapter declares that pace
 * (keyed by a hash of the routing key) and the notifier keeps it, queueing what is over it for later
 * rather than earn a 429 (see pacing.ts).
 */
import { createHash } from 'node:crypto';
import { exponential, refusedUrls, titleOf, type ChannelAdapter, type Notification } from './types.js';
import type { EgressPolicy } from '@metronis/stores';
import { egressPost } from './http.js';

const SEVERITY: Record<string, string> = { critical: 'critical', high: 'error', medium: 'warning', low: 'info', none: 'info' };

export function eventOf(n: Notification, routingKey: string): Record<string, unknown> {
  if (n.kind === 'resolve') return { routing_key: routingKey, event_action: 'resolve', dedup_key: n.dedup_key };
  const first = n.payload.alerts[0];
  const worst = n.kind === 'test' ? 'info' : (SEVERITY[n.payload.alerts.map((a) => a.severity).sort((a, b) => rankOf(b) - rankOf(a))[0] ?? 'none'] ?? 'info');
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: n.kind === 'test' ? `test-${n.notification_id}` : n.dedup_key,
    client: 'Metronis',
    payload: {
      summary: titleOf(n).slice(0, 1024),
      source: first?.labels.application ?? 'metronis',
      severity: worst,
      component: n.payload.group_labels.application,
      group: n.payload.group_labels.environment,
      class: n.payload.group_labels.alertname ?? first?.labels.alertname,
      custom_details: n.kind === 'test' ? { test: true } : { counts: n.payload.counts, group_labels: n.payload.group_labels, alerts: n.payload.alerts.slice(0, 10) },
    },
  };
}

const ORDER = ['none', 'low', 'medium', 'high', 'critical'];
const rankOf = (s: string) => ORDER.indexOf(s);

export function pagerDutyAdapter(options: { timeoutMs: number; egress: EgressPolicy; retryDelaysMs?: number[]; eventsPerMinute?: number }): ChannelAdapter {
  const postJson = egressPost(options.egress);
  return {
    type: 'pagerduty',
    retryDelaysMs: options.retryDelaysMs ?? exponential(2_000, 300_000, 10),
    pacing: { key: (_settings, secrets) => `pagerduty:${createHash('sha256').update(String(secrets.routing_key)).digest('hex').slice(0, 24)}`, limit: options.eventsPerMinute ?? 120, windowMs: 60_000 },
    refusedDestinations: (settings) => refusedUrls(options.egress, [['$.settings.url', settings.url]]),
    async send(n, settings, secrets) {
      const routingKey = String(secrets.routing_key);
      const result = await postJson(String(settings.url), JSON.stringify(eventOf(n, routingKey)), {}, options.timeoutMs);
      if (!result.ok) return { outcome: result.refused ? 'failed' : 'retry', status_code: null, response: null, error: result.error };
      const { status, body } = result.answer;
      if (status === 202 || status === 200) {
        if (n.kind === 'test') await postJson(String(settings.url), JSON.stringify({ routing_key: routingKey, event_action: 'resolve', dedup_key: `test-${n.notification_id}` }), {}, options.timeoutMs);
        return { outcome: 'delivered', status_code: status, response: body, error: null };
      }
      if (status === 429 || status >= 500) return { outcome: 'retry', status_code: status, response: body, error: null };
      return { outcome: 'failed', status_code: status, response: body, error: status === 400 ? 'PagerDuty refused the event as invalid (400): not retried' : `PagerDuty answered ${status}` };
    },
  };
}
