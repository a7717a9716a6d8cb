/**
 * One interface for every far end: an adapter renders a notification for its protocol, sends it, and
 * classifies the answer by the rules of that far end's documentation (delivered, retry — with the
 * delay the far end asked for, if any — or failed for good). Retry schedules live with the adapter;
 * the dispatcher stores every attempt and schedules the next one.
 */
import type { EgressPolicy } from '@metronis/stores';
import type { Pacing } from '../pacing.js';
export type NotificationKind = 'trigger' | 'resolve' | 'test';

export interface Notification {
  kind: NotificationKind;
  /** stable across retries and restarts: the far end's idempotency key where it has one */
  notification_id: string;
  /** stable per aggregation group: PagerDuty's dedup_key */
  dedup_key: string;
  org_id: string;
  channel: { id: string; name: string };
  /** 1 for the first attempt */
  attempt: number;
  payload: NotificationPayload;
}

export interface AlertView {
  fingerprint: string;
  status: 'firing' | 'resolved';
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  starts_at: string;
  ends_at: string | null;
  occurrences: number;
  trace_ids: string[];
  value: number | null;
  threshold: number | null;
}

export interface NotificationPayload {
  status: 'firing' | 'resolved';
  group_key: string;
  group_labels: Record<string, string>;
  dedup_key: string;
  counts: { firing: number; resolved: number };
  alerts: AlertView[];
}

export interface SendResult {
  outcome: 'delivered' | 'retry' | 'failed';
  status_code: number | null;
  /** what the far end answered (trimmed), for the history */
  response: string | null;
  error: string | null;
  /** the far end asked to wait this long (Slack's Retry-After) */
  retry_after_ms?: number;
  /** the far end said the endpoint is gone for good (a webhook's 410): disable the channel */
  disable?: string;
}

export interface ChannelAdapter {
  readonly type: string;
  /** delays before the 2nd, 3rd, ... attempt; after the last, the delivery fails */
  readonly retryDelaysMs: readonly number[];
  /** the far end's published rate limit, kept by the notifier (see pacing.ts) */
  readonly pacing?: Pacing;
  /** the destinations (URLs, SMTP host) the egress policy refuses, by JSON path (`$.secrets.url`), for a 400 on save */
  refusedDestinations(settings: Record<string, unknown>, secrets: Record<string, unknown>): { path: string; message: string }[];
  send(notification: Notification, settings: Record<string, unknown>, secrets: Record<string, unknown>): Promise<SendResult>;
}

/** The title of a notification: `[FIRING:3] leaked keys (support-bot prod)`. */
export function titleOf(n: Notification): string {
  if (n.kind === 'test') return `[TEST] Metronis test notification for channel ${n.channel.name}`;
  const p = n.payload;
  const name = p.group_labels.alertname ?? p.alerts[0]?.labels.alertname ?? 'alert';
  const where = [p.group_labels.application, p.group_labels.environment].filter(Boolean).join(' ');
  return `[${p.status === 'resolved' ? 'RESOLVED' : `FIRING:${p.counts.firing}`}] ${name}${where ? ` (${where})` : ''}`;
}

/** Plain text lines describing the alerts, for email and fallbacks. */
export function linesOf(n: Notification): string[] {
  if (n.kind === 'test') return ['This is a test notification from Metronis. If you can read it, the channel works.'];
  const lines: string[] = [];
  for (const a of n.payload.alerts) {
    lines.push(`${a.status === 'firing' ? 'FIRING' : 'RESOLVED'} ${a.severity}: ${a.annotations.summary ?? a.labels.alertname ?? a.fingerprint}`);
    lines.push(`  labels: ${Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    lines.push(`  since ${a.starts_at}${a.ends_at ? `, resolved ${a.ends_at}` : ''}; ${a.occurrences} occurrence(s)${a.trace_ids.length ? `; traces ${a.trace_ids.join(', ')}` : ''}`);
  }
  const more = n.payload.counts.firing + n.payload.counts.resolved - n.payload.alerts.length;
  if (more > 0) lines.push(`…and ${more} more`);
  return lines;
}

/** The refused ones of `urls` ([JSON path, value]); a value that is not set (a kept secret) is not checked here. */
export function refusedUrls(egress: EgressPolicy, urls: [string, unknown][]): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  for (const [path, url] of urls) {
    if (typeof url !== 'string') continue;
    const why = egress.checkUrl(url);
    if (why !== null) issues.push({ path, message: why });
  }
  return issues;
}

/** Exponential delays: base, 2·base, ... capped, `count` of them. */
export function exponential(baseMs: number, capMs: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.min(capMs, baseMs * 2 ** i));
}
