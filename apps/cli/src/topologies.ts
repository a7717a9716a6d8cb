/**
 * The named topologies a worker can run (`metronis worker --topology <name>`) and replay. A name maps
 * to the topologies that make it up; each runs as its own consumer group.
 */
import type { FactsStore, RelationalStore } from '@metronis/stores';
import type { Topology } from '@metronis/streams';
import { sinkTopologies } from '@metronis/topology-sinks';

export interface TopologyDeps {
  store: RelationalStore;
  facts: FactsStore;
}

/** What replay and describe need of a topology, without its resources. */
export type TopologyDescriptor = Pick<Topology, 'name' | 'groupId' | 'input'>;

export const TOPOLOGIES = {
  sinks: (deps: TopologyDeps) => sinkTopologies(deps),
} satisfies Record<string, (deps: TopologyDeps) => Topology[]>;

export type TopologyName = keyof typeof TOPOLOGIES;
export const TOPOLOGY_NAMES = Object.keys(TOPOLOGIES) as TopologyName[];

export function isTopologyName(name: string): name is TopologyName {
  return Object.hasOwn(TOPOLOGIES, name);
}

/** A stand-in for resources that a command does not open: touching it is a bug, and says so. */
function notOpened<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      throw new Error(`${what} is not opened by this command (accessed ${String(property)})`);
    },
  });
}

/** The descriptors of a named topology, for commands that move offsets but process nothing. */
export function describeTopologies(name: TopologyName): TopologyDescriptor[] {
  return TOPOLOGIES[name]({ store: notOpened('the relational store'), facts: notOpened('the facts store') }).map(({ name: n, groupId, input }) => ({ name: n, groupId, input }));
}
