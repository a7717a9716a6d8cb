/**
 * The rules stage: two consumer groups, one on metronis.verdicts.v1 and one on metronis.evaluations.v1,
 * each a sink of the runner whose `write` turns a batch of records into Alert records on
 * metronis.alerts.v1, produced (acknowledged) before the runner commits the batch: at least once.
 *
 * - Per-event rules: a matching record fires an Alert at once (`alert_id` = rule + record, so a
 *   redelivered record is applied once downstream).
 * - Aggregate rules: each record in a rule's scope is an observation in Postgres (keyed by record:
 *   counted once), then every series the batch touched is assessed over its sliding window. A series
 *   crossing its threshold (with at least `min_volume` records) fires; one that recovers resolves. The
 *   series state is in Postgres too, so a restart, a rebalance or `kill -9` loses no window and no
 *   transition. `aggregateTicker` re-assesses firing series every few seconds, so recovery is seen
 *   when the records stop, and re-asserts firing ones so they do not expire downstream.
 *
 * Why Postgres and not a compacted topic: the state is small, written per batch, read by key and by
 * time range, and the console and the notifier read the same database; a compacted changelog would
 * need a restore on every rebalance and the embedded log keeps no compaction.
 */
import type { Alert, TierResult, Verdict } from '@metronis/schemas';
import type { AlertStore, Observation, SeriesState } from '@metronis/stores';
import { TOPICS, type LogProducer, type SinkTopology, type TopicDef, type TopicSerde } from '@metronis/streams';
import type { AlertConfigCache } from './config.js';
import { durationMs, type AggregateRule, type PerEventRule } from './documents.js';
import { fingerprintOf } from './labels.js';
import { aggregateAlert, assess, measureOf, observationOf, perEventAlert, subjectOfTierResult, subjectOfVerdict, type SeriesKey, type StoredRule, type Subject } from './rules.js';

export interface AlertProducer {
  /** Produces alerts to metronis.alerts.v1 and resolves once acknowledged. */
  send(alerts: Alert[]): Promise<void>;
}

/** Produces to the serde's topic (metronis.alerts.v1, or a test's own). */
export function alertProducer(producer: LogProducer, serde: () => Promise<TopicSerde<'Alert'>>): AlertProducer {
  return {
    async send(alerts) {
      if (alerts.length === 0) return;
      const topic = await serde();
      await producer.send(alerts.map((a) => ({ topic: topic.topic.name, key: topic.topic.keyOf(a), value: topic.encode(a) })));
    },
  };
}

/** The topics and consumer groups of the alerts topology: the product's, or a test's own. */
export interface AlertsNaming {
  verdicts: TopicDef<'Verdict'>;
  evaluations: TopicDef<'TierResult'>;
  alerts: TopicDef<'Alert'>;
  groups: { verdicts: string; evaluations: string; notifier: string };
}

export interface RulesStageDeps {
  store: Pick<AlertStore, 'observe' | 'windowStats' | 'series' | 'putSeries'>;
  config: AlertConfigCache;
  alerts: AlertProducer;
  clock?: { now(): number };
  /** How often a firing aggregate is re-asserted (and so how long it lives without one). Default 60 s. */
  reassertMs?: number;
}

export const ALERTS_VERDICTS_GROUP = 'metronis.alerts.verdicts.v1';
export const ALERTS_EVALUATIONS_GROUP = 'metronis.alerts.evaluations.v1';
const DEFAULT_REASSERT_MS = 60_000;

const isPerEvent = (r: StoredRule): r is StoredRule & { rule: PerEventRule } => r.rule.kind === 'per_event';
const isAggregate = (r: StoredRule): r is StoredRule & { rule: AggregateRule } => r.rule.kind === 'aggregate';

/** The alerts a batch of subjects produces, with the aggregate state written. */
export async function evaluateSubjects(subjects: Subject[], deps: RulesStageDeps): Promise<Alert[]> {
  const clock = deps.clock ?? Date;
  const reassertMs = deps.reassertMs ?? DEFAULT_REASSERT_MS;
  const now = clock.now();
  const alerts: Alert[] = [];
  const observations: Observation[] = [];
  const touched = new Map<string, { stored: StoredRule & { rule: AggregateRule }; orgId: string; key: SeriesKey; measure: string }>();

  const byOrg = new Map<string, Subject[]>();
  for (const s of subjects) {
    byOrg.set(s.org_id, [...(byOrg.get(s.org_id) ?? []), s]);
  }
  for (const [orgId, list] of byOrg) {
    const { rules } = await deps.config.get(orgId);
    if (rules.length === 0) continue;
    for (const s of list) {
      for (const stored of rules) {
        if (isPerEvent(stored)) {
          const alert = perEventAlert(stored, s, now);
          if (alert !== null) alerts.push(alert);
        } else if (isAggregate(stored)) {
          const obs = observationOf(stored, s);
          if (obs === null) continue;
          const measure = measureOf(stored.rule);
          observations.push({ org_id: orgId, rule_id: stored.id, measure, series: obs.series.series, record_id: s.record_id, at: new Date(s.at), failing: obs.failing, score: obs.score });
          touched.set(`${orgId}\u0000${stored.id}\u0000${obs.series.series}`, { stored, orgId, key: obs.series, measure });
        }
      }
    }
  }
  await deps.alerts.send(alerts);
  if (observations.length > 0) {
    await deps.store.observe(observations);
    alerts.push(...(await assessSeries([...touched.values()], deps, now, reassertMs)));
  }
  return alerts;
}

interface Touched {
  stored: StoredRule & { rule: AggregateRule };
  orgId: string;
  key: SeriesKey;
  measure: string;
}

/** Assesses series: produces their transitions as alerts, then saves the new states; returns the alerts. */
async function assessSeries(list: Touched[], deps: RulesStageDeps, now: number, reassertMs: number): Promise<Alert[]> {
  const stats = await deps.store.windowStats(list.map((t) => ({ org_id: t.orgId, rule_id: t.stored.id, measure: t.measure, series: t.key.series, since: new Date(now - durationMs(t.stored.rule.window)) })));
  const states = await deps.store.series(list.map((t) => ({ org_id: t.orgId, rule_id: t.stored.id, series: t.key.series })));
  const alerts: Alert[] = [];
  const changed: SeriesState[] = [];
  list.forEach((t, i) => {
    const assessment = assess(t.stored.rule, stats[i]!);
    const state = states[i];
    const firing = state?.state === 'firing';
    if (assessment.firing && !firing) {
      alerts.push(aggregateAlert(t.stored, t.orgId, t.key, 'firing', assessment, now, now, reassertMs));
      changed.push({ org_id: t.orgId, rule_id: t.stored.id, series: t.key.series, labels: t.key.labels, state: 'firing', since: new Date(now), asserted_at: new Date(now) });
    } else if (assessment.firing && firing && now - state.asserted_at.getTime() >= reassertMs) {
      alerts.push(aggregateAlert(t.stored, t.orgId, t.key, 'firing', assessment, state.since.getTime(), now, reassertMs));
      changed.push({ ...state, labels: t.key.labels, asserted_at: new Date(now) });
    } else if (!assessment.firing && firing) {
      alerts.push(aggregateAlert(t.stored, t.orgId, t.key, 'resolved', assessment, state.since.getTime(), now, reassertMs));
      changed.push({ ...state, state: 'ok', since: new Date(now), asserted_at: new Date(now) });
    }
  });
  if (alerts.length > 0) await deps.alerts.send(alerts);
  await deps.store.putSeries(changed);
  return alerts;
}

function rulesSink<N extends 'Verdict' | 'TierResult'>(
  name: string,
  groupId: string,
  input: TopicDef<N>,
  toSubject: (value: N extends 'Verdict' ? Verdict : TierResult) => Subject,
  deps: RulesStageDeps,
): SinkTopology<N> {
  return {
    kind: 'sink',
    name,
    groupId,
    input: input as never,
    batch: { maxRecords: 500, maxWaitMs: 20 },
    async write(items) {
      await evaluateSubjects(
        items.map((item) => toSubject(item.value as never)),
        deps,
      );
    },
  };
}

/** The rules stage on verdicts. */
export function alertRulesOnVerdicts(deps: RulesStageDeps, input: TopicDef<'Verdict'> = TOPICS.verdicts, groupId = ALERTS_VERDICTS_GROUP): SinkTopology<'Verdict'> {
  return rulesSink<'Verdict'>('alerts-verdicts', groupId, input, subjectOfVerdict, deps);
}

/** The rules stage on tier results (module scores, per-event rules with source `evaluation`). */
export function alertRulesOnEvaluations(deps: RulesStageDeps, input: TopicDef<'TierResult'> = TOPICS.evaluations, groupId = ALERTS_EVALUATIONS_GROUP): SinkTopology<'TierResult'> {
  return rulesSink<'TierResult'>('alerts-evaluations', groupId, input, subjectOfTierResult, deps);
}

/**
 * One pass of the aggregate ticker: every firing series is assessed again at `now` (records stopped
 * arriving: the window empties and the series resolves; a rule deleted or disabled resolves its series).
 */
export async function tickAggregates(deps: RulesStageDeps & { store: RulesStageDeps['store'] & Pick<AlertStore, 'firingSeries'> }, limit = 500): Promise<Alert[]> {
  const clock = deps.clock ?? Date;
  const reassertMs = deps.reassertMs ?? DEFAULT_REASSERT_MS;
  const now = clock.now();
  const firing = await deps.store.firingSeries(limit);
  const list: Touched[] = [];
  const gone: Alert[] = [];
  const goneStates: SeriesState[] = [];
  for (const state of firing) {
    const { rules } = await deps.config.get(state.org_id);
    const stored = rules.find((r) => r.id === state.rule_id);
    if (stored === undefined || !isAggregate(stored) || !stored.rule.enabled) {
      gone.push(resolvedWithoutRule(state, now));
      goneStates.push({ ...state, state: 'ok', since: new Date(now), asserted_at: new Date(now) });
      continue;
    }
    list.push({ stored, orgId: state.org_id, key: { series: state.series, labels: state.labels }, measure: measureOf(stored.rule) });
  }
  if (gone.length > 0) {
    await deps.alerts.send(gone);
    await deps.store.putSeries(goneStates);
  }
  return [...gone, ...(list.length === 0 ? [] : await assessSeries(list, deps, now, reassertMs))];
}

function resolvedWithoutRule(state: SeriesState, now: number): Alert {
  return {
    alert_id: `${state.rule_id}:${state.series}:resolved:${state.since.getTime()}`,
    org_id: state.org_id,
    rule_id: state.rule_id,
    rule_version: 0,
    kind: 'aggregate',
    status: 'resolved',
    severity: (state.labels.severity as Alert['severity']) ?? 'none',
    fingerprint: fingerprintOf(state.org_id, state.labels),
    labels: state.labels,
    annotations: { summary: 'the rule was deleted or disabled' },
    starts_at: state.since.getTime(),
    ends_at: now,
    trace_id: null,
    value: null,
    threshold: null,
    volume: null,
    generated_at: now,
  };
}
