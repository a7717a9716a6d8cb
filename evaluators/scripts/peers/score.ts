/**
 * Scoring for `npm run eval:peers`: each tool's own entity types mapped onto the evaluation's types
 * (TYPE_MAP, documented in EVALUATION.md), then span-overlap matching against the labels.
 *
 * - A labelled value counts as found (TP) when a prediction whose mapped types include its type
 *   overlaps it; otherwise it is missed (FN).
 * - A prediction that overlaps no non-example label of one of its mapped types is a false alarm (FP),
 *   counted under its `fpAs` type. A prediction on a documented example value is such a false alarm,
 *   and is also counted in the `examples flagged` column.
 * - A tool's types absent from TYPE_MAP (Presidio's URL, DATE_TIME, US_BANK_NUMBER…) are not scored:
 *   the evaluation has no labels for them. They are counted and listed.
 *
 * @example
 *   const score = scoreTool('metronis', texts, predictions); // → { perType: { phone: { tp, fp, fn } … } … }
 */
import { EVAL_TYPES, type EvalType, type LabelledText } from './generate.js';

export const TOOLS = ['metronis', 'presidio', 'detect_secrets'] as const;
export type Tool = (typeof TOOLS)[number];
export const TOOL_NAME: Record<Tool, string> = { metronis: 'Metronis Tier 1', presidio: 'Presidio', detect_secrets: 'detect-secrets' };

export interface Prediction {
  type: string;
  start: number;
  end: number;
}

/** Where a generic secret rule's false alarms go when it flags something that is no labelled secret. */
export const OTHER_SECRET = 'other_secret';
export type ScoredType = EvalType | typeof OTHER_SECRET;

interface Mapping {
  /** Evaluation types a prediction of this tool type can find. */
  finds: readonly EvalType[];
  /** Where its false alarms are counted. */
  fpAs: ScoredType;
}
const SECRETS: readonly EvalType[] = ['password', 'aws_access_key', 'github_token', 'private_key'];
const only = (t: EvalType): Mapping => ({ finds: [t], fpAs: t });
const keyword: Mapping = { finds: SECRETS, fpAs: 'password' };
const generic: Mapping = { finds: SECRETS, fpAs: OTHER_SECRET };

/** Each tool's types → evaluation types. */
export const TYPE_MAP: Record<Tool, Record<string, Mapping>> = {
  metronis: {
    email: only('email'),
    phone: only('phone'),
    credit_card: only('credit_card'),
    iban: only('iban'),
    us_ssn: only('us_ssn'),
    ip_address: only('ip_address'),
    aws_access_key_id: only('aws_access_key'),
    github_token: only('github_token'),
    private_key: only('private_key'),
    url_password: only('password'),
    password: only('password'),
    generic_secret: keyword,
    bearer_token: generic,
    gitlab_token: generic,
    slack_token: generic,
    slack_webhook: generic,
    google_api_key: generic,
    stripe_secret_key: generic,
    jwt: generic,
  },
  presidio: {
    EMAIL_ADDRESS: only('email'),
    PHONE_NUMBER: only('phone'),
    CREDIT_CARD: only('credit_card'),
    IBAN_CODE: only('iban'),
    US_SSN: only('us_ssn'),
    IP_ADDRESS: only('ip_address'),
  },
  detect_secrets: {
    'AWS Access Key': only('aws_access_key'),
    'GitHub Token': only('github_token'),
    'Private Key': only('private_key'),
    'Basic Auth Credentials': only('password'),
    'Secret Keyword': keyword,
    'Base64 High Entropy String': generic,
    'Hex High Entropy String': generic,
    'JSON Web Token': generic,
    'Slack Token': generic,
    'Stripe Access Key': generic,
    'Artifactory Credentials': generic,
    'Azure Storage Account access key': generic,
    'Discord Bot Token': generic,
    'GitLab Token': generic,
    'IBM Cloud IAM Key': generic,
    'IBM COS HMAC Credentials': generic,
    'Mailchimp Access Key': generic,
    'NPM tokens': generic,
    'OpenAI Token': generic,
    'PyPI Token': generic,
    'SendGrid API Key': generic,
    'Square OAuth Secret': generic,
    'Telegram Bot Token': generic,
    'Twilio API Key': generic,
    'Cloudant Credentials': generic,
    'SoftLayer Credentials': generic,
  },
};

/** Evaluation types each tool has a detector for (others are shown as "no detector"). */
export const COVERS: Record<Tool, readonly EvalType[]> = {
  metronis: EVAL_TYPES,
  presidio: ['email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip_address'],
  detect_secrets: SECRETS,
};

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
  examplesFlagged: number;
}
export interface ToolScore {
  perType: Record<ScoredType, Counts>;
  /** Recall per `type/variant`: [found, labelled]. */
  perVariant: Record<string, [number, number]>;
  /** Predictions of types the evaluation does not score, by type. */
  unmapped: Record<string, number>;
}

const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;
const zero = (): Counts => ({ tp: 0, fp: 0, fn: 0, examplesFlagged: 0 });

export function scoreTool(tool: Tool, texts: readonly LabelledText[], predictions: Record<string, readonly Prediction[]>): ToolScore {
  const perType = Object.fromEntries([...EVAL_TYPES, OTHER_SECRET].map((t) => [t, zero()])) as Record<ScoredType, Counts>;
  const perVariant: Record<string, [number, number]> = {};
  const unmapped: Record<string, number> = {};
  for (const text of texts) {
    const mapped: Array<Prediction & Mapping> = [];
    for (const p of predictions[text.id] ?? []) {
      const m = TYPE_MAP[tool][p.type];
      if (m === undefined) unmapped[p.type] = (unmapped[p.type] ?? 0) + 1;
      else mapped.push({ ...p, ...m });
    }
    for (const label of text.spans) {
      if (label.example === true) continue;
      const found = mapped.some((p) => p.finds.includes(label.type) && overlaps(p, label));
      const key = `${label.type}/${label.variant}`;
      const v = (perVariant[key] ??= [0, 0]);
      v[1]++;
      if (found) {
        perType[label.type].tp++;
        v[0]++;
      } else perType[label.type].fn++;
    }
    for (const p of mapped) {
      const hits = text.spans.filter((l) => overlaps(p, l) && p.finds.includes(l.type));
      if (hits.some((l) => l.example !== true)) continue;
      perType[p.fpAs].fp++;
      if (hits.length > 0) perType[p.fpAs].examplesFlagged++;
    }
  }
  return { perType, perVariant, unmapped };
}

export const precision = (c: Counts) => (c.tp + c.fp === 0 ? null : c.tp / (c.tp + c.fp));
export const recall = (c: Counts) => (c.tp + c.fn === 0 ? null : c.tp / (c.tp + c.fn));
export function f1(c: Counts): number | null {
  const p = precision(c);
  const r = recall(c);
  return p === null || r === null || p + r === 0 ? null : (2 * p * r) / (p + r);
}
