/**
 * Channels with their secrets sealed: what is stored (`sealChannel`), what the API shows (`channelView`:
 * the settings and the names of the secrets that are set, never a secret), and what an adapter needs
 * to send (`openChannel`). A webhook without a signing secret gets a generated one, shown once by the
 * API in the creation answer. The sealing context binds a sealed value to its organization and channel.
 */
import type { NewChannel, SecretBox, StoredChannel } from '@metronis/stores';
import { generateSigningSecret } from './channels/webhook.js';
import type { ChannelInput } from './documents.js';

const contextOf = (orgId: string, channelId: string) => `alert_channel:${orgId}:${channelId}`;

export interface SealedChannel {
  channel: NewChannel & { enabled: boolean };
  /** secrets generated here (a webhook's signing secret), to show once */
  generated: Record<string, string>;
}

export function sealChannel(box: SecretBox, orgId: string, id: string, input: ChannelInput): SealedChannel {
  const secrets: Record<string, unknown> = { ...input.secrets };
  const generated: Record<string, string> = {};
  if (input.type === 'webhook' && secrets.signing_secret === undefined) {
    generated.signing_secret = generateSigningSecret();
    secrets.signing_secret = generated.signing_secret;
  }
  const secretFields = Object.keys(secrets).filter((k) => secrets[k] !== undefined).sort();
  return {
    channel: { id, name: input.name, type: input.type, settings: input.settings as Record<string, unknown>, secret: box.seal(JSON.stringify(secrets), contextOf(orgId, id)), secret_fields: secretFields, enabled: input.enabled },
    generated,
  };
}

export function openChannel(box: SecretBox, orgId: string, stored: StoredChannel): { settings: Record<string, unknown>; secrets: Record<string, unknown> } {
  return { settings: stored.settings, secrets: JSON.parse(box.open(stored.secret, contextOf(orgId, stored.id))) as Record<string, unknown> };
}

/** A channel as the API shows it. */
export function channelView(stored: StoredChannel) {
  return {
    id: stored.id,
    name: stored.name,
    type: stored.type,
    settings: stored.settings,
    secrets_set: stored.secret_fields,
    enabled: stored.disabled_at === null,
    disabled_at: stored.disabled_at,
    disabled_reason: stored.disabled_reason,
    version: stored.version,
    created_at: stored.created_at,
    updated_at: stored.updated_at,
  };
}
