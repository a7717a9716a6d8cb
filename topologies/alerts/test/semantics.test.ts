/**
 * The pure parts, case by case: Alertmanager's flush decision (first notification, nothing new, new
 * alerts, all resolved, send_resolved, repeat_interval, muted alerts), routing with `continue`,
 * matchers, inhibition, rule conditions and the aggregate assessment with its minimum volume.
 */
import type { AlertInstance, GroupSnapshot } from '@metronis/stores';
import { describe, expect, it } from 'vitest';
import { aggregateRuleSchema, assess, subjectOfTierResult, decideFlush, DEFAULT_ROUTING, groupsFor, inhibited, matchesConditions, parseRouting, perEventAlert, perEventRuleSchema, subjectOfVerdict } from '../src/index.js';
import { makeTierResult, makeVerdict } from './engine.js';

const now = new Date('2026-12-05T10:00:00Z');
function instance(fingerprint: string, status: 'firing' | 'resolved', labels: Record<string, string> = {}): AlertInstance {
  return {
    id: `id-${fingerprint}-${status}`,
    org_id: 'o',
    fingerprint,
    rule_id: 'r',
    kind: 'per_event',
    severity: labels.severity ?? 'critical',
    labels: { alertname: 'a', ...labels },
    annotations: {},
    status,
    starts_at: now,
    ends_at: now,
    last_seen_at: now,
    resolved_at: status === 'resolved' ? now : null,
    occurrences: 1,
    trace_ids: [],
    value: null,
    threshold: null,
    volume: null,
  };
}
function group(members: AlertInstance[], log: GroupSnapshot['log'] = [], sendResolved = true): GroupSnapshot {
  return {
    org_id: 'o',
    group_key: 'g',
    route_id: 'rule:r',
    group_labels: { alertname: 'a' },
    channel_ids: ['pd'],
    timing: { group_wait_ms: 30_000, group_interval_ms: 300_000, repeat_interval_ms: 4 * 3_600_000, send_resolved: sendResolved },
    created_at: now,
    next_flush_at: now,
    flushed_at: null,
    members,
    log,
  };
}
const ctx = (muted: (a: AlertInstance) => boolean = () => false, at = now) => ({ now: at, channelType: () => 'pagerduty', muted });
const entry = (firing: string[], resolved: string[] = [], notifiedAt = now) => ({ channel_id: 'pd', firing, resolved, sequence: 1, notified_at: notifiedAt });

describe('flush decision (Alertmanager DedupStage)', () => {
  it('first notification for firing alerts; none for a group that only resolved', () => {
    expect(decideFlush(group([instance('f1', 'firing')]), ctx()).deliveries.map((d) => d.kind)).toEqual(['trigger']);
    expect(decideFlush(group([instance('f1', 'resolved')]), ctx()).deliveries).toEqual([]);
  });

  it('nothing new: quiet until repeat_interval, then a repeat with the same dedup key', () => {
    const g = group([instance('f1', 'firing')], [entry(['f1'])]);
    expect(decideFlush(g, ctx()).deliveries).toEqual([]);
    const later = decideFlush(g, ctx(() => false, new Date(now.getTime() + 4 * 3_600_000)));
    expect(later.deliveries).toHaveLength(1);
    expect(later.deliveries[0]!.dedup_key).toBe(decideFlush(group([instance('f1', 'firing')]), ctx()).deliveries[0]!.dedup_key);
  });

  it('a new alert in the group notifies; everything resolved sends one resolve and ends the group', () => {
    expect(decideFlush(group([instance('f1', 'firing'), instance('f2', 'firing')], [entry(['f1'])]), ctx()).deliveries).toHaveLength(1);
    const resolved = decideFlush(group([instance('f1', 'resolved')], [entry(['f1'])]), ctx());
    expect(resolved.deliveries.map((d) => d.kind)).toEqual(['resolve']);
    expect(resolved.delete).toBe(true);
  });

  it('send_resolved false: the resolution is logged, not sent', () => {
    const d = decideFlush(group([instance('f1', 'resolved')], [entry(['f1'])], false), ctx());
    expect(d.deliveries).toEqual([]);
    expect(d.log[0]).toMatchObject({ firing: [], resolved: ['f1'] });
  });

  it('muted alerts are left out: nothing sent and nothing logged', () => {
    const d = decideFlush(group([instance('f1', 'firing')]), ctx(() => true));
    expect(d).toMatchObject({ deliveries: [], log: [], delete: false });
  });

  it('a deleted or disabled channel is not notified', () => {
    expect(decideFlush(group([instance('f1', 'firing')]), { ...ctx(), channelType: () => null }).deliveries).toEqual([]);
  });
});

describe('routing, matchers and inhibition', () => {
  const alert = perEventAlert({ id: 'r', version: 1, rule: perEventRuleSchema.parse({ name: 'leaks', kind: 'per_event', channels: ['pd'] }) }, subjectOfVerdict(makeVerdict({ org_id: 'o', severity: 'high' })), now.getTime())!;

  it("a rule's channels, then the first matching route unless it says continue", () => {
    const routing = parseRouting({
      routes: [
        { matchers: [{ label: 'severity', op: '=~', value: 'high|critical' }], channels: ['slack'], continue: true },
        { matchers: [{ label: 'severity', value: 'high' }], channels: ['hook'] },
        { channels: ['never'] },
      ],
    });
    const groups = groupsFor(alert, [{ id: 'r', version: 1, rule: perEventRuleSchema.parse({ name: 'leaks', kind: 'per_event', channels: ['pd'] }) }], routing);
    expect(groups.map((g) => [g.route_id, g.channel_ids])).toEqual([
      ['rule:r', ['pd']],
      ['route:0', ['slack']],
      ['route:1', ['hook']],
    ]);
    expect(groups[0]!.group_labels).toEqual({ alertname: 'leaks', application: 'support-bot', environment: 'prod' });
  });

  it('the default inhibition: a firing critical alert mutes high ones of the same application and environment only', () => {
    const critical = instance('c', 'firing', { severity: 'critical', application: 'a', environment: 'p' });
    const high = instance('h', 'firing', { severity: 'high', application: 'a', environment: 'p' });
    const otherApp = instance('o', 'firing', { severity: 'high', application: 'b', environment: 'p' });
    expect(inhibited(high, [critical, high, otherApp], DEFAULT_ROUTING)).toBe(true);
    expect(inhibited(otherApp, [critical, high, otherApp], DEFAULT_ROUTING)).toBe(false);
    expect(inhibited(critical, [critical, high], DEFAULT_ROUTING)).toBe(false);
  });
});

describe('rules', () => {
  it('per-event conditions: severity at least, any finding kind, model by name or provider/name, tags; failing records by default', () => {
    const s = subjectOfVerdict(makeVerdict({ severity: 'high', finding_kinds: ['private_key'], tags: ['beta'] }));
    expect(matchesConditions({ min_severity: 'high', finding_kinds: ['email', 'private_key'], models: ['gpt-4o-mini'], tags: ['beta'] }, s, false)).toBe(true);
    expect(matchesConditions({ models: ['openai/gpt-4o-mini'] }, s)).toBe(true);
    expect(matchesConditions({ min_severity: 'critical' }, s)).toBe(false);
    expect(matchesConditions({ applications: ['other'] }, s)).toBe(false);
    expect(matchesConditions({}, subjectOfVerdict(makeVerdict({ passed: true })), false)).toBe(false);
  });

  it('aggregate: no alert under the minimum volume, whatever the rate; the threshold and operator apply above it', () => {
    const rule = aggregateRuleSchema.parse({ name: 'rate', kind: 'aggregate', measure: 'failure_rate', threshold: 0.5, min_volume: 20, severity: 'high' });
    expect(assess(rule, { volume: 3, failing: 3, mean_score: null })).toMatchObject({ firing: false, value: 1 });
    expect(assess(rule, { volume: 40, failing: 21, mean_score: null }).firing).toBe(true);
    expect(assess(rule, { volume: 40, failing: 20, mean_score: null }).firing).toBe(false);
    expect(assess({ ...rule, op: '>=' }, { volume: 40, failing: 20, mean_score: null }).firing).toBe(true);
    const score = aggregateRuleSchema.parse({ name: 's', kind: 'aggregate', source: 'evaluation', measure: 'mean_score', module: 'quality', op: '<', threshold: 0.6, min_volume: 1, severity: 'medium' });
    expect(assess(score, { volume: 5, failing: 0, mean_score: 0.4 }).firing).toBe(true);
    expect(aggregateRuleSchema.safeParse({ name: 'x', kind: 'aggregate', measure: 'failure_rate', threshold: 2, severity: 'high' }).success).toBe(false);
  });

  it('a per-event rule on tier results fires for a failing module, with the evaluation id as the event id', () => {
    const rule = { id: 'q', version: 3, rule: perEventRuleSchema.parse({ name: 'quality', kind: 'per_event', source: 'evaluation', when: { failed_modules: ['quality'] } }) };
    const failing = makeTierResult('o', 0.2);
    const alert = perEventAlert(rule, subjectOfTierResult(failing), now.getTime());
    expect(alert).toMatchObject({ alert_id: `q:${failing.evaluation_id}`, rule_version: 3, severity: 'medium', trace_id: failing.trace_id, labels: { application: 'support-bot', model: 'openai/gpt-4o-mini' } });
    expect(perEventAlert(rule, subjectOfTierResult(makeTierResult('o', 0.9)), now.getTime())).toBeNull();
    expect(perEventAlert(rule, subjectOfVerdict(makeVerdict({ failed_modules: ['quality'] })), now.getTime())).toBeNull(); // another source
  });
});
