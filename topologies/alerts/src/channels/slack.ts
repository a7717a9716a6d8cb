/**
 * Slack incoming webhooks (https://api.slack.com/messaging/webhooks) with Block Kit: a header, the
 * alerts as sections, a context line. A resolve is a follow-up message (an incoming webhook cannot
 * edit what it posted). Answers: 200 `ok`; 429 retried after the `Retry-After` seconds Slack gives
 * (https://api.slack.com/apis/rate-limits); 5xx and transport failures retried with backoff; other
 * 4xx (invalid_payload, no_service, channel_not_found, channel_is_archived) fail for good.
 */
import type { EgressPolicy } from '@metronis/stores';
import { egressPost, retryAfterMs } from './http.js';
import { exponential, refusedUrls, linesOf, titleOf, type ChannelAdapter, type Notification } from './types.js';

export function slackMessageOf(n: Notification): Record<string, unknown> {
  const title = titleOf(n);
  const emoji = n.kind === 'test' ? ':white_check_mark:' : n.payload.status === 'resolved' ? ':large_green_circle:' : ':red_circle:';
  const sections = (n.kind === 'test' ? [] : n.payload.alerts.slice(0, 10)).map((a) => ({
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: `*${a.status === 'firing' ? 'Firing' : 'Resolved'}* · ${a.severity} · ${escape(a.annotations.summary ?? a.labels.alertname ?? a.fingerprint)}\n${Object.entries(a.labels)
        .map(([k, v]) => `\`${k}=${escape(v)}\``)
        .join(' ')}${a.trace_ids.length ? `\ntraces: ${a.trace_ids.map(escape).join(', ')}` : ''}`.slice(0, 3000),
    },
  }));
  return {
    text: `${title}\n${linesOf(n).join('\n')}`.slice(0, 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `${emoji} ${title}`.slice(0, 150), emoji: true } },
      ...(n.kind === 'test' ? [{ type: 'section', text: { type: 'mrkdwn', text: linesOf(n)[0] } }] : sections),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Metronis · incident ${n.dedup_key}` }] },
    ],
  };
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function slackAdapter(options: { timeoutMs: number; egress: EgressPolicy; retryDelaysMs?: number[] }): ChannelAdapter {
  const postJson = egressPost(options.egress);
  return {
    type: 'slack',
    retryDelaysMs: options.retryDelaysMs ?? exponential(2_000, 300_000, 8),
    refusedDestinations: (_settings, secrets) => refusedUrls(options.egress, [['$.secrets.webhook_url', secrets.webhook_url]]),
    async send(n, _settings, secrets) {
      const result = await postJson(String(secrets.webhook_url), JSON.stringify(slackMessageOf(n)), {}, options.timeoutMs);
      if (!result.ok) return { outcome: result.refused ? 'failed' : 'retry', status_code: null, response: null, error: result.error };
      const { status, body, headers } = result.answer;
      if (status === 200) return { outcome: 'delivered', status_code: status, response: body, error: null };
      if (status === 429) {
        const wait = retryAfterMs(headers['retry-after']);
        return { outcome: 'retry', status_code: status, response: body, error: null, ...(wait === undefined ? {} : { retry_after_ms: wait }) };
      }
      if (status >= 500) return { outcome: 'retry', status_code: status, response: body, error: null };
      return { outcome: 'failed', status_code: status, response: body, error: `Slack refused the message (${status} ${body.slice(0, 100)})` };
    },
  };
}
