/**
 * An organization's judge: which provider and model, which criteria (each with its prompt version),
 * its daily budget and call limits. The document `PUT /v1/judge` accepts (validated here, with the
 * API key taken out and sealed by the console), and the cache the topology reads it through: the
 * sealed key is opened and the SDK client built once per saved version, never on the hot path.
 *
 * @example
 *   const config = parseJudgeConfig({ provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-...' });
 *   const judges = createJudgeConfigCache({ store: store.judge, secrets });
 *   const judge = await judges.get(orgId);   // { config, provider } or null when none is configured
 */
import type { EgressPolicy, JudgeStore, SecretBox } from '@metronis/stores';
import { z } from 'zod';
import { CRITERIA, CRITERION_NAMES, type CriterionName } from './criteria.js';
import { egressFetch } from './egress-fetch.js';
import { createProvider, type JudgeProvider } from './providers.js';

const price = z.strictObject({
  input_per_mtok: z.number().min(0).max(10_000),
  output_per_mtok: z.number().min(0).max(10_000),
});

const criterion = z.strictObject({
  name: z.enum(CRITERION_NAMES),
  version: z.string().regex(/^v\d+$/, 'a prompt version is v<number>, e.g. v1').optional(),
});

export const DEFAULT_CRITERIA: readonly CriterionName[] = CRITERION_NAMES;

const settingsShape = {
  provider: z.enum(['openai', 'anthropic', 'openai_compatible']),
  model: z.string().min(1).max(200),
  api: z.enum(['chat', 'responses']).default('chat').describe('OpenAI only: Chat Completions or the Responses API.'),
  base_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2_000).nullable().default(null).describe('Required for openai_compatible (vLLM, Ollama, LM Studio, LiteLLM); a proxy for the others.'),
  response_format: z.enum(['json_schema', 'json_object']).default('json_schema').describe('openai_compatible only: json_object for servers without JSON-schema output.'),
  criteria: z
    .array(criterion)
    .min(1)
    .max(CRITERION_NAMES.length)
    .default(DEFAULT_CRITERIA.map((name) => ({ name })))
    .refine((list) => new Set(list.map((c) => c.name)).size === list.length, { message: 'each criterion at most once' }),
  budget: z
    .strictObject({
      daily_tokens: z.number().int().min(0).max(1e12).nullable().default(2_000_000),
      daily_usd: z.number().min(0).max(1e6).nullable().default(10),
    })
    .prefault({})
    .describe('Per UTC day; null is no limit. Past it, traces are labelled not_judged:budget_exhausted.'),
  price: price.nullable().default(null).describe('USD per million tokens, for a model the price table lacks.'),
  temperature: z.number().min(0).max(2).nullable().default(null).describe('OpenAI and compatible servers: 0 for repeatable judgments on models that take one; null leaves it to the provider (reasoning models refuse one).'),
  timeout_ms: z.number().int().min(1_000).max(300_000).default(60_000),
  max_output_tokens: z.number().int().min(64).max(8_192).default(600),
};

type SettingsValue = z.output<z.ZodObject<typeof settingsShape>>;

function checkSettings(value: SettingsValue, ctx: z.RefinementCtx): void {
  if (value.provider === 'openai_compatible' && value.base_url === null) ctx.addIssue({ code: 'custom', path: ['base_url'], message: 'is required for openai_compatible' });
  // The settings are stored in the clear and shown to readers: a credential belongs in api_key, which is sealed.
  if (value.base_url !== null && /^[a-z]+:\/\/[^/]*@/i.test(value.base_url)) ctx.addIssue({ code: 'custom', path: ['base_url'], message: 'must not carry credentials (user:password@); put the key in api_key, which is sealed' });
  if (value.api === 'responses' && value.provider !== 'openai') ctx.addIssue({ code: 'custom', path: ['api'], message: 'responses is the OpenAI Responses API: only with provider openai' });
  value.criteria.forEach((c, i) => {
    if (c.version !== undefined && !Object.hasOwn(CRITERIA[c.name].versions, c.version)) {
      ctx.addIssue({ code: 'custom', path: ['criteria', i, 'version'], message: `${c.name}@${c.version} is not shipped (shipped: ${Object.keys(CRITERIA[c.name].versions).join(', ')})` });
    }
  });
}

/** The judge configuration without its key (what is stored in the clear and answered by GET). */
export const judgeSettingsSchema = z.strictObject(settingsShape).superRefine(checkSettings);
export type JudgeSettings = z.output<typeof judgeSettingsSchema>;

/** The whole document of `PUT /v1/judge`: the settings and the key (optional when one is stored already). */
export const judgeDocumentSchema = z
  .strictObject({ ...settingsShape, api_key: z.string().min(1).max(4_000).regex(/^\S+$/, 'must not contain spaces').optional().describe('Sealed at rest; never returned.') })
  .superRefine(checkSettings);

export class JudgeConfigError extends Error {
  override readonly name = 'JudgeConfigError';
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid judge configuration: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

/** Splits and validates a `PUT /v1/judge` body: the settings, and the key when one was given. */
export function parseJudgeConfig(input: unknown): { settings: JudgeSettings; apiKey: string | null } {
  const parsed = judgeDocumentSchema.safeParse(input);
  if (!parsed.success) throw new JudgeConfigError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
  const { api_key, ...settings } = parsed.data;
  return { settings, apiKey: api_key ?? null };
}

/** The criteria to judge with their prompt versions (the latest shipped one when the org names none). */
export function criteriaOf(settings: JudgeSettings): { name: CriterionName; version: string }[] {
  return settings.criteria.map((c) => ({ name: c.name, version: c.version ?? CRITERIA[c.name].latest }));
}

/** The AAD of an org's sealed judge key: a sealed value copied to another org does not open. */
export const judgeSecretContext = (orgId: string) => `judge_provider:${orgId}`;

export interface OrgJudge {
  version: number;
  settings: JudgeSettings;
  provider: JudgeProvider;
}

export interface JudgeConfigSource {
  /** The org's judge, or null when it configured none. */
  get(orgId: string): Promise<OrgJudge | null>;
  invalidate(orgId: string): void;
}

export interface JudgeConfigCacheOptions {
  store: Pick<JudgeStore, 'getProvider'>;
  secrets: SecretBox;
  /** How long a looked-up configuration is trusted (default 10 s: a change applies within it everywhere). */
  ttlMs?: number;
  /** The provider clients' fetch (tests); by default the global fetch, or one under `egress` when given. */
  fetch?: typeof fetch;
  /** What the providers may connect to (egress-fetch.ts); without it, anything. */
  egress?: Pick<EgressPolicy, 'checkUrl' | 'lookup'>;
  now?: () => number;
}

export function createJudgeConfigCache(options: JudgeConfigCacheOptions): JudgeConfigSource {
  const ttlMs = options.ttlMs ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { at: number; judge: Promise<OrgJudge | null> }>();
  const clients = new Map<string, { version: number; judge: OrgJudge }>();
  const fetchImpl = options.fetch ?? (options.egress === undefined ? undefined : egressFetch(options.egress));

  async function load(orgId: string): Promise<OrgJudge | null> {
    const stored = await options.store.getProvider(orgId);
    if (stored === null) return null;
    const known = clients.get(orgId);
    if (known !== undefined && known.version === stored.version) return known.judge;
    const settings = judgeSettingsSchema.parse(stored.settings);
    const apiKey = options.secrets.open(stored.secret, judgeSecretContext(orgId));
    const provider = createProvider(
      {
        provider: settings.provider,
        model: settings.model,
        apiKey,
        baseUrl: settings.base_url ?? undefined,
        api: settings.api,
        responseFormat: settings.response_format,
        temperature: settings.temperature ?? undefined,
      },
      fetchImpl,
    );
    const judge = { version: stored.version, settings, provider };
    clients.set(orgId, { version: stored.version, judge });
    return judge;
  }

  return {
    get(orgId) {
      const entry = entries.get(orgId);
      if (entry !== undefined && now() - entry.at < ttlMs) return entry.judge;
      const judge = load(orgId);
      entries.set(orgId, { at: now(), judge });
      // A failed lookup is not cached: the next record asks again.
      judge.catch(() => entries.delete(orgId));
      return judge;
    },
    invalidate(orgId) {
      entries.delete(orgId);
    },
  };
}
