/**
 * `metronis org create` and `metronis key create|list|revoke`: bootstrap and recovery from the command
 * line, for the first admin key of an organization or when no admin key is at hand. They work on
 * DATABASE_URL when it is set, else on the embedded data folder (stop `npm start` first: PGlite is
 * one process's). Every change is audited with the actor `cli`; a created key is printed once.
 *
 *   metronis org create --name "Acme" [--id acme] [--retention-days 30]
 *   metronis key create --org acme --name ci [--scopes ingest,read] [--expires-at 2027-01-01T00:00:00Z]
 *   metronis key list --org acme
 *   metronis key revoke --org acme --id key_…
 *   metronis user link --org acme --url https://console.example.com   (a one-time sign-in link for the org's first admin)
 */
import { issueApiKey } from '@metronis/ingest-gateway';
import { ConflictError, type ApiKeyScope, type RelationalStore } from '@metronis/stores';
import { z } from 'zod';
import { firstAdminSignInLink } from '../people.js';

export class AdminUsageError extends Error {}

const CLI_ACTOR = { keyId: 'cli' } as const;
const SCOPES = ['ingest', 'read', 'admin'] as const;

export interface AdminArgs {
  name?: string | undefined;
  id?: string | undefined;
  org?: string | undefined;
  scopes?: string | undefined;
  'expires-at'?: string | undefined;
  'retention-days'?: string | undefined;
  url?: string | undefined;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new AdminUsageError(`--${flag} is required`);
  return value;
}

function parseScopes(value: string | undefined): ApiKeyScope[] {
  const scopes = (value ?? 'admin,read,ingest').split(',').map((s) => s.trim());
  const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad.length > 0 || scopes.length === 0) throw new AdminUsageError(`--scopes must be a comma-separated list of ${SCOPES.join(', ')}; got ${JSON.stringify(value)}`);
  return [...new Set(scopes)] as ApiKeyScope[];
}

const orgId = z.string().regex(/^[a-z0-9][a-z0-9_-]{2,62}$/, '--id must be 3 to 63 lowercase letters, digits, - or _');

/** Runs one admin subcommand; returns what to print (JSON). */
export async function runAdmin(store: RelationalStore, command: 'org' | 'key' | 'user', sub: string | undefined, args: AdminArgs): Promise<unknown> {
  if (command === 'org') {
    if (sub !== 'create') throw new AdminUsageError(`unknown subcommand 'org ${sub ?? ''}'; expected: org create`);
    const name = required(args.name, 'name');
    let id = `org_${issueApiKey().id.slice(4)}`;
    if (args.id !== undefined) {
      const parsed = orgId.safeParse(args.id);
      if (!parsed.success) throw new AdminUsageError(parsed.error.issues[0]!.message);
      id = parsed.data;
    }
    const days = args['retention-days'] === undefined ? undefined : Number(args['retention-days']);
    if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650)) throw new AdminUsageError('--retention-days must be a whole number in 1..3650');
    try {
      const org = await store.createOrganization({ id, name, ...(days === undefined ? {} : { retention_days: days }) }, { ...CLI_ACTOR, orgId: id });
      return { organization: org };
    } catch (error) {
      if (error instanceof ConflictError) throw new AdminUsageError(`an organization with id '${id}' exists`);
      throw error;
    }
  }
  const org = required(args.org, 'org');
  const scope = store.forOrg(org);
  if ((await scope.getOrganization()) === null) throw new AdminUsageError(`no organization '${org}'; create it with: metronis org create --id ${org} --name <name>`);
  if (command === 'user') {
    if (sub !== 'link') throw new AdminUsageError(`unknown subcommand 'user ${sub ?? ''}'; expected: user link`);
    const url = required(args.url, 'url');
    if (!/^https?:\/\/[^/\s]+$/.test(url)) throw new AdminUsageError('--url must be the console address, scheme://host[:port] without a path');
    const { link, email } = await firstAdminSignInLink(store, org, url);
    return { link, user: email, note: 'one-time, valid 24 hours; the user chooses a password after signing in' };
  }
  switch (sub) {
    case 'create': {
      const name = required(args.name, 'name');
      const expires = args['expires-at'] === undefined ? null : new Date(args['expires-at']);
      if (expires !== null && (Number.isNaN(expires.getTime()) || expires.getTime() <= Date.now())) throw new AdminUsageError('--expires-at must be an ISO 8601 time in the future');
      const issued = issueApiKey();
      const key = await scope.createApiKey({ id: issued.id, hash: issued.hash, prefix: issued.prefix, name, scopes: parseScopes(args.scopes), expires_at: expires }, CLI_ACTOR);
      return { key: issued.key, api_key: key, note: 'the key is shown this once; only its hash is stored' };
    }
    case 'list':
      return { keys: await scope.listApiKeys() };
    case 'revoke': {
      const id = required(args.id, 'id');
      const key = await scope.revokeApiKey(id, CLI_ACTOR);
      if (key === null) throw new AdminUsageError(`organization '${org}' has no key '${id}'`);
      return { api_key: key };
    }
    default:
      throw new AdminUsageError(`unknown subcommand 'key ${sub ?? ''}'; expected: key create, key list, key revoke`);
  }
}
