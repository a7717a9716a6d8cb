/**
 * Secret detection in model output: credentials that must never be shown to a user or stored. Known
 * formats are matched by their published shapes (PEM private keys with a body — also indented in YAML
 * or JSON-escaped with `\n` as in service-account files —, AWS access key ids, GitHub/GitLab/Slack
 * tokens, Google API keys, Stripe secret keys, JWTs whose header decodes). Passwords are found where
 * they are named: in the user-info of a URL (`postgres://app:pw@db`) and assigned to a password-named
 * key (`DB_PASSWORD=Summer2024!`), human-chosen ones included, unless the value is a placeholder, an
 * environment lookup, a type or code. A generic `name = value` rule catches the rest, gated by Shannon
 * entropy so placeholders, UUIDs, hex hashes and base64 images do not fire. Documentation examples
 * (AKIAIOSFODNN7EXAMPLE, user:password@localhost) are skipped.
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
  // Line breaks are real or JSON-escaped (`\n`), lines may be indented (a YAML block scalar).
  { type: 'private_key', hint: 'PRIVATE KEY', re: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |ED25519 )?PRIVATE KEY(?: BLOCK)?-----[ \t]*(?:\r?\n|\\(?:r\\)?n)(?:[ \t]*[A-Za-z0-9-]+: [^\n\\]*(?:\r?\n|\\(?:r\\)?n))*(?:[ \t]*(?:\r?\n|\\(?:r\\)?n))?[ \t]*[A-Za-z0-9+/=]{40,}/g },
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
// A password in a URL's user-info: scheme://[user]:password@host. Each part is bounded and excludes
// the delimiters that end it, so a failed try costs at most a few hundred characters.
const URL_PASSWORD = /\b[A-Za-z][A-Za-z0-9+.-]{1,30}:\/\/[^\s:/?#@"'<>]{0,128}:([^\s/?#@"'<>]{1,256})@(?=[A-Za-z0-9[])/g;
// A value assigned to a key that ends in a password word (password, DB_PASSWORD, db_pass, --password,
// PGPASSWORD, "password": …); quoted or bare.
const PASSWORD_ASSIGNMENT = /(pass(?:word|wd|phrase)?|pwd)\d?["']?[ \t]*(?:=|:|=>|:=)[ \t]*(?:(["'`])([^"'`\s]{4,128})\2|([^\s"'`,;)}\]]{4,128}))/gi;
// Values that name no password: placeholders, types, null-likes and the words of documentation.
const NOT_A_PASSWORD = /^(?:pass(?:word)?1?|passwd|pwd|secret|changeme|change_me|admin|root|test(?:ing)?|default|none|null|nil|undefined|true|false|empty|required|optional|str(?:ing)?|bytes|int|number|text|hidden|masked|redacted|hunter2|(?:my|your)_?password|p@ssw0rd|x+|\*+|\.+|-+|%s)[!?]?$/i; // String! and string? are types
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
  if (text.includes('://')) {
    URL_PASSWORD.lastIndex = 0;
    for (let m = URL_PASSWORD.exec(text); m !== null; m = URL_PASSWORD.exec(text)) {
      const value = m[1]!;
      const start = m.index + m[0].length - 1 - value.length;
      if (!covered(start, start + value.length) && plausiblePassword(value, true)) out.push({ type: 'url_password', start, end: start + value.length });
    }
  }
  const lower = text.toLowerCase();
  if (lower.includes('pass') || lower.includes('pwd')) {
    PASSWORD_ASSIGNMENT.lastIndex = 0;
    for (let m = PASSWORD_ASSIGNMENT.exec(text); m !== null; m = PASSWORD_ASSIGNMENT.exec(text)) {
      const [all, word, , quoted, bare] = m as unknown as [string, string, string | undefined, string | undefined, string | undefined];
      // "pass" alone must start its word: bypass, compass and passes are not keys.
      if (word.length === 4 && word.toLowerCase() === 'pass' && m.index > 0 && /[A-Za-z]/.test(text[m.index - 1]!)) continue;
      const value = (quoted ?? bare)!;
      const start = m.index + all.length - value.length - (quoted === undefined ? 0 : 1);
      if (covered(start, start + value.length) || !plausiblePassword(value, quoted !== undefined)) continue;
      out.push({ type: 'password', start, end: start + value.length });
    }
  }
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

/**
 * A named password value people could have chosen: not a placeholder, template, environment lookup,
 * type or code. Bare (unquoted) values must also not read as an identifier: `password = secret_value`
 * assigns a variable; `DB_PASSWORD=bluebird680` is a password.
 */
function plausiblePassword(value: string, quoted: boolean): boolean {
  if (value.length < 4 || NOT_A_PASSWORD.test(value) || PLACEHOLDER_PASSWORD.test(value)) return false;
  if (/^(?:\$|%\(|%s$)/.test(value) || /^\d{1,5}$/.test(value)) return false; // $DB_PASSWORD, %(password)s, a port
  if (!quoted) {
    if (/^[A-Za-z_][\w.]*[([]/.test(value)) return false; // getpass(, os.environ[
    if (/^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$/.test(value)) return false; // self.password, settings.DB_PASSWORD
    // A bare word is a variable or a type, unless it is long and random (NTlHYZZTBMpeKrpmSA).
    if (/^[A-Za-z_]+$/.test(value) && (value.length < 12 || entropy(value) < 3.5)) return false;
  }
  return entropy(value) >= 2;
}
// Like PLACEHOLDER, less strict: people do choose "test1234" or "letmein123456" as passwords.
const PLACEHOLDER_PASSWORD = /your|xxx|\*\*\*|\.\.\.|<|>|\$\{|\{\{|example|sample|dummy|changeme|placeholder|redacted|insert|replace|process\.env|os\.environ|getenv|env\[|secrets\.|config\.|settings\./i;

function looksSecret(value: string, minEntropy: number): boolean {
  if (PLACEHOLDER.test(value) || UUID.test(value) || HEX_HASH.test(value)) return false;
  if (/^(?:https?:|data:|file:|\/|\.\/|~\/)/i.test(value)) return false; // URLs, data URIs, paths
  if (/^[A-Za-z_][A-Za-z0-9_.]*\(?$/.test(value) && !/\d/.test(value)) return false; // identifiers (get_token, self.secret)
  if (/^[A-Za-z_][A-Za-z0-9_.]*\(/.test(value)) return false; // a call (bcrypt.hashSync(plain, 10))
  let classes = 0;
  if (/[a-z]/.test(value)) classes++;
  if (/[A-Z]/.test(value)) classes++;
  if (/\d/.test(value)) classes++;
  if (/[^A-Za-z0-9]/.test(value)) classes++;
  return classes >= 2 && entropy(value) >= minEntropy;
}
