/**
 * The named topologies a worker can run (`metronis worker --topology <name>`) and replay. A name maps
 * to the topologies that make it up; each runs as its own consumer group.
 */
import type { EvaluationPool, Policy } from '@metronis/evaluators';
import type { FactsStore, RelationalStore } from '@metronis/stores';
import type { Topology } from '@metronis/streams';
import { alertsTopologies, startAlertsLoops, type AlertsRuntime } from '@metronis/topology-alerts';
import { sinkTopologies } from '@metronis/topology-sinks';
import { tier1Topology } from '@metronis/topology-tier1';
import { createModelRegistry, tier2Topology, type Encoder } from '@metronis/topology-tier2';
import { describingOnly, tier3Topology } from '@metronis/topology-tier3';
import type { Tier3Runtime } from './tier3.js';

export interface TopologyDeps {
  store: RelationalStore;
  facts: FactsStore;
  /** Per-org policies (a cache over the store). */
  policies: { get(orgId: string): Promise<Policy> };
  /** Per-org retention in days (a cache over the store), written into every fact row. */
  retention?: { get(orgId: string): Promise<number> };
  /** Where Tier 1's modules run (worker threads with a deadline); in-process when absent. */
  evaluator?: Pick<EvaluationPool, 'run' | 'stats'>;
  /** The alerts runtime (secrets, producer, caches, adapters); only the alerts topology uses it. */
  alerts?: AlertsRuntime;
  /** Tier 2's encoder (loadEncoder), for the tier2 topology; records wait while it loads. */
  encoder?: Encoder | Promise<Encoder>;
  /** Tier 3's judges, budget, cache and sweeper (tier3.ts), for the tier3 topology. */
  tier3?: Tier3Runtime;
}

/** What replay and describe need of a topology, without its resources. */
export type TopologyDescriptor = Pick<Topology, 'name' | 'groupId' | 'input'>;

interface TopologyEntry {
  /** Whether it writes to the facts store: a worker opens ClickHouse (or chDB) only then. */
  usesFacts: boolean;
  build(deps: TopologyDeps): Topology[];
  /** Loops that run beside the consumer groups (the alerts dispatcher); stopped with them. */
  loops?(deps: TopologyDeps): { stop(): Promise<void> };
}

export const TOPOLOGIES = {
  tier1: {
    usesFacts: false,
    build: (deps) => [tier1Topology({ policies: deps.policies, ...(deps.evaluator === undefined ? {} : { evaluator: deps.evaluator, concurrency: deps.evaluator.stats().threads }) })],
  },
  sinks: { usesFacts: true, build: (deps) => sinkTopologies(deps) },
  alerts: { usesFacts: false, build: (deps) => alertsTopologies(alertsOf(deps)), loops: (deps) => startAlertsLoops(alertsOf(deps)) },
  tier2: {
    usesFacts: false,
    build: (deps) => [
      tier2Topology({ policies: deps.policies, encoder: deps.encoder ?? notOpened<Encoder>('tier 2\'s encoder'), models: (encoder) => createModelRegistry({ encoderSha256: encoder.modelSha256 }) }),
    ],
  },
  tier3: {
    usesFacts: false,
    // Without its runtime (replay moves offsets, nothing is processed) it is built for its descriptor only.
    build: (deps) => [tier3Topology(deps.tier3 === undefined ? describingOnly() : { ...deps.tier3.options, policies: deps.policies })],
    loops: (deps) => tier3Of(deps).startSweeper(deps.policies),
  },
} satisfies Record<string, TopologyEntry & Partial<Pick<TopologyEntry, 'loops'>>>;

function tier3Of(deps: TopologyDeps): Tier3Runtime {
  return deps.tier3 ?? notOpened<Tier3Runtime>('the tier 3 runtime');
}

function alertsOf(deps: TopologyDeps): AlertsRuntime {
  return deps.alerts ?? notOpened<AlertsRuntime>('the alerts runtime');
}

/** The loops of a named topology, if it has any. */
export function startLoops(name: TopologyName, deps: TopologyDeps): { stop(): Promise<void> } | undefined {
  const entry: TopologyEntry = TOPOLOGIES[name];
  return entry.loops?.(deps);
}

export type TopologyName = keyof typeof TOPOLOGIES;
export const TOPOLOGY_NAMES = Object.keys(TOPOLOGIES) as TopologyName[];

export function isTopologyName(name: string): name is TopologyName {
  return Object.hasOwn(TOPOLOGIES, name);
}

/** A stand-in for resources that a command does not open: touching it is a bug, and says so. */
export function notOpened<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      throw new Error(`${what} is not opened by this command (accessed ${String(property)})`);
    },
  });
}

/** The descriptors of a named topology, for commands that move offsets but process nothing. */
export function describeTopologies(name: TopologyName): TopologyDescriptor[] {
  return TOPOLOGIES[name].build({ store: notOpened('the relational store'), facts: notOpened('the facts store'), policies: notOpened('the policy cache') }).map(({ name: n, groupId, input }) => ({ name: n, groupId, input }));
}
