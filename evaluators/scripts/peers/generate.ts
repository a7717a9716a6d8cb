/**
 * The labelled texts of `npm run eval:peers`, generated from a fixed seed: the same seed gives the same
 * texts on every machine. Values are valid beyond their shape (Luhn cards with issuer prefixes, mod-97
 * IBANs, SSNs in the SSA's ranges, phone numbers libphonenumber calls valid in their region, GitHub
 * tokens with their CRC-32 checksum), written the way traffic carries them: national phone formats
 * with and without the country code, PEM keys plain, indented in YAML and JSON-escaped, passwords in
 * connection URLs and in assignments. Hard negatives carry no label (section numbers, versions,
 * confirmation and order numbers, code that reads a password from the environment); documented
 * example values (AKIAIOSFODNN7EXAMPLE, 123-45-6789, user:password@localhost) are labelled with
 * `example: true`: flagging one counts as a false alarm.
 *
 * @example
 *   const texts = generateTexts(7); // → [{ id: 'phone-0001', text: 'Call 020 7946 0321 …', spans: [...] }, …]
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { ibanValid, luhn } from '../../src/modules/pii/validators.js';

export const EVAL_TYPES = ['email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'aws_access_key', 'github_token', 'private_key', 'password'] as const;
export type EvalType = (typeof EVAL_TYPES)[number];

export interface LabelledSpan {
  type: EvalType;
  start: number;
  end: number;
  /** How the value is written (e.g. `uk-national`, `pem-json-escaped`): recall is also reported per variant. */
  variant: string;
  /** A documented example value: not personal data, not a live secret; a detection is a false alarm. */
  example?: true;
}

export interface LabelledText {
  id: string;
  /** The generator that wrote it (an entity type, or `negative` for hard negatives). */
  group: EvalType | 'negative';
  text: string;
  spans: LabelledSpan[];
}

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const digits = (r: Rand, n: number) => Array.from({ length: n }, () => String(int(r, 0, 9))).join('');
const chars = (r: Rand, alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A text assembled from literal parts and labelled values; spans are computed as it is built. */
class Builder {
  text = '';
  spans: LabelledSpan[] = [];
  add(s: string): this {
    this.text += s;
    return this;
  }
  value(type: EvalType, value: string, variant: string, example = false): this {
    const start = this.text.length;
    this.text += value;
    this.spans.push({ type, start, end: this.text.length, variant, ...(example ? { example: true as const } : {}) });
    return this;
  }
}

/** `t` is a template: `{}` marks where the value goes. */
function sentence(template: string, type: EvalType, value: string, variant: string, example = false): Builder {
  const at = template.indexOf('{}');
  return new Builder().add(template.slice(0, at)).value(type, value, variant, example).add(template.slice(at + 2));
}

// ---------------------------------------------------------------- checksummed values

/** A PAN with the brand's prefix and length and a valid Luhn check digit. */
export function cardNumber(r: Rand, brand: 'visa' | 'mastercard' | 'amex' | 'discover'): string {
  const prefix = brand === 'visa' ? '4' : brand === 'mastercard' ? String(int(r, 51, 55)) : brand === 'amex' ? pick(r, ['34', '37']) : '6011';
  const length = brand === 'amex' ? 15 : 16;
  const body = prefix + digits(r, length - prefix.length - 1);
  for (let d = 0; d <= 9; d++) if (luhn(body + d)) return body + d;
  throw new Error('unreachable: one check digit always satisfies Luhn');
}

function groupCard(pan: string, sep: string): string {
  if (pan.length === 15) return [pan.slice(0, 4), pan.slice(4, 10), pan.slice(10)].join(sep);
  return pan.match(/.{4}/g)!.join(sep);
}

/** ISO 13616 check digits for a country and BBAN. */
export function ibanFor(country: string, bban: string): string {
  const numeric = (bban + country + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let remainder = 0;
  for (const c of numeric) remainder = (remainder * 10 + Number(c)) % 97;
  const check = String(98 - remainder).padStart(2, '0');
  const iban = country + check + bban;
  if (!ibanValid(iban)) throw new Error(`generated an invalid IBAN ${iban}`);
  return iban;
}

function randomIban(r: Rand): string {
  const country = pick(r, ['DE', 'GB', 'FR', 'NL', 'ES'] as const);
  const upper = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const bban =
    country === 'DE' ? digits(r, 18)
    : country === 'GB' ? chars(r, upper, 4) + digits(r, 14)
    : country === 'FR' ? digits(r, 23)
    : country === 'NL' ? chars(r, upper, 4) + digits(r, 10)
    : digits(r, 20);
  return ibanFor(country, bban);
}

/** Area 001–899 except 666, group 01–99, serial 0001–9999 (the SSA's rules since 2011). */
export function ssn(r: Rand): [string, string, string] {
  let area = int(r, 1, 899);
  if (area === 666) area = 667;
  return [String(area).padStart(3, '0'), String(int(r, 1, 99)).padStart(2, '0'), String(int(r, 1, 9999)).padStart(4, '0')];
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function base62(n: number, width: number): string {
  let s = '';
  for (let v = n; v > 0; v = Math.floor(v / 62)) s = ALNUM[v % 62] + s;
  return s.padStart(width, '0');
}
/** A classic GitHub token: prefix, 30 random characters, then their CRC-32 in base62 (6 characters). */
export function githubToken(r: Rand, prefix: 'ghp' | 'gho' | 'ghs' | 'ghu'): string {
  const body = chars(r, ALNUM, 30);
  return `${prefix}_${body}${base62(crc32(body), 6)}`;
}
export function githubTokenValid(token: string): boolean {
  const m = /^gh[pousr]_([A-Za-z0-9]{30})([A-Za-z0-9]{6})$/.exec(token);
  return m !== null && base62(crc32(m[1]!), 6) === m[2];
}

export function awsKeyId(r: Rand): string {
  return pick(r, ['AKIA', 'ASIA']) + chars(r, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16);
}

/** A PEM private key: header, 64-column base64 lines of a DER-looking body, footer. */
function pemKey(r: Rand, label: string): string[] {
  const bytes = Buffer.from(Array.from({ length: int(r, 600, 900) }, () => int(r, 0, 255)));
  const body = ('MIIE' + bytes.toString('base64')).match(/.{1,64}/g)!;
  return [`-----BEGIN ${label}-----`, ...body, `-----END ${label}-----`];
}

// ---------------------------------------------------------------- phone numbers

export type PhoneRegion = 'GB' | 'DE' | 'FR' | 'US';

/** A number valid in its region, national and international: [national, international]. */
export function phoneNumber(r: Rand, region: PhoneRegion): [string, string] {
  for (;;) {
    const [national, international] = drawPhone(r, region);
    const parsed = parsePhoneNumberFromString(national, region as CountryCode);
    if (parsed?.isValid() === true && parsed.country === region) return [national, international];
  }
}

function drawPhone(r: Rand, region: PhoneRegion): [string, string] {
  switch (region) {
    case 'GB': {
      if (r() < 0.5) {
        const rest = `${pick(r, ['3', '7', '8'])}${digits(r, 3)} ${digits(r, 4)}`;
        return [`020 ${rest}`, `+44 20 ${rest}`];
      }
      const rest = `7${pick(r, ['4', '5', '7', '8', '9'])}${digits(r, 2)} ${digits(r, 6)}`;
      return [`0${rest}`, `+44 ${rest}`];
    }
    case 'DE': {
      const kind = int(r, 0, 2);
      if (kind === 0) {
        const rest = digits(r, 8);
        return [`030 ${rest}`, `+49 30 ${rest}`];
      }
      if (kind === 1) {
        const rest = `${digits(r, 3)} ${digits(r, 4)}`;
        return [`089 ${rest}`, `+49 89 ${rest}`];
      }
      const prefix = pick(r, ['151', '160', '170', '171', '176']);
      const rest = digits(r, prefix === '151' || prefix === '176' ? 8 : 7);
      return [`0${prefix} ${rest}`, `+49 ${prefix} ${rest}`];
    }
    case 'FR': {
      const first = pick(r, ['1', '2', '3', '4', '5', '6', '7', '9']);
      const pairs = Array.from({ length: 4 }, () => digits(r, 2)).join(' ');
      return [`0${first} ${pairs}`, `+33 ${first} ${pairs}`];
    }
    case 'US': {
      const area = `${int(r, 2, 9)}${digits(r, 2)}`;
      let exchange = `${int(r, 2, 9)}${digits(r, 2)}`;
      if (exchange === '555' || exchange.endsWith('11')) exchange = '482';
      const line = digits(r, 4);
      return [`(${area}) ${exchange}-${line}`, `+1 ${area}-${exchange}-${line}`];
    }
  }
}

// ---------------------------------------------------------------- word lists

const FIRST = ['Ada', 'Bruno', 'Chloé', 'Dmitri', 'Elena', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Keira', 'Luca', 'Maya', 'Noah', 'Olu', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tariq'];
const LAST = ['Lovelace', 'Marchetti', 'Dubois', 'Ivanov', 'García', 'Haddad', 'Schmidt', 'Tanaka', 'Moreau', 'Weber', 'Okafor', 'Novak', 'Fischer', 'Murphy', 'Costa'];
const DOMAINS = ['gmail.com', 'outlook.com', 'web.de', 'orange.fr', 'btinternet.com', 'acme-corp.io', 'northwind.co.uk', 'fastmail.fm', 'posteo.de', 'proton.me'];
const WORDS = ['summer', 'liverpool', 'sunshine', 'dragon', 'monkey', 'princess', 'football', 'charlie', 'shadow', 'rosebud', 'bluebird', 'kitten', 'arsenal', 'winter', 'maggie', 'tigger'];

const ascii = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** A password as people choose them: a word or two, a year or digits, maybe a symbol or leetspeak. */
export function humanPassword(r: Rand): string {
  const word = pick(r, WORDS);
  const style = int(r, 0, 4);
  if (style === 0) return `${cap(word)}${int(r, 1960, 2025)}${pick(r, ['!', '#', '', '?'])}`;
  if (style === 1) return `${word}${digits(r, int(r, 2, 3))}`;
  if (style === 2) return `${cap(word)}${cap(pick(r, WORDS))}${int(r, 1, 99)}`;
  if (style === 3) return word.replace(/o/g, '0').replace(/e/g, '3').replace(/a/g, '@') + pick(r, ['!', '$', '1', '22']);
  return `${pick(r, WORDS)}-${pick(r, WORDS)}-${pick(r, WORDS)}`;
}
const randomPassword = (r: Rand) => chars(r, ALNUM + '!#%^*_-', int(r, 16, 28));

function publicIpv4(r: Rand): string {
  for (;;) {
    const o = [int(r, 1, 223), int(r, 0, 255), int(r, 0, 255), int(r, 1, 254)];
    const [a, b, c] = o as [number, number, number];
    const special = a === 10 || a === 127 || a === 0 || a === 100 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 192 && b === 0) || (a === 198 && (b === 51 || b === 18 || b === 19)) || (a === 203 && b === 0 && c === 113);
    const wellKnown = ['8.8.8.8', '8.8.4.4', '1.1.1.1', '1.0.0.1', '9.9.9.9'].includes(o.join('.'));
    if (!special && !wellKnown && a >= 24) return o.join('.');
  }
}
const publicIpv6 = (r: Rand) => `2a0${int(r, 1, 9)}:${chars(r, '0123456789abcdef', 4)}:${chars(r, '0123456789abcdef', 3)}:${int(r, 1, 9)}::${chars(r, '0123456789abcdef', 3)}`;

// ---------------------------------------------------------------- generators per type

type Gen = (r: Rand) => Builder;

const PHONE_CONTEXTS = ['Call me on {} after six.', 'You can reach Margaret on {}.', 'Mobile: {}', 'Her number is {} if the courier gets lost.', 'Kontakt: {} (Mo–Fr)', 'Rappelez-moi au {} demain.', 'Please ring the front desk, {}, before noon.', '{} — that is the landlord, text him the meter reading.'];
export const PHONE_STYLES = ['national', 'international', 'national-alt', 'international-trunk', 'idd-00'] as const;
/** A number in one of the ways each country writes it: national, +CC, the local alternative, +CC (0), 00CC. */
export function writePhone(region: PhoneRegion, national: string, international: string, style: (typeof PHONE_STYLES)[number]): string {
  const [area, ...rest] = national.split(' ');
  const [cc, ...intlRest] = international.split(' ');
  if (region === 'US') {
    const [, a, e, l] = /^\((\d{3})\) (\d{3})-(\d{4})$/.exec(national)!;
    return { national, international, 'national-alt': `${a}.${e}.${l}`, 'international-trunk': `+1 (${a}) ${e}-${l}`, 'idd-00': `1-${a}-${e}-${l}` }[style];
  }
  const alt = region === 'GB' ? (area === '020' ? `(${area}) ${rest.join(' ')}` : national.replace(/ /g, '')) : region === 'DE' ? `${area}/${rest.join('')}` : national.replace(/ /g, '.');
  return { national, international, 'national-alt': alt, 'international-trunk': `${cc} (0)${intlRest.join(' ')}`, 'idd-00': `00${international.slice(1)}` }[style];
}

/** A phone number of a random region in a random style: [written, variant]. */
function anyPhone(r: Rand): [string, string] {
  const region = pick(r, ['GB', 'DE', 'FR', 'US'] as const);
  const [national, international] = phoneNumber(r, region);
  const x = r();
  const style = x < 0.35 ? 'national' : x < 0.6 ? 'international' : x < 0.8 ? 'national-alt' : x < 0.9 ? 'international-trunk' : 'idd-00';
  return [writePhone(region, national, international, style), `${region.toLowerCase()}-${style}`];
}

const phones: Gen = (r) => {
  const [value, variant] = anyPhone(r);
  return sentence(pick(r, PHONE_CONTEXTS), 'phone', value, variant);
};

const emails: Gen = (r) => {
  const first = ascii(pick(r, FIRST)).toLowerCase();
  const last = ascii(pick(r, LAST)).toLowerCase();
  const local = pick(r, [`${first}.${last}`, `${first}${int(r, 1, 99)}`, `${first[0]}${last}`, `${first}_${last}+news`]);
  const template = pick(r, ['Send the contract to {} by Friday.', 'Reply-To: {}', 'The customer wrote from {} asking for a refund.', 'Contact: {}', 'cc {} on the thread, please']);
  return sentence(template, 'email', `${local}@${pick(r, DOMAINS)}`, 'plain');
};

const cards: Gen = (r) => {
  const brand = pick(r, ['visa', 'mastercard', 'amex', 'discover'] as const);
  const pan = cardNumber(r, brand);
  const format = int(r, 0, 2);
  const written = format === 0 ? pan : groupCard(pan, format === 1 ? ' ' : '-');
  const template = pick(r, ['Card number: {}, expiry 04/28.', 'Please charge {} for the remaining balance.', 'my visa is {} cvv on the back', 'Payment details {} (exp 11/27)', 'Use the card ending in the number {} for the deposit.']);
  return sentence(template, 'credit_card', written, `${brand}-${['plain', 'spaced', 'dashed'][format]}`);
};

const ibans: Gen = (r) => {
  const iban = randomIban(r);
  const spaced = r() < 0.5;
  const template = pick(r, ['IBAN: {}', 'Please transfer the deposit to {} (beneficiary: M. Weber).', 'Bankverbindung: {}', 'Refund to account {} please.']);
  return sentence(template, 'iban', spaced ? iban.match(/.{1,4}/g)!.join(' ') : iban, `${iban.slice(0, 2).toLowerCase()}-${spaced ? 'spaced' : 'compact'}`);
};

const ssns: Gen = (r) => {
  const [a, g, s] = ssn(r);
  const kind = int(r, 0, 2);
  if (kind === 0) return sentence(pick(r, ['SSN: {}', 'My social security number is {}.', 'Applicant SSN {} (verified)']), 'us_ssn', `${a}-${g}-${s}`, 'dashed-context');
  if (kind === 1) return sentence(pick(r, ['Employee record: Dana Whitfield, DOB 1984-06-02, {}, hired 2019.', 'Taxpayer {} filed late.']), 'us_ssn', `${a}-${g}-${s}`, 'dashed');
  return sentence('social security no. {}', 'us_ssn', `${a} ${g} ${s}`, 'spaced-context');
};

const ipAddresses: Gen = (r) => {
  const v6 = r() < 0.25;
  const template = pick(r, ['Failed login for admin from {} at 03:12 UTC.', 'The client IP was {}.', 'Blocked {} after five attempts.', 'ssh deploy@{} -p 2222', 'User connected from IP address {} (Frankfurt).']);
  return sentence(template, 'ip_address', v6 ? publicIpv6(r) : publicIpv4(r), v6 ? 'ipv6' : 'ipv4');
};

const awsKeys: Gen = (r) => {
  const key = awsKeyId(r);
  const template = pick(r, ['aws_access_key_id = {}', 'export AWS_ACCESS_KEY_ID={}', 'The leaked key {} was rotated this morning.', '"AccessKeyId": "{}",']);
  return sentence(template, 'aws_access_key', key, 'key-id');
};

const githubTokens: Gen = (r) => {
  const token = githubToken(r, pick(r, ['ghp', 'gho', 'ghs', 'ghu'] as const));
  const template = pick(r, ['GITHUB_TOKEN={}', 'git clone https://{}@github.com/acme/infra.git', 'Authorization: token {}', 'I pasted my token {} into the workflow by mistake.']);
  return sentence(template, 'github_token', token, token.slice(0, 3));
};

const privateKeys: Gen = (r) => {
  const label = pick(r, ['RSA PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY', 'OPENSSH PRIVATE KEY']);
  const lines = pemKey(r, label);
  const style = int(r, 0, 2);
  if (style === 0) return new Builder().add('Here is the key from the server:\n\n').value('private_key', lines.join('\n'), 'pem-plain').add('\n\nKeep it safe.');
  if (style === 1) {
    const indent = pick(r, ['    ', '      ']);
    return new Builder()
      .add(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls-origin\nstringData:\n  tls.key: |\n${indent}`)
      .value('private_key', lines.join(`\n${indent}`), 'pem-yaml-indented')
      .add('\n');
  }
  return new Builder()
    .add(`{\n  "type": "service_account",\n  "project_id": "acme-prod-${digits(r, 4)}",\n  "private_key_id": "${chars(r, '0123456789abcdef', 40)}",\n  "private_key": "`)
    .value('private_key', lines.join('\\n') + '\\n', 'pem-json-escaped')
    .add('",\n  "client_email": "')
    .value('email', `deploy@acme-prod-${digits(r, 4)}.iam.gserviceaccount.com`, 'service-account')
    .add('"\n}');
};

const URL_TEMPLATES: Array<[string, string]> = [
  ['postgres://app:', '@db.internal:5432/orders'],
  ['postgresql://reporting:', '@10.4.0.12/analytics?sslmode=require'],
  ['mongodb+srv://admin:', '@cluster0.x1y2z.mongodb.net/prod'],
  ['redis://:', '@cache-01:6379/0'],
  ['amqp://billing:', '@rabbitmq.acme.local:5672/'],
  ['mysql://root:', '@shop-db:3306/shop'],
];
const passwords: Gen = (r) => {
  const human = r() < 0.6;
  const password = human ? humanPassword(r) : randomPassword(r);
  if (r() < 0.45) {
    const [before, after] = pick(r, URL_TEMPLATES);
    const prefix = pick(r, ['DATABASE_URL=', 'url: ', 'Connect with ', 'The job failed: could not connect to ']);
    // Percent-encoded as a URL's user-info must be (an "@" or "#" in it would end it).
    return new Builder().add(prefix + before).value('password', encodeURIComponent(password), `url-${human ? 'human' : 'random'}`).add(after);
  }
  const [left, right] = pick(r, [
    ['password = "', '"'],
    ['DB_PASSWORD=', ''],
    ['  "password": "', '",'],
    ['db_pass: ', ''],
    ['PGPASSWORD=', ' psql -h db -U app'],
    ['mysql -u root --password=', ' shop'],
    ['smtp_password: "', '"'],
  ] as const);
  return new Builder().add(left).value('password', password, `assignment-${human ? 'human' : 'random'}`).add(right);
};

// ---------------------------------------------------------------- documented examples and hard negatives

/** Values printed in vendors' documentation, labelled `example`: a detector should let them pass. */
const EXAMPLES: Array<() => Builder> = [
  () => sentence('aws_access_key_id = {}', 'aws_access_key', 'AKIAIOSFODNN7EXAMPLE', 'documented-example', true),
  () => sentence('The docs use {} as the access key id.', 'aws_access_key', 'AKIAIOSFODNN7EXAMPLE', 'documented-example', true),
  () => sentence('Test with the card {} and any future expiry.', 'credit_card', '4242 4242 4242 4242', 'documented-example', true),
  () => sentence('Stripe test card: {}', 'credit_card', '4111111111111111', 'documented-example', true),
  () => sentence('The usual example SSN is {}.', 'us_ssn', '123-45-6789', 'documented-example', true),
  () => sentence('SSN {} was printed on sample wallet cards.', 'us_ssn', '078-05-1120', 'documented-example', true),
  () => sentence('Send a test to {}.', 'email', 'jane.doe@example.com', 'documented-example', true),
  () => sentence('The documentation uses {} as the peer address.', 'ip_address', '203.0.113.42', 'documented-example', true),
  () => sentence('DATABASE_URL=postgres://user:{}@localhost:5432/mydb', 'password', 'password', 'documented-example', true),
  () => sentence('password: {}', 'password', 'changeme', 'documented-example', true),
];

const NEGATIVES: Array<(r: Rand) => string> = [
  (r) => `See section ${int(r, 1, 9)}.${int(r, 1, 9)}.${int(r, 1, 9)}.${int(r, 1, 9)} for the retention rules.`,
  (r) => `${int(r, 1, 9)}.${int(r, 1, 9)}.${int(r, 1, 9)}.${int(r, 1, 9)} Data retention\nPersonal data is kept for 30 days.`,
  (r) => `As required by clause ${int(r, 1, 12)}.${int(r, 1, 9)}.${int(r, 1, 9)}.${int(r, 1, 9)}, the supplier notifies the customer.`,
  (r) => `Requirement ${int(r, 1, 5)}.${int(r, 1, 20)}.${int(r, 1, 9)}.${int(r, 1, 9)} is met by the audit log.`,
  (r) => `Upgrade to version ${int(r, 1, 9)}.${int(r, 0, 30)}.${int(r, 0, 9)}.${int(r, 0, 200)} before Monday.`,
  (r) => `Chrome ${int(r, 110, 131)}.0.${int(r, 5000, 6999)}.${int(r, 10, 200)} fixes the crash.`,
  (r) => `Your confirmation number is ${digits(r, 4)} ${digits(r, 4)} ${digits(r, 3)}.`,
  (r) => `Booking reference: ${digits(r, 4)}-${digits(r, 4)}-${digits(r, 3)}`,
  (r) => `Your confirmation code for the flight is 0${digits(r, 3)} ${digits(r, 6)}.`,
  (r) => `Order ${digits(r, 3)}-${digits(r, 7)}-${digits(r, 7)} has shipped.`,
  (r) => `Your order number is 0${digits(r, 2)} ${digits(r, 4)} ${digits(r, 4)}; keep it for returns.`,
  (r) => `Tracking number: ${digits(r, 4)} ${digits(r, 4)} ${digits(r, 4)} ${digits(r, 2)}`,
  (r) => `Invoice no. 20${int(r, 20, 26)}-0${digits(r, 3)}-${digits(r, 4)} is due on the 15th.`,
  (r) => `Case ID 0${digits(r, 2)}-${digits(r, 3)}-${digits(r, 4)}: please quote it when you reply.`,
  (r) => `The meeting moved to 20${int(r, 20, 26)}-0${int(r, 1, 9)}-1${int(r, 0, 9)} at 14:30.`,
  (r) => `Population: ${int(r, 1, 9)} ${digits(r, 3)} ${digits(r, 3)} (census 2021).`,
  (r) => `user_id=0${digits(r, 9)} logged in from the mobile app`,
  (r) => `Exported 0${digits(r, 10)}.csv to the shared drive.`,
  (r) => `Due ${int(r, 10, 28)}/0${int(r, 1, 9)}/20${int(r, 20, 26)}, paid ${int(r, 1, 9)}/${int(r, 2, 9)} of it so far.`,
  (r) => `The build log shows 0${digits(r, 2)}/${digits(r, 7)} tests skipped.`,
  (r) => `ISBN 978-${int(r, 0, 9)}-${digits(r, 3)}-${digits(r, 5)}-${int(r, 0, 9)}`,
  (r) => `commit ${chars(r, '0123456789abcdef', 40)}`,
  (r) => `request_id=${chars(r, '0123456789abcdef', 8)}-${chars(r, '0123456789abcdef', 4)}-4${chars(r, '0123456789abcdef', 3)}-a${chars(r, '0123456789abcdef', 3)}-${chars(r, '0123456789abcdef', 12)}`,
  () => 'password = os.environ["DB_PASSWORD"]',
  () => 'password: ${DB_PASSWORD}',
  () => 'password = getpass.getpass("Password: ")',
  () => '"password": "<your password here>",',
  () => 'PASSWORD_MIN_LENGTH = 12',
  () => 'Your password must be at least 12 characters and contain a digit.',
  () => 'def login(username: str, password: str) -> Session:',
  () => 'password=None,',
  () => 'DATABASE_URL=postgresql://${DB_USER}:${DB_PASSWORD}@${DB_HOST}:5432/app',
  () => 'Reset your password at https://accounts.acme.com/reset?step=2',
  () => '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmwIDAQAB\n-----END PUBLIC KEY-----',
  () => 'The key file starts with -----BEGIN RSA PRIVATE KEY----- and ends with the matching END line.',
  () => 'tls.key: |\n    -----BEGIN PRIVATE KEY-----\n    <paste your key here>\n    -----END PRIVATE KEY-----',
  () => 'Use the format postgres://user:password@host:5432/db for the connection string.',
];

const GENERATORS: Array<[EvalType, Gen, number]> = [
  ['phone', phones, 200],
  ['email', emails, 60],
  ['credit_card', cards, 60],
  ['iban', ibans, 60],
  ['us_ssn', ssns, 60],
  ['ip_address', ipAddresses, 60],
  ['aws_access_key', awsKeys, 50],
  ['github_token', githubTokens, 50],
  ['private_key', privateKeys, 60],
  ['password', passwords, 120],
];
/** Each hard negative with random parts is drawn this many times; fixed ones and documented examples once. */
const NEGATIVE_DRAWS = 6;

/** The labelled texts for a seed. */
export function generateTexts(seed: number): LabelledText[] {
  const r = rng(seed);
  const out: LabelledText[] = [];
  for (const [type, gen, count] of GENERATORS) {
    for (let i = 0; i < count; i++) {
      const b = gen(r);
      out.push({ id: `${type}-${String(i + 1).padStart(4, '0')}`, group: type, text: b.text, spans: b.spans });
    }
  }
  let n = 0;
  for (let draw = 0; draw < NEGATIVE_DRAWS; draw++) {
    for (const make of NEGATIVES) {
      if (draw > 0 && make.length === 0) continue; // a fixed text once
      out.push({ id: `negative-${String(++n).padStart(4, '0')}`, group: 'negative', text: make(r), spans: [] });
    }
    if (draw === 0) for (const make of EXAMPLES) {
      const b = make();
      out.push({ id: `negative-${String(++n).padStart(4, '0')}`, group: 'negative', text: b.text, spans: b.spans });
    }
  }
  return out;
}

// ---------------------------------------------------------------- someone else's sentences

/** Values for the PII placeholders of presidio-evaluator's templates: [type, written, variant]. */
const TEMPLATE_VALUES: Record<string, (r: Rand) => [EvalType, string, string]> = {
  phone_number: (r) => ['phone', ...anyPhone(r)],
  credit_card_number: (r) => {
    const brand = pick(r, ['visa', 'mastercard', 'amex', 'discover'] as const);
    const pan = cardNumber(r, brand);
    const format = int(r, 0, 2);
    return ['credit_card', format === 0 ? pan : groupCard(pan, format === 1 ? ' ' : '-'), brand];
  },
  iban: (r) => {
    const iban = randomIban(r);
    return ['iban', r() < 0.5 ? iban.match(/.{1,4}/g)!.join(' ') : iban, iban.slice(0, 2).toLowerCase()];
  },
  ssn: (r) => ['us_ssn', ssn(r).join('-'), 'dashed'],
  ip_address: (r) => (r() < 0.25 ? ['ip_address', publicIpv6(r), 'ipv6'] : ['ip_address', publicIpv4(r), 'ipv4']),
  email: (r) => ['email', `${ascii(pick(r, FIRST)).toLowerCase()}.${ascii(pick(r, LAST)).toLowerCase()}@${pick(r, DOMAINS)}`, 'plain'],
};

/** Unlabelled fillers for the other placeholders: names, places, dates, postcodes (digits that are no PII of ours). */
const FILLERS: Record<string, (r: Rand) => string> = {
  organization: (r) => pick(r, ['Acme Corp', 'Northwind Traders', 'Globex', 'Initech', 'Umbrella Health']),
  city: (r) => pick(r, ['Leeds', 'Lyon', 'Hamburg', 'Austin', 'Porto']),
  country: (r) => pick(r, ['France', 'Germany', 'the United Kingdom', 'Canada', 'Portugal']),
  address: (r) => pick(r, [`${int(r, 1, 400)} Elm Street, Springfield, IL ${digits(r, 5)}`, `${int(r, 1, 90)} rue Oberkampf, 750${int(r, 10, 20)} Paris`, `Hauptstraße ${int(r, 1, 200)}, ${digits(r, 5)} Berlin`, `Flat ${int(r, 1, 40)}, ${int(r, 1, 200)} Baker Street, London NW1 ${int(r, 1, 9)}XE`]),
  street_name: (r) => pick(r, ['Elm Street', 'Baker Street', 'Hauptstraße', 'rue Oberkampf']),
  building_number: (r) => String(int(r, 1, 999)),
  secondary_address: (r) => `Apt. ${int(r, 1, 999)}`,
  postcode: (r) => digits(r, 5),
  zipcode: (r) => `${digits(r, 5)}${r() < 0.3 ? `-${digits(r, 4)}` : ''}`,
  year: (r) => String(int(r, 1950, 2025)),
  age: (r) => String(int(r, 18, 90)),
  date_time: (r) => `20${int(r, 10, 25)}-0${int(r, 1, 9)}-${int(r, 10, 28)} ${int(r, 10, 23)}:${int(r, 10, 59)}`,
  date_of_birth: (r) => `${int(r, 10, 28)}/0${int(r, 1, 9)}/19${int(r, 50, 99)}`,
  day_of_week: (r) => pick(r, ['Monday', 'Tuesday', 'Friday']),
  url: (r) => pick(r, ['https://www.acme-corp.io/account', 'http://northwind.example.org/login', 'www.globex.com']),
  us_driver_license: (r) => `${pick(r, ['D', 'S', 'W'])}${digits(r, 7)}`,
  state_abbr: (r) => pick(r, ['CA', 'NY', 'TX']),
};
const fillName = (r: Rand, key: string) => (/last_name/.test(key) ? pick(r, LAST) : /first_name|name_|nation_/.test(key) ? pick(r, FIRST) : `${pick(r, FIRST)} ${pick(r, LAST)}`);

/**
 * presidio-evaluator's sentence templates (written by Presidio's team, not by us) with our valid
 * values in their PII placeholders (labelled) and plain fillers in the rest: the same values in
 * sentences nobody here wrote. `templates` is the text of the package's raw_data/templates.txt.
 */
export function templateTexts(templates: string, seed: number, draws = 3): LabelledText[] {
  const r = rng(seed);
  // Line breaks inside a template are written as the two characters \n (and commas at times as \,).
  const lines = templates.split(/\r?\n/).map((l) => l.trim().replace(/\\n/g, '\n').replace(/\\,/g, ',')).filter((l) => l.length > 0);
  const out: LabelledText[] = [];
  for (let draw = 0; draw < draws; draw++) {
    lines.forEach((line, i) => {
      const b = new Builder();
      let at = 0;
      for (const m of line.matchAll(/\{\{\s*([a-z_]+)\s*\}\}/g)) {
        b.add(line.slice(at, m.index));
        at = m.index + m[0].length;
        const key = m[1]!;
        const value = TEMPLATE_VALUES[key];
        if (value !== undefined) {
          const [type, written, variant] = value(r);
          b.value(type, written, `template-${variant}`);
        } else b.add(FILLERS[key]?.(r) ?? (/name|person|prefix/.test(key) ? fillName(r, key) : pick(r, ['Alex', 'engineer', 'French'])));
      }
      b.add(line.slice(at));
      const group = b.spans[0]?.type ?? 'negative';
      out.push({ id: `template-${String(i + 1).padStart(3, '0')}-${draw + 1}`, group, text: b.text, spans: b.spans });
    });
  }
  return out;
}
