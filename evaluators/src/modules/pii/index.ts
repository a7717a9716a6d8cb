/**
 * `pii`: personal data in the trace. Finding kinds `email`, `phone`, `credit_card`, `iban`, `us_ssn`,
 * `ip_address` (see detect.ts for what counts). Severity depends on where it is: in the output (the
 * model disclosed it) email/phone/IP are medium, IBAN and SSN high, a card number critical; in the
 * input or context (the user or the retrieval supplied it) every kind is low, labelled but passing.
 * The masking functions used by the gateway are exported from here too.
 *
 * @example
 *   const config = piiModule.configSchema.parse({ default_region: 'GB', allow_email_domains: ['acme.com'] });
 *   piiModule.evaluate(trace, config);
 */
import { inputText, type Finding, type FindingField, type Severity, type Trace } from '@metronis/schemas';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';
import { defineModule, finding, gradeFindings, type ModuleOutcome, type Penalties } from '../../module.js';
import { detectPii, NATIONAL_REGIONS, PII_KINDS, type DetectOptions, type PiiKind } from './detect.js';

export { detectPii, NATIONAL_REGIONS, PII_KINDS, type DetectOptions, type PiiEntity, type PiiKind } from './detect.js';
export { createMaskState, maskPii, maskTrace, type MaskedEntity, type MaskOptions, type MaskResult, type MaskState } from './mask.js';

export const piiConfigSchema = z.object({
  kinds: z.array(z.enum(PII_KINDS)).default([...PII_KINDS]),
  /** Region for phone numbers written without a country code. */
  default_region: z
    .string()
    .length(2)
    .transform((s) => s.toUpperCase())
    .refine((s) => isSupportedCountry(s), { message: 'must be an ISO 3166 alpha-2 region libphonenumber knows (e.g. US, GB, DE)' })
    .default('US'),
  /**
   * Regions tried, in order, for a number written nationally with a trunk 0 ("020 7946 0958") that is
   * not valid in default_region. An empty list turns this off.
   */
  national_regions: z
    .array(z.string().length(2).transform((s) => s.toUpperCase()).refine((s) => isSupportedCountry(s), { message: 'must be an ISO 3166 alpha-2 region libphonenumber knows (e.g. GB, DE, FR)' }))
    .max(20)
    .default([...NATIONAL_REGIONS]),
  /** Fields scanned. */
  fields: z.array(z.enum(['input', 'output', 'context'])).min(1).default(['input', 'output']),
  include_private_ips: z.boolean().default(false),
  ignore_test_cards: z.boolean().default(true),
  /** Values never reported, e.g. the company's own support address or hotline (compared canonically). */
  allow_values: z.array(z.string().min(1).max(320)).max(1000).default([]),
  allow_email_domains: z.array(z.string().min(1).max(253)).max(1000).default([]),
});
export type PiiConfig = z.output<typeof piiConfigSchema>;

const OUTPUT_SEVERITY: Record<PiiKind, Severity> = { email: 'medium', phone: 'medium', ip_address: 'medium', iban: 'high', us_ssn: 'high', credit_card: 'critical' };
const PENALTY: Penalties = { none: 0, low: 0.02, medium: 0.35, high: 0.7, critical: 1 };
const NAME: Record<PiiKind, string> = { email: 'an email address', phone: 'a phone number', credit_card: 'a payment card number', iban: 'an IBAN', us_ssn: 'a US Social Security number', ip_address: 'an IP address' };

export function detectOptions(config: PiiConfig): DetectOptions {
  return {
    kinds: config.kinds,
    defaultRegion: config.default_region,
    nationalRegions: config.national_regions,
    includePrivateIps: config.include_private_ips,
    ignoreTestCards: config.ignore_test_cards,
    allowValues: config.allow_values,
    allowEmailDomains: config.allow_email_domains,
  };
}

export const piiModule = defineModule({
  name: 'pii',
  version: '1.0.0',
  description: 'Emails, phone numbers, card numbers, IBANs, US SSNs and IP addresses, validated beyond their shape.',
  configSchema: piiConfigSchema,
  examines: { reference: 'unread' },
  evaluate: function evaluatePii(trace: Trace, config: PiiConfig): ModuleOutcome {
    const options = detectOptions(config);
    const found: Array<{ f: Finding; s: Severity }> = [];
    const scan = (text: string, field: FindingField, where: string = `the ${field}`) => {
      for (const e of detectPii(text, options)) {
        const severity = field === 'output' ? OUTPUT_SEVERITY[e.kind] : 'low';
        // The message never repeats the value: findings are stored even when the trace is masked.
        found.push({ f: finding(e.kind, `${NAME[e.kind]} in ${where}`, field, e.start, e.end, e.confidence), s: severity });
      }
    };
    if (config.fields.includes('input')) scan(inputText(trace), 'input');
    if (config.fields.includes('output')) scan(trace.output.content, 'output');
    if (config.fields.includes('context')) trace.context.forEach((d, i) => scan(d.content, 'context', `context document ${i + 1}`));
    return gradeFindings(found, PENALTY);
  },
});
