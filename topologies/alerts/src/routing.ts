/**
 * Routing, silences, inhibition and the flush decision: Alertmanager's semantics, written for our
 * state in Postgres (the notifier README documents them).
 *
 * - `groupsFor(alert)`: the aggregation groups an alert joins. A rule's own `channels` are an implicit
 *   first route (matching that rule); then the routing document's routes in order, the first match
 *   winning unless it says `continue`. The group key is the route and the values of its `group_by`
 *   labels; PagerDuty's `dedup_key` is derived from it, so one group is one incident.
 * - `decideFlush(group)`: at each flush (group_wait after the group's first alert, then every
 *   group_interval), per channel, Alertmanager's dedup rules against the notification log: notify
 *   when firing alerts are new to the channel, when everything resolved after firing, when alerts
 *   resolved (with send_resolved), or when repeat_interval passed; otherwise stay quiet. Silenced and
 *   inhibited alerts are left out first; when nothing is left, nothing is sent and nothing logged.
 */
import type { Alert } from '@metronis/schemas';
import type { AlertInstance, FlushDecision, GroupAssignment, GroupSnapshot, NotificationLogEntry, QueuedDelivery } from '@metronis/stores';
import { durationMs, type Matcher, type Routing } from './documents.js';
import { hashOf, matchesAll, pick, type Labels } from './labels.js';
import type { StoredRule } from './rules.js';

export function groupsFor(alert: Alert, rules: readonly StoredRule[], routing: Routing): GroupAssignment[] {
  const out: GroupAssignment[] = [];
  const defaults = routing.defaults;
  const assignment = (routeId: string, route: { channels: string[]; group_by?: string[] | undefined; group_wait?: string | number | undefined; group_interval?: string | number | undefined; repeat_interval?: string | number | undefined; send_resolved: boolean }): GroupAssignment => {
    const groupLabels = pick(alert.labels, route.group_by ?? defaults.group_by);
    return {
      group_key: hashOf(alert.org_id, routeId, groupLabels).slice(0, 40),
      route_id: routeId,
      group_labels: groupLabels,
      channel_ids: [...new Set(route.channels)],
      timing: {
        group_wait_ms: durationMs(route.group_wait ?? defaults.group_wait),
        group_interval_ms: durationMs(route.group_interval ?? defaults.group_interval),
        repeat_interval_ms: durationMs(route.repeat_interval ?? defaults.repeat_interval),
        send_resolved: route.send_resolved,
      },
    };
  };
  const rule = rules.find((r) => r.id === alert.rule_id)?.rule;
  if (rule !== undefined && rule.channels.length > 0) out.push(assignment(`rule:${alert.rule_id}`, rule));
  for (const [i, route] of routing.routes.entries()) {
    if (!matchesAll(route.matchers, alert.labels)) continue;
    out.push(assignment(`route:${route.id ?? i}`, route));
    if (!route.continue) break;
  }
  return out;
}

/** Whether an alert is muted by an active silence. */
export function silenced(labels: Labels, silences: readonly { matchers: Matcher[] }[]): boolean {
  return silences.some((s) => matchesAll(s.matchers, labels));
}

/** Whether an alert is muted by an inhibition rule: a firing source alert (another one) with the same `equal` labels. */
export function inhibited(target: AlertInstance, firing: readonly AlertInstance[], routing: Routing): boolean {
  return routing.inhibit_rules.some(
    (rule) =>
      matchesAll(rule.target_matchers, target.labels) &&
      firing.some((source) => source.fingerprint !== target.fingerprint && matchesAll(rule.source_matchers, source.labels) && !matchesAll(rule.target_matchers, source.labels) && rule.equal.every((l) => (source.labels[l] ?? '') === (target.labels[l] ?? ''))),
  );
}

const subset = (a: readonly string[], b: readonly string[]): boolean => {
  const set = new Set(b);
  return a.every((x) => set.has(x));
};

export interface FlushContext {
  now: Date;
  /** the channel's type, or null when it is gone or disabled (then it is not notified) */
  channelType(id: string): string | null;
  /** whether the alert is silenced or inhibited now */
  muted(alert: AlertInstance): boolean;
}

/** PagerDuty's dedup_key (and the incident's identity everywhere): one per organization and group. */
export function dedupKeyOf(orgId: string, groupKey: string): string {
  return `mtr-${hashOf(orgId, groupKey).slice(0, 40)}`;
}

const MAX_LISTED = 20;

function alertView(a: AlertInstance) {
  return {
    fingerprint: a.fingerprint,
    status: a.status,
    severity: a.severity,
    labels: a.labels,
    annotations: a.annotations,
    starts_at: a.starts_at.toISOString(),
    ends_at: a.status === 'resolved' ? (a.resolved_at ?? a.ends_at).toISOString() : null,
    occurrences: a.occurrences,
    trace_ids: a.trace_ids.slice(0, 5),
    value: a.value,
    threshold: a.threshold,
  };
}

/** What a flush of one group sends, per Alertmanager's DedupStage. */
export function decideFlush(group: GroupSnapshot, ctx: FlushContext): FlushDecision {
  const visible = group.members.filter((a) => !ctx.muted(a));
  const firing = visible.filter((a) => a.status === 'firing');
  const resolved = visible.filter((a) => a.status === 'resolved');
  const firingIds = firing.map((a) => a.fingerprint).sort();
  const resolvedIds = resolved.map((a) => a.fingerprint).sort();
  const deliveries: QueuedDelivery[] = [];
  const log: NotificationLogEntry[] = [];
  const dedupKey = dedupKeyOf(group.org_id, group.group_key);
  const timing = group.timing;

  if (visible.length > 0) {
    for (const channelId of group.channel_ids) {
      const type = ctx.channelType(channelId);
      if (type === null) continue;
      const entry = group.log.find((e) => e.channel_id === channelId);
      let notify = false;
      if (entry === undefined) notify = firing.length > 0;
      else if (!subset(firingIds, entry.firing)) notify = true;
      else if (firing.length === 0) notify = entry.firing.length > 0;
      else if (timing.send_resolved && !subset(resolvedIds, entry.resolved)) notify = true;
      else notify = ctx.now.getTime() - entry.notified_at.getTime() >= timing.repeat_interval_ms;
      if (!notify) continue;
      const sequence = (entry?.sequence ?? 0) + 1;
      const kind = firing.length === 0 ? 'resolve' : 'trigger';
      if (kind === 'resolve' && !timing.send_resolved) {
        log.push({ channel_id: channelId, firing: [], resolved: resolvedIds, sequence, notified_at: ctx.now });
        continue;
      }
      deliveries.push({
        // The group's creation time makes the id unique per incarnation: a group that ended and started
        // again (same key) numbers its notifications from 1 again.
        notification_id: `${group.group_key}.${group.created_at.getTime()}.${channelId}.${sequence}`,
        channel_id: channelId,
        channel_type: type,
        kind,
        dedup_key: dedupKey,
        payload: {
          status: kind === 'resolve' ? 'resolved' : 'firing',
          group_key: group.group_key,
          group_labels: group.group_labels,
          dedup_key: dedupKey,
          counts: { firing: firing.length, resolved: resolved.length },
          alerts: [...firing.slice(0, MAX_LISTED), ...resolved.slice(0, MAX_LISTED)].map(alertView),
        },
      });
      log.push({ channel_id: channelId, firing: firingIds, resolved: resolvedIds, sequence, notified_at: ctx.now });
    }
  }
  // Resolved alerts have been told (or needed no telling); they leave the group. An empty group ends.
  const remove = group.members.filter((a) => a.status === 'resolved').map((a) => a.id);
  const left = group.members.length - remove.length;
  return { deliveries, log, remove, delete: left === 0, next_flush_at: new Date(ctx.now.getTime() + timing.group_interval_ms) };
}
