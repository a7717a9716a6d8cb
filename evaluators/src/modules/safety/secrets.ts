/**
 * Secret detection in model output: credentials that must never be shown to a user or stored. Known
 * formats are matched by their published shapes (PEM private keys with a body, AWS access key ids,
 * GitHub/GitLab/Slack tokens, Google API keys, Stripe secret keys, JWTs whose header decodes); a
 * generic `name = value` rule catches the rest, gated by Shannon entropy so placeholders, UUIDs, hex
 * hashes and base64 images do not fire. Documentation examples (AKIAIOSFODNN7EXAMPLE) are skipped.
 *
 * @example
 *   detectSecrets('export AWS_ACCESS_KEY_ID=AKIA2OGYBAH6TGNJ5K7Q') // → [{ type: 'aws_access_key_id', start: 25, end: 45 }]
 */

export interface SecretMatch {
  type: string;
  start: number;
  end: number;
}

interface Rule {
  type: string;
  re: RegExp;
  /** Extra check on the match (true = keep). */
  accept?: (value: string) => boolean;
  /** Literal that every match contains: a cheap `includes` before the regex runs. */
  hint?: string;
}

const RULES: Rule[] = [
  { type: 'private_key', hint: 'PRIVATE KEY', re: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |ED25519 )?PRIVATE KEY(?: BLOCK)?-----[ \t]*\r?\n(?:[A-Za-z0-9-]+: [^\n]*\r?\n)*(?:[ \t]*\r?\n)?[A-Za-z0-9+/=]{40,}/g },
  { type: 'aws_access_key_id', re: /\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16}\b/g, accept: (v) => !v.endsWith('EXAMPLE') && entropy(v.slice(4)) > 2.5 },
  { type: 'github_token', hint: 'g', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b/g, accept: notPlaceholder },
  { type: 'gitlab_token', hint: 'gl', re: /\b(?:glpat|gldt|glrt|glptt|glsoat|glft|glimt|glagent|glcbt|gloas)-[A-Za-z0-9_-]{20,64}(?![A-Za-z0-9_-])/g, accept: notPlaceholder },
  { type: 'slack_token', hint: 'x', re: /\bxox[abposr]-(?:\d+-)+[A-Za-z0-9-]{10,}\b|\bxapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{32,}\b/g, accept: notPlaceholder },
  { type: 'slack_webhook', hint: 'hooks.slack.com', re: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,}\/B[A-Z0-9]{6,}\/[A-Za-z0-9]{20,}/g, accept: notPlaceholder },
  { type: 'google_api_key', hint: 'AIza', re: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g, accept: notPlaceholder },
  { type: 'stripe_secret_key', hint: 'k_', re: /\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,99}\b/g, accept: notPlaceholder },
  { type: 'jwt', hint: 'eyJ', re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}/g, accept: jwtHeaderDecodes },
];

// Generic: a secret-sounding name, an assignment, then a quoted or bare value. The rest of the name is
// bounded: unbounded, every secret-sounding word of a long identifier retried to its end (quadratic).
const GENERIC =
  /(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|client[_-]?secret|credentials?)[A-Za-z0-9_.-]{0,64}["']?\s*(?:=|:|=>|:=)\s*["'`]?([^\s"'`,;)}\]]{12,200})/gi;
const BEARER = /\bAuthorization:\s*Bearer\s+([A-Za-z0-9._~+/-]{24,}=*)/gi;
const PLACEHOLDER = /your|xxx|\*\*\*|\.\.\.|<|>|\$\{|\{\{|example|sample|dummy|changeme|placeholder|redacted|insert|replace|process\.env|os\.environ|getenv|env\[|secrets\.|config\.|settings\.|abcdef|123456|\btest\b/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX_HASH = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$/i;
const GENERIC_WORDS = ['pass', 'pwd', 'secret', 'token', 'key', 'credential', 'bearer'];

function notPlaceholder(v: string): boolean {
  return !/x{8,}|X{8,}|0{8,}|EXAMPLE|example|your_?|<|>/.test(v);
}

function jwtHeaderDecodes(v: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(v.slice(0, v.indexOf('.')), 'base64url').toString('utf8')) as unknown;
    return typeof header === 'object' && header !== null && 'alg' in header;
  } catch {
    return false;
  }
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) counts.set(s.charCodeAt(i), (counts.get(s.charCodeAt(i)) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

export interface SecretOptions {
  /** Bits per character a generic `name = value` secret needs (default 3.5). */
  minEntropy: number;
}

export function detectSecrets(text: string, options: SecretOptions): SecretMatch[] {
  const out: SecretMatch[] = [];
  const covered = (s: number, e: number) => out.some((m) => s < m.end && m.start < e);
  for (const rule of RULES) {
    if (rule.hint !== undefined && !text.includes(rule.hint)) continue;
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(text); m !== null; m = rule.re.exec(text)) {
      if (rule.accept !== undefined && !rule.accept(m[0])) continue;
      out.push({ type: rule.type, start: m.index, end: m.index + m[0].trimEnd().length });
    }
  }
  const lower = text.toLowerCase();
  if (!GENERIC_WORDS.some((w) => lower.includes(w))) return out;
  for (const re of [GENERIC, BEARER]) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const value = m[m.length - 1] as string;
      const start = m.index + m[0].lastIndexOf(value);
      const end = start + value.length;
      if (covered(start, end) || !looksSecret(value, options.minEntropy)) continue;
      out.push({ type: re === BEARER ? 'bearer_token' : 'generic_secret', start, end });
    }
  }
  return out;
}

function looksSecret(value: string, minEntropy: number): boolean {
  if (PLACEHOLDER.test(value) || UUID.test(value) || HEX_HASH.test(value)) return false;
  if (/^(?:https?:|data:|file:|\/|\.\/|~\/)/i.test(value)) return false; // URLs, data URIs, paths
  if (/^[A-Za-z_][A-Za-z0-9_.]*\(?$/.test(value) && !/\d/.test(value)) return false; // identifiers (get_token, self.secret)
  let classes = 0;
  if (/[a-z]/.test(value)) classes++;
  if (/[A-Z]/.test(value)) classes++;
  if (/\d/.test(value)) classes++;
  if (/[^A-Za-z0-9]/.test(value)) classes++;
  return classes >= 2 && entropy(value) >= minEntropy;
}
