/**
 * `metronis alerts ...`: alert rules and silences from the command line, on DATABASE_URL or the
 * embedded data folder (stop `npm start` first), validated like the API and audited with the actor
 * `cli`. Channels are listed here (without secrets) and created over HTTP, where the secrets key is.
 * A running process picks changes up within 2 s.
 *
 *   metronis alerts rule list --org acme
 *   metronis alerts rule apply --org acme --file rule.json     (creates, or replaces the rule with its "id")
 *   metronis alerts rule delete --org acme --id leaks
 *   metronis alerts silence create --org acme --file silence.json
 *   metronis alerts silence list --org acme
 *   metronis alerts silence expire --org acme --id sil_…
 *   metronis alerts channel list --org acme
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { RelationalStore } from '@metronis/stores';
import { channelView, durationMs, ruleInputSchema, silenceInputSchema } from '@metronis/topology-alerts';
import type { z } from 'zod';
import { AdminUsageError } from './admin.js';

const CLI_ACTOR = { keyId: 'cli' } as const;

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new AdminUsageError(`--${flag} is required`);
  return value;
}

async function readDocument<S extends z.ZodType>(file: string | undefined, schema: S): Promise<z.output<S>> {
  const path = required(file, 'file');
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new AdminUsageError(`${path}: not a readable JSON file (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(document);
  if (!parsed.success) throw new AdminUsageError(`${path} is invalid: ${parsed.error.issues.map((i) => `$.${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export async function runAlerts(store: RelationalStore, what: string | undefined, sub: string | undefined, args: { org?: string | undefined; id?: string | undefined; file?: string | undefined }): Promise<unknown> {
  const org = required(args.org, 'org');
  if ((await store.forOrg(org).getOrganization()) === null) throw new AdminUsageError(`no organization '${org}'`);
  const alerts = store.alerts.forOrg(org);
  const key = `${what ?? ''} ${sub ?? ''}`.trim();
  switch (key) {
    case 'rule list':
      return { rules: await alerts.listRules() };
    case 'rule apply': {
      const { id, ...rule } = await readDocument(args.file, ruleInputSchema);
      const known = new Set((await alerts.listChannels()).map((c) => c.id));
      const unknown = rule.channels.filter((c) => !known.has(c));
      if (unknown.length > 0) throw new AdminUsageError(`no channel ${unknown.map((c) => `'${c}'`).join(', ')} in organization '${org}'`);
      const ruleId = id ?? `rule_${randomUUID().slice(0, 8)}`;
      const saved = (await alerts.updateRule(ruleId, rule, CLI_ACTOR)) ?? (await alerts.createRule(ruleId, rule, CLI_ACTOR));
      return { rule: saved };
    }
    case 'rule delete': {
      const id = required(args.id, 'id');
      if (!(await alerts.deleteRule(id, CLI_ACTOR))) throw new AdminUsageError(`organization '${org}' has no rule '${id}'`);
      return { id, deleted: true };
    }
    case 'silence list':
      return { silences: await alerts.listSilences({ includeExpired: false, now: new Date() }) };
    case 'silence create': {
      const body = await readDocument(args.file, silenceInputSchema);
      const now = new Date();
      const startsAt = body.starts_at === undefined ? now : new Date(body.starts_at);
      const endsAt = body.ends_at !== undefined ? new Date(body.ends_at) : new Date(startsAt.getTime() + durationMs(body.duration!));
      if (endsAt <= startsAt || endsAt <= now) throw new AdminUsageError('the silence must end after it starts, in the future');
      return { silence: await alerts.createSilence({ id: `sil_${randomUUID().slice(0, 12)}`, matchers: body.matchers, starts_at: startsAt, ends_at: endsAt, comment: body.comment }, CLI_ACTOR) };
    }
    case 'silence expire': {
      const id = required(args.id, 'id');
      const silence = await alerts.expireSilence(id, new Date(), CLI_ACTOR);
      if (silence === null) throw new AdminUsageError(`organization '${org}' has no silence '${id}'`);
      return { silence };
    }
    case 'channel list':
      return { channels: (await alerts.listChannels()).map(channelView) };
    default:
      throw new AdminUsageError(`unknown subcommand 'alerts ${key}'; expected: alerts rule list|apply|delete, alerts silence list|create|expire, alerts channel list`);
  }
}
