/** The adapters by channel type: one per far end, behind `ChannelAdapter`. */
import { createEgressPolicy, type EgressPolicy } from '@metronis/stores';
import type { ChannelType } from '../documents.js';
import { emailAdapter } from './email.js';
import { pagerDutyAdapter } from './pagerduty.js';
import { slackAdapter } from './slack.js';
import type { ChannelAdapter } from './types.js';
import { webhookAdapter } from './webhook.js';

export type ChannelAdapters = Record<ChannelType, ChannelAdapter>;

export interface ChannelAdapterOptions {
  /** per request (or SMTP stage). Default 10 s. */
  timeoutMs?: number;
  /** override the far ends' retry schedules (tests use short ones) */
  retryDelaysMs?: Partial<Record<ChannelType, number[]>>;
  /** PagerDuty events per minute per routing key. Default 120. */
  pagerDutyEventsPerMinute?: number;
  /** what the channels may connect to; default: nothing inside the deployment's network (see stores' egress.ts) */
  egress?: EgressPolicy;
}

export function createChannelAdapters(options: ChannelAdapterOptions = {}): ChannelAdapters {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const egress = options.egress ?? createEgressPolicy();
  const delays = (type: ChannelType) => (options.retryDelaysMs?.[type] === undefined ? {} : { retryDelaysMs: options.retryDelaysMs[type] });
  return {
    pagerduty: pagerDutyAdapter({ timeoutMs, egress, ...delays('pagerduty'), ...(options.pagerDutyEventsPerMinute === undefined ? {} : { eventsPerMinute: options.pagerDutyEventsPerMinute }) }),
    slack: slackAdapter({ timeoutMs, egress, ...delays('slack') }),
    webhook: webhookAdapter({ timeoutMs, egress, ...delays('webhook') }),
    email: emailAdapter({ timeoutMs, egress, ...delays('email') }),
  };
}

export * from './types.js';
export { sign as signWebhook, generateSigningSecret, STANDARD_WEBHOOKS_SCHEDULE_MS } from './webhook.js';
