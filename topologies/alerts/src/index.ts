/**
 * @metronis/topology-alerts: alert rules over verdicts and tier results, Alertmanager-style grouping,
 * silences and inhibition, and a notifier with one adapter per far end (PagerDuty, Slack, email,
 * signed webhooks). See the package README for the semantics.
 *
 * @example
 *   const runtime = { store, secrets, config, adapters: createChannelAdapters(), alerts: alertProducer(producer, () => serde.forTopic(TOPICS.alerts)), logger };
 *   for (const topology of alertsTopologies(runtime)) runTopology(topology, { log, serde, logger });
 *   const loops = startAlertsLoops(runtime);
 */
import type { RelationalStore, SecretBox } from '@metronis/stores';
import { describeTopology, type RunnerLogger, type Topology } from '@metronis/streams';
import type { ChannelAdapters } from './channels/index.js';
import type { AlertConfigCache } from './config.js';
import { alertRulesOnEvaluations, alertRulesOnVerdicts, tickAggregates, type AlertProducer, type AlertsNaming } from './evaluate.js';
import { dispatchOnce, notifierTopology, startLoop, type Loop } from './notifier.js';
import { createPacer, type Pacer } from './pacing.js';

export interface AlertsRuntime {
  store: Pick<RelationalStore, 'alerts'>;
  secrets: SecretBox;
  config: AlertConfigCache;
  adapters: ChannelAdapters;
  /** produces to metronis.alerts.v1 */
  alerts: AlertProducer;
  logger: RunnerLogger;
  clock?: { now(): number };
  /** dispatcher period (flushes, deliveries). Default 500 ms. */
  dispatchIntervalMs?: number;
  /** aggregate ticker period. Default 5 s. */
  tickIntervalMs?: number;
  /** how often a firing aggregate is re-asserted. Default 60 s. */
  reassertMs?: number;
  /** delivery lease. Default 60 s. */
  leaseMs?: number;
  /** topics and consumer groups; the product's by default (tests on a shared Kafka use their own) */
  naming?: AlertsNaming;
  /** the far ends' pace (PagerDuty's events per minute per routing key); one per process by default */
  pacer?: Pacer;
}

/**
 * The consumer groups of alerts: rules on verdicts, rules on tier results, the notifier. The runtime
 * is read when records arrive, not here, so the topologies can be described without opening anything.
 */
export function alertsTopologies(runtime: AlertsRuntime): Topology[] {
  const rules = {
    get store() {
      return runtime.store.alerts;
    },
    config: { get: (orgId: string) => runtime.config.get(orgId), invalidate: (orgId: string) => runtime.config.invalidate(orgId) },
    alerts: { send: (alerts: Parameters<AlertProducer['send']>[0]) => runtime.alerts.send(alerts) },
    clock: { now: () => (runtime.clock ?? Date).now() },
    get reassertMs() {
      return runtime.reassertMs;
    },
  };
  const naming = 'naming' in runtime ? runtime.naming : undefined; // (`in`: describing passes a proxy that refuses every read)
  return [
    (naming === undefined ? alertRulesOnVerdicts(rules) : alertRulesOnVerdicts(rules, naming.verdicts, naming.groups.verdicts)) as unknown as Topology,
    (naming === undefined ? alertRulesOnEvaluations(rules) : alertRulesOnEvaluations(rules, naming.evaluations, naming.groups.evaluations)) as unknown as Topology,
    (naming === undefined ? notifierTopology(rules) : notifierTopology(rules, naming.alerts, naming.groups.notifier)) as unknown as Topology,
  ];
}

/** The loops beside the consumer groups: the dispatcher, the aggregate ticker and the pruning of old state. */
export function startAlertsLoops(runtime: AlertsRuntime): Loop {
  const clock = runtime.clock ?? Date;
  const pacer = runtime.pacer ?? createPacer({ clock });
  const deps = { store: runtime.store.alerts, config: runtime.config, secrets: runtime.secrets, adapters: runtime.adapters, logger: runtime.logger, clock, pacer, ...(runtime.leaseMs ? { leaseMs: runtime.leaseMs } : {}) };
  const rules = { store: runtime.store.alerts, config: runtime.config, alerts: runtime.alerts, clock, ...(runtime.reassertMs ? { reassertMs: runtime.reassertMs } : {}) };
  let lastPrune = 0;
  const loops = [
    startLoop('alerts dispatcher', runtime.dispatchIntervalMs ?? 500, () => dispatchOnce(deps), runtime.logger),
    startLoop(
      'alerts aggregate ticker',
      runtime.tickIntervalMs ?? 5_000,
      async () => {
        await tickAggregates(rules);
        if (clock.now() - lastPrune > 600_000) {
          lastPrune = clock.now();
          await runtime.store.alerts.pruneObservations(new Date(clock.now() - 25 * 3_600_000));
          await runtime.store.alerts.pruneEvents(new Date(clock.now() - 24 * 3_600_000));
        }
      },
      runtime.logger,
    ),
  ];
  return { stop: async () => void (await Promise.all(loops.map((l) => l.stop()))) };
}

/** The consumer groups as text, without opening anything. */
export function describe(): string {
  return alertsTopologies(
    new Proxy({} as AlertsRuntime, {
      get(_target, property) {
        throw new Error(`alerts describe(): ${String(property)} is not available when describing`);
      },
    }),
  )
    .map(describeTopology)
    .join('\n');
}

export * from './documents.js';
export * from './labels.js';
export * from './rules.js';
export * from './config.js';
export * from './routing.js';
export * from './evaluate.js';
export * from './notifier.js';
export * from './pacing.js';
export * from './channel-secrets.js';
export * from './channels/index.js';
