/**
 * The notifier: a consumer group on metronis.alerts.v1 that applies each Alert once to the alert
 * instances and their aggregation groups in Postgres, and a dispatcher loop that, every `intervalMs`,
 * resolves expired alerts, flushes the groups that are due (routing.ts decides what each channel is
 * told) and sends the queued deliveries through the channel adapters.
 *
 * Exactly once in effect: a flush queues its deliveries in the transaction that records the decision
 * (the notification log), so a decision is never lost nor taken twice. A delivery is claimed with a
 * lease; a worker killed between sending and recording leaves the lease to expire, and the next
 * claim sends the same notification again with the same identity — PagerDuty's `dedup_key` (one
 * incident), the webhook's `webhook-id`, the email's Message-ID — so the far end sees one page.
 * (Slack's incoming webhooks have no idempotency key: a crash in that window can post twice.)
 */
import type { Alert } from '@metronis/schemas';
import type { AlertInstance, AlertStore, AttemptResult, Delivery, SecretBox, StoredChannel } from '@metronis/stores';
import type { RunnerLogger, SinkTopology, TopicDef } from '@metronis/streams';
import { TOPICS } from '@metronis/streams';
import { openChannel } from './channel-secrets.js';
import type { ChannelAdapters } from './channels/index.js';
import type { Notification, NotificationPayload, SendResult } from './channels/types.js';
import type { AlertConfigCache } from './config.js';
import { CHANNEL_TYPES, parseMatchers, type ChannelType, type Matcher } from './documents.js';
import type { Pacer } from './pacing.js';
import { decideFlush, groupsFor, inhibited, silenced } from './routing.js';

export const ALERTS_NOTIFIER_GROUP = 'metronis.alerts.notifier.v1';

export interface NotifierDeps {
  store: AlertStore;
  config: AlertConfigCache;
  secrets: SecretBox;
  adapters: ChannelAdapters;
  logger: RunnerLogger;
  clock?: { now(): number };
  /** How long a claimed delivery may take before another worker may send it again. Default 60 s. */
  leaseMs?: number;
  /** keeps the far ends' published rates (PagerDuty's 120 events a minute per routing key); none: not paced */
  pacer?: Pacer;
}

/** What sending one delivery needs (a channel test uses only this). */
export interface DeliveryDeps {
  store: Pick<AlertStore, 'channel' | 'disableChannel' | 'recordAttempt' | 'queueDelivery' | 'deferDelivery'>;
  secrets: SecretBox;
  adapters: ChannelAdapters;
  logger: RunnerLogger;
  clock?: { now(): number };
  leaseMs?: number;
  pacer?: Pacer;
}

/** An attempt not made: the far end's pace is used up until `until` (the delivery goes back to the queue). */
export interface Deferred {
  outcome: 'deferred';
  until: Date;
}

/** The consumer group that applies alerts to their instances and groups. */
export function notifierTopology(deps: Pick<NotifierDeps, 'store' | 'config' | 'clock'>, input: TopicDef<'Alert'> = TOPICS.alerts, groupId = ALERTS_NOTIFIER_GROUP): SinkTopology<'Alert'> {
  const clock = deps.clock ?? Date;
  return {
    kind: 'sink',
    name: 'alerts-notifier',
    groupId,
    input,
    batch: { maxRecords: 500, maxWaitMs: 20 },
    async write(items) {
      const events = [];
      for (const { value } of items) {
        const { rules, routing } = await deps.config.get(value.org_id);
        events.push({ alert: value, groups: groupsFor(value, rules, routing) });
      }
      await deps.store.applyEvents(events, new Date(clock.now()));
    },
  };
}

function notificationOf(delivery: Delivery, channel: StoredChannel): Notification {
  return {
    kind: delivery.kind as Notification['kind'],
    notification_id: delivery.notification_id,
    dedup_key: delivery.dedup_key,
    org_id: delivery.org_id,
    channel: { id: channel.id, name: channel.name },
    attempt: delivery.attempts,
    payload: delivery.payload as unknown as NotificationPayload,
  };
}

const isChannelType = (t: string): t is ChannelType => (CHANNEL_TYPES as string[]).includes(t);

/** One attempt of one claimed delivery; the outcome and the time of the next attempt. */
export async function attempt(deps: DeliveryDeps, delivery: Delivery): Promise<(AttemptResult & { disable?: string }) | Deferred> {
  const clock = deps.clock ?? Date;
  const channel = await deps.store.channel(delivery.org_id, delivery.channel_id);
  if (channel === null) return { outcome: 'abandoned', status_code: null, response: null, error: 'the channel was deleted', latency_ms: 0 };
  if (channel.disabled_at !== null && delivery.kind !== 'test') return { outcome: 'abandoned', status_code: null, response: null, error: `the channel is disabled: ${channel.disabled_reason ?? ''}`, latency_ms: 0 };
  if (!isChannelType(channel.type)) return { outcome: 'failed', status_code: null, response: null, error: `unknown channel type ${channel.type}`, latency_ms: 0 };
  const adapter = deps.adapters[channel.type];
  let opened: ReturnType<typeof openChannel>;
  try {
    opened = openChannel(deps.secrets, delivery.org_id, channel);
  } catch (error) {
    return { outcome: 'failed', status_code: null, response: null, error: `the channel's secrets cannot be opened: ${(error as Error).message}`, latency_ms: 0 };
  }
  const paceKey = adapter.pacing?.key(opened.settings, opened.secrets) ?? null;
  if (deps.pacer !== undefined && adapter.pacing !== undefined && paceKey !== null) {
    const slot = deps.pacer.take(paceKey, adapter.pacing.limit, adapter.pacing.windowMs);
    if (!slot.ok) {
      const error = `the far end's pace (${adapter.pacing.limit} events in ${adapter.pacing.windowMs / 1000} s) is used up until ${new Date(slot.retryAt).toISOString()}`;
      if (delivery.kind === 'test') return { outcome: 'failed', status_code: null, response: null, error: `${error}; try the test again then`, latency_ms: 0 };
      return { outcome: 'deferred', until: new Date(slot.retryAt) };
    }
  }
  const started = performance.now();
  let result: SendResult;
  try {
    result = await adapter.send(notificationOf(delivery, channel), opened.settings, opened.secrets);
  } catch (error) {
    result = { outcome: 'retry', status_code: null, response: null, error: `the ${channel.type} adapter failed: ${(error as Error).message}` };
  }
  const latency = Math.round((performance.now() - started) * 1000) / 1000;
  const base = { status_code: result.status_code, response: result.response, error: result.error, latency_ms: latency, ...(result.disable === undefined ? {} : { disable: result.disable }) };
  if (result.outcome !== 'retry') return { outcome: result.outcome, ...base };
  if (delivery.kind === 'test') return { outcome: 'failed', ...base, error: result.error ?? `retriable answer ${result.status_code}; a test is not retried` };
  const delays = adapter.retryDelaysMs;
  if (delivery.attempts > delays.length) return { outcome: 'failed', ...base, error: `gave up after ${delivery.attempts} attempts: ${result.error ?? `last answer ${result.status_code}`}` };
  const delay = result.retry_after_ms ?? delays[delivery.attempts - 1]! * (0.9 + Math.random() * 0.2);
  return { outcome: 'retry', ...base, next_attempt_at: new Date(clock.now() + delay) };
}

/** Attempts a claimed delivery and records the attempt (disabling the channel when the far end said it is gone). */
export async function deliver(deps: DeliveryDeps, delivery: Delivery): Promise<AttemptResult | Deferred> {
  const clock = deps.clock ?? Date;
  const result = await attempt(deps, delivery);
  if (result.outcome === 'deferred') {
    await deps.store.deferDelivery(delivery, result.until);
    deps.logger.debug?.({ org_id: delivery.org_id, delivery_id: delivery.id, channel_id: delivery.channel_id, until: result.until.toISOString() }, 'alert notification paced: queued for later');
    return result;
  }
  if (result.disable !== undefined) await deps.store.disableChannel(delivery.org_id, delivery.channel_id, result.disable);
  await deps.store.recordAttempt(delivery, result, new Date(clock.now()));
  const log = { org_id: delivery.org_id, delivery_id: delivery.id, channel_id: delivery.channel_id, channel_type: delivery.channel_type, kind: delivery.kind, attempt: delivery.attempts, outcome: result.outcome, status_code: result.status_code, latency_ms: result.latency_ms };
  if (result.outcome === 'delivered') deps.logger.info(log, 'alert notification delivered');
  else deps.logger.warn({ ...log, error: result.error }, 'alert notification not delivered');
  return result;
}

/** Everything the flushes of one organization need, read before any group is locked. */
async function orgContext(deps: NotifierDeps, orgId: string, now: Date) {
  const [config, silences, firing, channels] = await Promise.all([
    deps.config.get(orgId),
    deps.store.activeSilences(orgId, now),
    deps.store.forOrg(orgId).listAlerts({ status: 'firing', limit: 5000 }),
    deps.store.forOrg(orgId).listChannels(),
  ]);
  const active: { matchers: Matcher[] }[] = [];
  for (const s of silences) {
    try {
      active.push({ matchers: parseMatchers(s.matchers) });
    } catch (error) {
      deps.logger.warn({ org_id: orgId, silence_id: s.id, err: error }, 'a stored silence no longer validates; it is ignored');
    }
  }
  const byId = new Map(channels.map((c) => [c.id, c]));
  return {
    channelType: (id: string) => {
      const c = byId.get(id);
      return c === undefined || c.disabled_at !== null ? null : c.type;
    },
    muted: (a: AlertInstance) => silenced(a.labels, active) || (a.status === 'firing' && inhibited(a, firing, config.routing)),
  };
}

export interface DispatchStats {
  expired: number;
  flushed: number;
  sent: number;
}

/** One pass of the dispatcher: expire, flush due groups, send due deliveries. */
export async function dispatchOnce(deps: NotifierDeps, options: { groups?: number; deliveries?: number } = {}): Promise<DispatchStats> {
  const clock = deps.clock ?? Date;
  const now = new Date(clock.now());
  const expired = await deps.store.expireAlerts(now);
  const due = await deps.store.dueGroups(now, options.groups ?? 100);
  let flushed = 0;
  const contexts = new Map<string, Awaited<ReturnType<typeof orgContext>>>();
  for (const { org_id, group_key } of due) {
    let ctx = contexts.get(org_id);
    if (ctx === undefined) {
      ctx = await orgContext(deps, org_id, now);
      contexts.set(org_id, ctx);
    }
    const c = ctx;
    if (await deps.store.flushGroup(org_id, group_key, now, (group) => decideFlush(group, { now, channelType: c.channelType, muted: c.muted }))) flushed++;
  }
  const claimed = await deps.store.claimDeliveries(new Date(clock.now()), new Date(clock.now() + (deps.leaseMs ?? 60_000)), options.deliveries ?? 20);
  await Promise.all(claimed.map((d) => deliver(deps, d)));
  return { expired: expired.length, flushed, sent: claimed.length };
}

export interface Loop {
  stop(): Promise<void>;
}

/**
 * Runs `step` every `intervalMs` until stopped; a failing step is logged and tried again at the next
 * interval (the database down is an outage, not a crash).
 */
export function startLoop(name: string, intervalMs: number, step: () => Promise<unknown>, logger: RunnerLogger): Loop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const done = (async () => {
    while (!stopped) {
      try {
        await step();
      } catch (error) {
        logger.warn({ loop: name, err: error }, 'alerts loop step failed; trying again');
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalMs);
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await done;
    },
  };
}

/** The channel test: one delivery of kind `test`, attempted now, recorded, and the far end's answer. */
export async function testChannel(deps: DeliveryDeps, orgId: string, channel: StoredChannel) {
  const clock = deps.clock ?? Date;
  const now = clock.now();
  const id = `test.${channel.id}.${now}.${Math.random().toString(36).slice(2, 8)}`;
  const payload: NotificationPayload = { status: 'firing', group_key: 'test', group_labels: { alertname: 'Metronis test' }, dedup_key: `test-${id}`, counts: { firing: 0, resolved: 0 }, alerts: [] };
  const delivery = await deps.store.queueDelivery(
    orgId,
    { notification_id: id, channel_id: channel.id, channel_type: channel.type, kind: 'test', dedup_key: `test-${id}`, payload: payload as unknown as Record<string, unknown> },
    new Date(now),
    new Date(now + (deps.leaseMs ?? 60_000)),
  );
  const result = await deliver(deps, delivery);
  // (a test is never deferred: attempt() answers `failed` when the pace is used up)
  if (result.outcome === 'deferred') return { delivery_id: delivery.id, outcome: 'failed' as const, status_code: null, response: null, error: `paced until ${result.until.toISOString()}`, latency_ms: 0 };
  return { delivery_id: delivery.id, ...result };
}

export type { Alert };
