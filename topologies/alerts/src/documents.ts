/**
 * The alert documents an organization saves, as zod schemas (validated at the API, parsed again when
 * loaded): rules, channels, silences and the routing document (routes and inhibition rules). Durations
 * are text (`30s`, `5m`, `4h`, `1d`) or milliseconds. A matcher is Alertmanager's: a label, `=`, `!=`,
 * `=~` or `!~`, and a value (a regular expression for the last two, anchored at both ends).
 *
 * @example
 *   const rule = parseRule({ name: 'leaked keys', kind: 'per_event', when: { min_severity: 'high' }, channels: ['pd'] });
 */
import { boundedIsoTime, SEVERITIES, type Severity } from '@metronis/schemas';
import { z } from 'zod';
import { compileMatcherRegex } from './labels.js';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s` → 30000; a number is milliseconds. */
export function durationMs(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  // NaN for text that is not a duration: zod runs the range check below even after the format failed.
  return match === null ? Number.NaN : Number(match[1]) * UNITS[match[2]!]!;
}

const duration = (min: number, max: number) =>
  z
    .union([z.string().regex(/^\d{1,9}(ms|s|m|h|d)$/, 'a duration such as 30s, 5m, 4h or 1d'), z.int().nonnegative()])
    .refine((v) => durationMs(v) >= min && durationMs(v) <= max, `between ${min} ms and ${max / 3_600_000} h`);

const name = z.string().trim().min(1, 'required').max(200).regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');
const text = (max: number) => z.string().max(max).regex(/^[^\u0000]*$/, 'no U+0000');
const values = z.array(text(200).min(1)).min(1).max(100);
export const severitySchema = z.enum(SEVERITIES as [Severity, ...Severity[]]);
export const idSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, '1 to 100 letters, digits, _ . -, starting with a letter or digit');

export const LABEL_NAMES = ['alertname', 'rule_id', 'severity', 'application', 'environment', 'model', 'kind'] as const;
const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a label name such as severity or application');

export const matcherSchema = z
  .strictObject({ label: labelName, op: z.enum(['=', '!=', '=~', '!~']).default('='), value: text(500) })
  .superRefine((m, ctx) => {
    if (m.op === '=~' || m.op === '!~') {
      try {
        compileMatcherRegex(m.value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `not a valid regular expression (RE2 syntax, as Alertmanager's): ${(error as Error).message}` });
      }
    }
  });
export type Matcher = z.output<typeof matcherSchema>;

/** What a record must be for a rule to look at it; every field given must hold (lists: any of). */
export const conditionsSchema = z.strictObject({
  passed: z.boolean().optional().describe('Only records that passed (true) or failed (false). Per-event rules default to false.'),
  min_severity: severitySchema.optional(),
  finding_kinds: values.optional(),
  failed_modules: values.optional(),
  applications: values.optional(),
  environments: values.optional(),
  models: values.optional().describe('`provider/name` or just the name'),
  tags: values.optional(),
});
export type Conditions = z.output<typeof conditionsSchema>;

const notify = {
  channels: z.array(idSchema).max(20).default([]).describe('Channels notified directly (besides the routing document).'),
  group_by: z.array(labelName).max(10).optional(),
  group_wait: duration(0, 3_600_000).optional(),
  group_interval: duration(1_000, 86_400_000).optional(),
  repeat_interval: duration(60_000, 30 * 86_400_000).optional(),
  send_resolved: z.boolean().default(true),
};

const ruleBase = {
  name,
  description: text(2000).optional(),
  enabled: z.boolean().default(true),
  source: z.enum(['verdict', 'evaluation']).default('verdict').describe('metronis.verdicts.v1, or the tier results on metronis.evaluations.v1.'),
  when: conditionsSchema.default({}),
  ...notify,
};

export const perEventRuleSchema = z.strictObject({
  ...ruleBase,
  kind: z.literal('per_event'),
  severity: severitySchema.optional().describe("The alert's severity; the matched record's when left out."),
  resolve_after: duration(1_000, 7 * 86_400_000).default('5m').describe('The alert resolves when no record matched for this long.'),
});

export const aggregateRuleSchema = z
  .strictObject({
    ...ruleBase,
    kind: z.literal('aggregate'),
    severity: severitySchema,
    measure: z.enum(['failure_rate', 'failure_count', 'mean_score']),
    module: text(100).min(1).optional().describe('mean_score of this module (source evaluation); without it, the records\' own score.'),
    failing_at: severitySchema.optional().describe('A record counts as failing when its severity is at least this; default: when it did not pass.'),
    window: duration(10_000, 86_400_000).default('5m'),
    by: z.array(z.enum(['application', 'environment', 'model'])).max(3).default(['application']),
    op: z.enum(['>', '>=', '<', '<=']).default('>'),
    threshold: z.number().finite(),
    min_volume: z.int().min(1).max(1_000_000).default(20).describe('Fewer records than this in the window: no alert (and a firing one resolves).'),
  })
  .superRefine((r, ctx) => {
    if (r.module !== undefined && (r.measure !== 'mean_score' || r.source !== 'evaluation')) {
      ctx.addIssue({ code: 'custom', path: ['module'], message: 'module applies to measure mean_score with source evaluation' });
    }
    if (r.measure === 'failure_rate' && (r.threshold < 0 || r.threshold > 1)) ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'a failure rate threshold is between 0 and 1' });
  });

export const ruleSchema = z.discriminatedUnion('kind', [perEventRuleSchema, aggregateRuleSchema]);
export type Rule = z.output<typeof ruleSchema>;
export type PerEventRule = z.output<typeof perEventRuleSchema>;
export type AggregateRule = z.output<typeof aggregateRuleSchema>;
export const ruleInputSchema = z.strictObject({ id: idSchema.optional() }).and(ruleSchema);

/** One route of the routing document: alerts matching every matcher go to its channels. */
export const routeSchema = z.strictObject({
  id: idSchema.optional(),
  matchers: z.array(matcherSchema).max(20).default([]),
  ...notify,
  channels: z.array(idSchema).min(1).max(20),
  continue: z.boolean().default(false).describe('Go on to the next routes after a match (Alertmanager `continue`).'),
});

export const inhibitRuleSchema = z.strictObject({
  source_matchers: z.array(matcherSchema).min(1).max(20),
  target_matchers: z.array(matcherSchema).min(1).max(20),
  equal: z.array(labelName).max(10).default([]),
});

export const routingSchema = z.strictObject({
  defaults: z
    .strictObject({
      group_by: z.array(labelName).max(10).default(['alertname', 'application', 'environment']),
      group_wait: duration(0, 3_600_000).default('30s'),
      group_interval: duration(1_000, 86_400_000).default('5m'),
      repeat_interval: duration(60_000, 30 * 86_400_000).default('4h'),
    })
    .default({ group_by: ['alertname', 'application', 'environment'], group_wait: '30s', group_interval: '5m', repeat_interval: '4h' }),
  routes: z.array(routeSchema).max(100).default([]),
  inhibit_rules: z.array(inhibitRuleSchema).max(50).default([]),
});
export type Routing = z.output<typeof routingSchema>;

/** The routing of an organization that never saved one: a critical alert mutes lower ones of its application and environment. */
export const DEFAULT_ROUTING: Routing = routingSchema.parse({
  inhibit_rules: [
    {
      source_matchers: [{ label: 'severity', op: '=', value: 'critical' }],
      target_matchers: [{ label: 'severity', op: '=~', value: 'low|medium|high' }],
      equal: ['application', 'environment'],
    },
  ],
});

export const silenceInputSchema = z
  .strictObject({
    matchers: z.array(matcherSchema).min(1, 'at least one matcher').max(20),
    starts_at: boundedIsoTime().optional(),
    ends_at: boundedIsoTime().optional(),
    duration: duration(60_000, 366 * 86_400_000).optional(),
    comment: text(1000).default(''),
  })
  .refine((s) => (s.ends_at === undefined) !== (s.duration === undefined), { message: 'give ends_at or duration (one of them)', path: ['ends_at'] });

const url = (protocols: RegExp) => z.url({ protocol: protocols, error: 'must be an http(s) URL' }).max(2000);
const httpUrl = url(/^https?$/);

export const channelSchemas = {
  pagerduty: {
    settings: z.strictObject({ url: httpUrl.default('https://events.pagerduty.com/v2/enqueue').describe('Events API v2 endpoint (events.eu.pagerduty.com in the EU).') }),
    secrets: z.strictObject({ routing_key: z.string().regex(/^[A-Za-z0-9]{32}$/, 'an integration (routing) key: 32 letters and digits') }),
  },
  slack: {
    settings: z.strictObject({}),
    secrets: z.strictObject({ webhook_url: httpUrl.describe('The incoming webhook URL (https://hooks.slack.com/services/...).') }),
  },
  webhook: {
    settings: z.strictObject({}),
    secrets: z.strictObject({
      url: httpUrl,
      signing_secret: z
        .string()
        .regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, 'whsec_ followed by base64 of 24 to 64 bytes (Standard Webhooks)')
        .optional()
        .describe('Generated (and shown once) when left out.'),
    }),
  },
  email: {
    settings: z.strictObject({
      host: z.string().min(1).max(255).regex(/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:.]+\]$/, 'a host name or address'),
      port: z.int().min(1).max(65_535).default(587),
      tls: z.enum(['starttls', 'implicit', 'none']).default('starttls').describe('starttls: required STARTTLS; implicit: TLS from the first byte (465); none: plain text.'),
      from: z.email().max(320),
      to: z.array(z.email().max(320)).min(1).max(50),
      username: z.string().min(1).max(320).optional(),
    }),
    secrets: z.strictObject({ password: z.string().min(1).max(1000).optional() }),
  },
} as const;
export type ChannelType = keyof typeof channelSchemas;
export const CHANNEL_TYPES = Object.keys(channelSchemas) as ChannelType[];

const channelCommon = { id: idSchema.optional(), name, enabled: z.boolean().default(true) };
export const channelInputSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...channelCommon, type: z.literal('pagerduty'), settings: channelSchemas.pagerduty.settings.default({ url: 'https://events.pagerduty.com/v2/enqueue' }), secrets: channelSchemas.pagerduty.secrets }),
  z.strictObject({ ...channelCommon, type: z.literal('slack'), settings: channelSchemas.slack.settings.default({}), secrets: channelSchemas.slack.secrets }),
  z.strictObject({ ...channelCommon, type: z.literal('webhook'), settings: channelSchemas.webhook.settings.default({}), secrets: channelSchemas.webhook.secrets }),
  z.strictObject({ ...channelCommon, type: z.literal('email'), settings: channelSchemas.email.settings, secrets: channelSchemas.email.secrets.default({}) }),
]);
export type ChannelInput = z.output<typeof channelInputSchema>;

/** Parses a stored or sent rule; throws a ZodError naming the paths. */
export function parseRule(document: unknown): Rule {
  return ruleSchema.parse(document);
}

export function parseRouting(document: unknown): Routing {
  return routingSchema.parse(document);
}

export function parseMatchers(document: unknown): Matcher[] {
  return z.array(matcherSchema).parse(document);
}
