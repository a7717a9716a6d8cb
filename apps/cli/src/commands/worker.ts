/** `metronis worker --topology <name>`: runs one named topology's consumer groups on Kafka. */
import type { FactsStore } from '@metronis/stores';
import { runTopology } from '@metronis/streams';
import { ConfigError, modelCacheOf, type WorkerEnv } from '../env.js';
import { evaluationPool } from '../evaluation.js';
import type { Logger } from '../logger.js';
import { orgSettingsCache } from '../org-settings.js';
import { policyCache } from '../policies.js';
import { openFactsStore, openKafkaBackbone, openRelationalStore } from '../runtime.js';
import type { Lifecycle } from '../shutdown.js';
import { notOpened, startLoops, TOPOLOGIES, type TopologyName } from '../topologies.js';
import { openAlertsRuntime, secretsBox } from '../alerts.js';
import { openTier3Runtime } from '../tier3.js';
import type { AlertsRuntime } from '@metronis/topology-alerts';
import { loadEncoder, type Encoder } from '@metronis/topology-tier2';

export async function worker(name: TopologyName, env: WorkerEnv, logger: Logger, lifecycle: Lifecycle): Promise<void> {
  // Checked before anything is opened: the alerts topology cannot open channel secrets without it.
  const secrets = name === 'alerts' || name === 'tier3' ? await secretsBox(env.METRONIS_SECRETS_KEY) : undefined;
  if (name === 'alerts' && secrets === undefined) throw new ConfigError('Invalid configuration:\n  METRONIS_SECRETS_KEY: is required by worker --topology alerts (the key that encrypts channel secrets, the same as the console\'s)');
  if (name === 'tier3' && secrets === undefined) throw new ConfigError('Invalid configuration:\n  METRONIS_SECRETS_KEY: is required by worker --topology tier3 (the key that encrypts judge provider keys, the same as the console\'s)');
  const backbone = await openKafkaBackbone({ brokers: env.KAFKA_BROKERS, registryUrl: env.SCHEMA_REGISTRY_URL, clientId: `metronis-worker-${name}`, compression: env.KAFKA_COMPRESSION });
  lifecycle.onClose('log', () => backbone.log.close());
  const store = await openRelationalStore(env.DATABASE_URL);
  lifecycle.onClose('postgres', () => store.close());
  let facts: FactsStore = notOpened('the facts store');
  if (TOPOLOGIES[name].usesFacts) {
    const opened = await openFactsStore(env.CLICKHOUSE_URL);
    lifecycle.onClose('clickhouse', () => opened.close());
    facts = opened;
  }
  const policies = policyCache(store, logger);
  const settings = orgSettingsCache(store, logger);
  const retention = { get: async (orgId: string) => (await settings.get(orgId)).retention_days };
  const evaluator = name === 'tier1' ? evaluationPool(env, logger, lifecycle) : undefined;
  let alerts: AlertsRuntime | undefined;
  if (secrets !== undefined && name === 'alerts') alerts = openAlertsRuntime({ store, backbone, secrets, logger, lifecycle, egressAllow: env.METRONIS_EGRESS_ALLOW });
  const tier3 = secrets !== undefined && name === 'tier3' ? openTier3Runtime({ store, backbone, secrets, logger, lifecycle, concurrency: env.METRONIS_JUDGE_CONCURRENCY, sweepIntervalMs: env.METRONIS_JUDGE_SWEEP_INTERVAL_MS, retryDelayMs: env.METRONIS_JUDGE_RETRY_DELAY_MS, egressAllow: env.METRONIS_EGRESS_ALLOW }) : undefined;
  let encoder: Encoder | undefined;
  if (name === 'tier2') {
    // A tier 2 worker without its encoder cannot do its job: fail at start, naming how to install it.
    const loaded = await loadEncoder({ cacheDir: modelCacheOf(env) });
    lifecycle.onClose('tier 2 encoder', () => loaded.close());
    encoder = loaded;
  }
  const deps = { store, facts, policies, retention, ...(evaluator === undefined ? {} : { evaluator }), ...(alerts === undefined ? {} : { alerts }), ...(encoder === undefined ? {} : { encoder }), ...(tier3 === undefined ? {} : { tier3 }) };
  for (const topology of TOPOLOGIES[name].build(deps)) {
    const handle = runTopology(topology, { log: backbone.log, serde: backbone.serde, logger });
    lifecycle.onClose(`topology ${topology.name}`, () => handle.stop());
    logger.info({ topology: topology.name, group: topology.groupId }, 'topology running');
  }
  const loops = startLoops(name, deps);
  if (loops !== undefined) lifecycle.onClose(`${name} loops`, () => loops.stop());
}
