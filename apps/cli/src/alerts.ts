/**
 * The alerts runtime of a process (topologies/alerts): its secrets box, a producer to
 * metronis.alerts.v1, the per-org configuration cache and the channel adapters. `metronis dev` and
 * `metronis worker --topology alerts` run its consumer groups and loops; the console of the same
 * process invalidates its cache on every change.
 */
import { createEgressPolicy, createSecretBox, loadOrCreateSecretsKey, type RelationalStore, type SecretBox } from '@metronis/stores';
import { TOPICS } from '@metronis/streams';
import { alertProducer, createAlertConfigCache, createChannelAdapters, createPacer, type AlertsRuntime, type ChannelAdapters } from '@metronis/topology-alerts';
import type { Logger } from './logger.js';
import type { Backbone } from './runtime.js';
import type { Lifecycle } from './shutdown.js';

/** The key of METRONIS_SECRETS_KEY, or (embedded mode) the one kept in the data folder, generated on first start. */
export async function secretsBox(key: Buffer | undefined, embeddedKeyFile?: string): Promise<SecretBox | undefined> {
  if (key !== undefined) return createSecretBox(key);
  if (embeddedKeyFile === undefined) return undefined;
  return createSecretBox(await loadOrCreateSecretsKey(embeddedKeyFile));
}

/** The channel adapters, connecting only where METRONIS_EGRESS_ALLOW (the hosts and CIDRs given) lets them inside the network. */
export function channelAdapters(egressAllow: string[]): ChannelAdapters {
  return createChannelAdapters({ egress: createEgressPolicy({ allow: egressAllow }) });
}

export function openAlertsRuntime(deps: { store: RelationalStore; backbone: Backbone; secrets: SecretBox; logger: Logger; lifecycle: Lifecycle; egressAllow: string[] }): AlertsRuntime {
  const producer = deps.backbone.log.producer();
  deps.lifecycle.onClose('alerts producer', () => producer.close());
  const config = createAlertConfigCache({ store: deps.store.alerts, onError: (err, orgId) => deps.logger.warn({ err, org_id: orgId }, 'alert configuration could not be loaded') });
  return {
    store: deps.store,
    secrets: deps.secrets,
    config,
    adapters: channelAdapters(deps.egressAllow),
    pacer: createPacer(), // shared by the dispatcher and, in `metronis dev`, the console's channel tests
    alerts: alertProducer(producer, () => deps.backbone.serde.forTopic(TOPICS.alerts)),
    logger: deps.logger,
  };
}
