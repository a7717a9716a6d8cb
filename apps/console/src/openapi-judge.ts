/**
 * The LLM judge's routes (judge.ts) in the console's OpenAPI document: the request schema comes from
 * tier 3's zod document (the key is write-only), the answers are described here. openapi.ts registers
 * the components and merges the paths.
 */
import { judgeDocumentSchema, judgeSettingsSchema } from '@metronis/topology-tier3';
import { z } from 'zod';
import type { OpenApiHelpers } from './openapi-alerts.js';

type Json = Record<string, unknown>;

const usage = z.strictObject({ day: z.string().describe('The UTC day, YYYY-MM-DD.'), tokens: z.number().int(), cost_usd: z.number(), calls: z.number().int() });

/** Components of the judge API, by name. */
export const judgeComponents = {
  ConsoleJudgeInput: judgeDocumentSchema,
  ConsoleJudgeView: z
    .strictObject({
      configured: z.boolean(),
      judge: judgeSettingsSchema.nullable().describe('The settings in effect (every default filled in); null when none is configured.'),
      api_key_set: z.boolean().describe('The key is never returned, only whether one is stored.'),
      version: z.number().int(),
      updated_at: z.string().nullable(),
      usage_today: usage.optional(),
      pending: z.number().int().optional().describe('Traces whose judgment is pending after transient provider failures (retried by the tier 3 workers).'),
    })
    .describe("The organization's judge (tier 3)."),
};

export function judgePaths(h: OpenApiHelpers): Json {
  const { security, json, error, body, bodyErrors, authErrors } = h;
  return {
    '/v1/judge': {
      get: { operationId: 'getJudge', summary: "The organization's LLM judge, today's spend and pending judgments; never the key (scope read or admin)", security, responses: { '200': json('ConsoleJudgeView', 'The judge.'), ...authErrors } },
      put: {
        operationId: 'putJudge',
        summary: 'Configure the LLM judge: provider, model, criteria, budget; api_key is sealed and never returned (scope admin, audited)',
        security,
        requestBody: body('ConsoleJudgeInput'),
        responses: {
          '200': json('ConsoleJudgeView', 'Saved, with its version.'),
          ...bodyErrors,
          '400': error("Malformed JSON (invalid_json), an invalid body (invalid_body), or a base_url inside the deployment's network (destination_refused: loopback, private, link-local or metadata addresses; the operator allows some with METRONIS_EGRESS_ALLOW). Issues name each path."),
          ...authErrors,
          '501': error('This deployment runs no judge (not_implemented).'),
          '503': error('No secrets key on this server (secrets_unavailable): set METRONIS_SECRETS_KEY.'),
        },
      },
      delete: {
        operationId: 'deleteJudge',
        summary: 'Remove the LLM judge (scope admin, audited)',
        security,
        responses: {
          '204': { description: 'Removed.' },
          ...authErrors,
          '404': error('No judge is configured (not_found).'),
          '409': error('The policy escalates to tier 3 (judge_in_use): disable that first.'),
        },
      },
    },
  };
}
