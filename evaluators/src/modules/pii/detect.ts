/**
 * PII detection: find emails, phone numbers, payment cards, IBANs, US SSNs and IP addresses in a
 * text, each validated beyond its shape (number plan, Luhn, mod 97, SSA ranges, strict octets) so that
 * order ids, dates, timestamps, version numbers and product codes do not fire. Context words nearby
 * ("card", "SSN", "call me") raise confidence; id-like words nearby ("order", "invoice", "SKU", "version")
 * veto digit look-alikes, also when named earlier in the clause ("your confirmation code for the flight
 * is …"). A number written nationally with a trunk 0 that the default region rejects is tried in the
 * national regions (GB, DE, FR by default). Dotted quads that are outline numbers ("section 1.4.2.1", a
 * "1.4.2.1 Scope" heading) and the user-info of URLs ("postgres://app:pw@db") are no IP or email.
 * Overlaps keep the more specific kind (a card number is not also a phone).
 *
 * @example
 *   detectPii('Mail me at ada@lovelace.dev or call (415) 555-2671.', { defaultRegion: 'US' })
 *   // → [{ kind: 'email', start: 11, end: 27, key: 'ada@lovelace.dev', confidence: 0.95 },
 *   //    { kind: 'phone', start: 36, end: 50, key: '+14155552671', confidence: 0.95 }]
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { cardBrand, EXAMPLE_SSNS, ibanValid, ipv4Scope, ipv6Scope, luhn, ssnValid, TEST_CARDS } from './validators.js';

export const PII_KINDS = ['email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip_address'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

export interface PiiEntity {
  kind: PiiKind;
  start: number;
  end: number;
  /** Canonical value (lower-cased email, E.164 phone, digits of a card...): equal keys are the same datum. */
  key: string;
  confidence: number;
}

export interface DetectOptions {
  /** Kinds to look for (default all). */
  kinds?: readonly PiiKind[];
  /** Region for phone numbers written without a country code (ISO 3166 alpha-2, default 'US'). */
  defaultRegion?: string;
  /**
   * Regions tried, in order, for a number written nationally with a leading trunk 0 ("020 7946 0958",
   * "030 12345678", "01 42 68 53 00") that is not valid in `defaultRegion` (default NATIONAL_REGIONS).
   */
  nationalRegions?: readonly string[];
  /** Report private, loopback and link-local IPs too (default false: they identify no one). */
  includePrivateIps?: boolean;
  /** Skip published test card numbers such as 4242 4242 4242 4242 (default true). */
  ignoreTestCards?: boolean;
  /** Canonical values never reported (e.g. the company's own support address). */
  allowValues?: readonly string[];
  /** Email domains never reported. */
  allowEmailDomains?: readonly string[];
}

const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-]|\.[A-Za-z0-9])/y;
const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const FILE_TLD = /\.(?:png|jpe?g|gif|svg|webp|bmp|ico|js|mjs|ts|css|py|rb|go|rs|java|json|ya?ml|md|txt|html?|zip|tgz|lock)$/i;
const RESERVED_DOMAIN = /(?:^|\.)(?:example\.(?:com|org|net)|[a-z0-9-]+\.(?:example|test|invalid|localhost|local))$/i;

// Separators are spaces, dots and dashes within one line: a number never continues on the next.
const PHONE = /(?<![\w/#.+$€£-])(?:\+\d{1,3}[ \t\u00a0.-]?)?(?:\(\d{1,4}\)[ \t\u00a0.-]?|0\d{1,5} ?\/ ?)?\d{1,15}(?:[ \t\u00a0.-]\d{1,8}){0,5}(?:[ \t]?(?:x|ext\.?)[ \t]?\d{1,5})?(?![\w%$€£]|[.,:/-]\d)/g;
const CARD = /(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d]|[.,-]\d)/g;
const IBAN = /\b[A-Z]{2}\d{2}(?:(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?|[A-Z0-9]{11,30})\b/g;
const SSN = /(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d]|-\d)/g;
const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)/g;
const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])/g;

// Public resolvers and other service addresses that identify no person.
const WELL_KNOWN_IPS = new Set(['8.8.8.8', '8.8.4.4', '1.1.1.1', '1.0.0.1', '9.9.9.9', '149.112.112.112', '208.67.222.222', '208.67.220.220', '4.2.2.2', '4.2.2.1']);
const DATE_LIKE = /^(?:\d{4}[-./ ]\d{1,2}[-./ ]\d{1,2}|\d{1,2}[-./ ]\d{1,2}[-./ ]\d{2,4})$/;
/** Regions whose national numbers start with a trunk 0, tried when the default region does not fit. */
export const NATIONAL_REGIONS = ['GB', 'DE', 'FR'] as const;
const ID_CONTEXT = /(?:\b(?:order|invoice|receipt|ticket|case|ref|reference|tracking|shipment|sku|part|model|serial|product|item|isbn|issn|doi|version|ver|v|build|release|id|account|acct|transaction|txn|confirmation|booking|policy|claim|patent|lot|batch|zip|postal|pin|otp)|#)\.?\s*(?:no\.?|number|#|id)?\s*[:#=]?\s*$/i;
// Words start at a word boundary: "Springfield" holds no "ring", "hotel" no "tel".
const PHONE_CONTEXT = /\b(?:call|phone|tel|telephone|mobile|cell|cellphone|whatsapp|text me|txt|sms|reach (?:me|us|him|her)|reach \w{1,20} (?:on|at)\b|fax|contact|dial|ring|hotline|number is)/i;
// A phone word that is not just "number is" (which ids share: "your confirmation number is ...").
const PHONE_WORD = /\b(?:call|phone|tel\b|telephone|mobile|cell|whatsapp|text me|sms|reach (?:me|us|him|her)|fax|contact|dial|ring|hotline)/i;
// An id named earlier in the same clause ("Your confirmation code for the flight is ..."): the digits are that id.
const ID_EARLIER = /\b(?:order|confirmation|booking|reservation|reference|ref|tracking|invoice|receipt|ticket|case|claim|policy|account|acct|customer|member(?:ship)?|transaction|txn|serial|shipment|parcel|voucher|coupon|isbn)\b([^.!?;\n]{0,40})$/i;
// Outline numbers: "section 1.4.2.1", "clause 2.3.1.4", "§ 4.2.1.3".
const OUTLINE_CONTEXT = /(?:section|sect\.|§|clause|chapter|article|art\.|paragraph|para\.?|requirement|req\.|item|step|figure|fig\.|table|appendix|annex|part|rule|control|heading|see)\s*$/i;
const NETWORK_CONTEXT = /(?:\bip\b|address|host|server|client|from|connect|ping|ssh|dns|route|gateway|firewall|block|login|proxy|vpn|subnet|peer|origin|request)/i;
const CARD_CONTEXT = /(?:card|visa|mastercard|master card|amex|american express|discover|credit|debit|cc|pan|payment|pay with|charged?)/i;
const SSN_CONTEXT = /(?:ssn|social security|soc\.? sec|ss#|ss no|taxpayer|tin\b|itin)/i;
const IP_VERSION_CONTEXT = /(?:version|ver\.?|v|build|release|firmware|sdk|node|python|chrome|rev)\s*$/i;

function before(text: string, at: number, span = 32): string {
  return text.slice(Math.max(0, at - span), at);
}
function near(text: string, start: number, end: number, re: RegExp, span = 48): boolean {
  return re.test(text.slice(Math.max(0, start - span), Math.min(text.length, end + 16)));
}

export function detectPii(text: string, options: DetectOptions = {}): PiiEntity[] {
  const kinds = options.kinds ?? PII_KINDS;
  const region = (options.defaultRegion ?? 'US').toUpperCase() as CountryCode;
  const found: PiiEntity[] = [];
  const hasDigits = /\d/.test(text);

  if (kinds.includes('credit_card') && hasDigits) cards(text, options, found);
  if (kinds.includes('iban') && hasDigits) ibans(text, found);
  if (kinds.includes('us_ssn') && hasDigits) ssns(text, found);
  if (kinds.includes('email') && text.includes('@')) emails(text, options, found);
  if (kinds.includes('ip_address') && hasDigits) ips(text, options, found);
  if (kinds.includes('phone') && hasDigits) phones(text, region, (options.nationalRegions ?? NATIONAL_REGIONS) as readonly CountryCode[], found);

  const allow = options.allowValues !== undefined && options.allowValues.length > 0 ? allowSet(options.allowValues) : null;
  const kept: PiiEntity[] = [];
  // `found` is in priority order (more specific kinds first): drop later overlapping entities. `kept`
  // stays sorted by start and its spans never overlap, so one binary search answers each entity.
  for (const e of found) {
    if (allow !== null && allow.has(e.key.toLowerCase())) continue;
    const at = firstEndingAfter(kept, e.start);
    if (at < kept.length && kept[at]!.start < e.end) continue;
    kept.splice(at, 0, e);
  }
  return kept;
}

const allowSets = new WeakMap<readonly string[], Set<string>>();
/** The allow-list as a set of lower-cased values, built once per list (a policy's list is reused). */
function allowSet(values: readonly string[]): Set<string> {
  let set = allowSets.get(values);
  if (set === undefined) allowSets.set(values, (set = new Set(values.map((v) => v.toLowerCase()))));
  return set;
}

/** Index of the first span (sorted, disjoint) that ends after `position`. */
function firstEndingAfter(spans: readonly PiiEntity[], position: number): number {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid]!.end <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function cards(text: string, options: DetectOptions, out: PiiEntity[]): void {
  CARD.lastIndex = 0;
  for (let m = CARD.exec(text); m !== null; m = CARD.exec(text)) {
    const raw = m[0];
    const digits = raw.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19) continue;
    // Separators, when present, must be one kind in card groupings (4-4-4-4, 4-6-5, 4-6-4).
    if (digits.length !== raw.length) {
      const groups = raw.split(/[ -]/).map((g) => g.length).join('-');
      if ((raw.includes(' ') && raw.includes('-')) || !/^(?:4-4-4-4(?:-[1-3])?|4-6-5|4-6-4|4-4-4-1|4-4-4-4-4)$/.test(groups)) continue;
    }
    if (!luhn(digits) || cardBrand(digits) === null) continue;
    if ((options.ignoreTestCards ?? true) && TEST_CARDS.has(digits)) continue;
    const context = near(text, m.index, m.index + raw.length, CARD_CONTEXT);
    if (!context && ID_CONTEXT.test(before(text, m.index))) continue;
    out.push({ kind: 'credit_card', start: m.index, end: m.index + raw.length, key: digits, confidence: context ? 0.99 : 0.85 });
  }
}

function ibans(text: string, out: PiiEntity[]): void {
  IBAN.lastIndex = 0;
  for (let m = IBAN.exec(text); m !== null; m = IBAN.exec(text)) {
    let raw = m[0];
    // A spaced IBAN may have swallowed a following upper-case word: back off group by group.
    for (let attempt = 0; attempt < 3; attempt++) {
      const compact = raw.replace(/ /g, '');
      if (ibanValid(compact)) {
        out.push({ kind: 'iban', start: m.index, end: m.index + raw.length, key: compact, confidence: 0.97 });
        break;
      }
      const cut = raw.lastIndexOf(' ');
      if (cut < 0) break;
      raw = raw.slice(0, cut);
    }
  }
}

function ssns(text: string, out: PiiEntity[]): void {
  SSN.lastIndex = 0;
  for (let m = SSN.exec(text); m !== null; m = SSN.exec(text)) {
    const [raw, area, sep, group, serial] = m as unknown as [string, string, string, string, string];
    if (!ssnValid(area, group, serial) || EXAMPLE_SSNS.has(area + group + serial)) continue;
    const context = near(text, m.index, m.index + raw.length, SSN_CONTEXT);
    // Only the dashed form stands on its own; spaced or bare nine digits need an SSN word nearby.
    if (sep !== '-' && !context) continue;
    if (!context && ID_CONTEXT.test(before(text, m.index))) continue;
    out.push({ kind: 'us_ssn', start: m.index, end: m.index + raw.length, key: area + group + serial, confidence: context ? 0.97 : 0.8 });
  }
}

function emails(text: string, options: DetectOptions, out: PiiEntity[]): void {
  // Start only from each "@": walk back over local-part characters, then match from there.
  let lastEnd = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let from = at;
    while (from > lastEnd && from > at - 64 && LOCAL_CHAR.test(text[from - 1] as string)) from--;
    // Sticky tries from each possible local-part start: never a scan over the rest of the text.
    let m: RegExpExecArray | null = null;
    for (let start = from; start < at && m === null; start++) {
      EMAIL.lastIndex = start;
      m = EMAIL.exec(text);
    }
    if (m === null) continue;
    lastEnd = m.index + m[0].length;
    const value = m[0];
    if (inUrlUserinfo(text, m.index)) continue;
    const domain = value.slice(value.indexOf('@') + 1).toLowerCase();
    if (FILE_TLD.test(value) || RESERVED_DOMAIN.test(domain)) continue;
    if (options.allowEmailDomains?.some((d) => domain === d.toLowerCase() || domain.endsWith(`.${d.toLowerCase()}`))) continue;
    if (value.includes('..')) continue;
    out.push({ kind: 'email', start: m.index, end: m.index + value.length, key: value.toLowerCase(), confidence: 0.95 });
  }
}

/** Whether `at` is inside the user-info of a URL ("postgres://app:s3cret@db", "https://token@github.com"): no email. */
function inUrlUserinfo(text: string, at: number): boolean {
  const from = Math.max(0, at - 256);
  const found = text.slice(from, at).lastIndexOf('//'); // a bounded look back, never to the text's start
  const slashes = found === -1 ? -1 : from + found;
  if (slashes < 1 || text[slashes - 1] !== ':') return false;
  for (let i = slashes + 2; i < at; i++) {
    const c = text[i]!;
    if (c === '/' || c === ' ' || c === '\n' || c === '\t' || c === '@') return false;
  }
  return true;
}

/** A dotted quad that is an outline number: after "section"/"clause"…, or a heading ("1.4.2.1 Scope"), or small parts with no network word near. */
function outlineNumber(text: string, start: number, end: number, value: string): boolean {
  if (OUTLINE_CONTEXT.test(before(text, start, 24))) return true;
  const lineStart = start === 0 || text[start - 1] === '\n' || /(?:^|\n)#{1,6} $/.test(before(text, start, 8));
  if (lineStart && /^ [A-Z]/.test(text.slice(end, end + 2))) return true;
  return value.split('.').every((o) => o.length === 1) && !near(text, start, end, NETWORK_CONTEXT);
}

function ips(text: string, options: DetectOptions, out: PiiEntity[]): void {
  const accept = (scope: string | null) => scope === 'public' || (scope === 'private' && options.includePrivateIps === true);
  if (text.includes('.')) {
    IPV4.lastIndex = 0;
    for (let m = IPV4.exec(text); m !== null; m = IPV4.exec(text)) {
      if (!accept(ipv4Scope(m[0])) || WELL_KNOWN_IPS.has(m[0]) || IP_VERSION_CONTEXT.test(before(text, m.index, 16))) continue;
      if (outlineNumber(text, m.index, m.index + m[0].length, m[0])) continue;
      out.push({ kind: 'ip_address', start: m.index, end: m.index + m[0].length, key: m[0], confidence: 0.9 });
    }
  }
  if (text.includes(':')) {
    IPV6.lastIndex = 0;
    for (let m = IPV6.exec(text); m !== null; m = IPV6.exec(text)) {
      if (m[0].length < 6 || !accept(ipv6Scope(m[0]))) continue;
      out.push({ kind: 'ip_address', start: m.index, end: m.index + m[0].length, key: m[0].toLowerCase(), confidence: 0.9 });
    }
  }
}

function phones(text: string, region: CountryCode, nationalRegions: readonly CountryCode[], out: PiiEntity[]): void {
  PHONE.lastIndex = 0;
  for (let m = PHONE.exec(text); m !== null; m = PHONE.exec(text)) {
    const raw = m[0];
    let digits = 0;
    for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) >= 48 && raw.charCodeAt(i) <= 57) digits++;
    if (digits < 7 || digits > 15) continue;
    if (DATE_LIKE.test(raw) || /^\d{3}-\d{2}-\d{4}$/.test(raw)) continue; // dates, SSN-shaped
    if (/^\d{1,3}(?:\.\d{1,3}){2,}$/.test(raw) && !/^0\d(?:\.\d\d){4}$/.test(raw)) continue; // versions, not French 01.42.68.53.00
    if (/^\d+(?:\.\d+){3,}$/.test(raw) && (/\.0(?:\.|$)/.test(raw) || IP_VERSION_CONTEXT.test(before(text, m.index, 16)))) continue; // 126.0.6478.61
    const context = near(text, m.index, m.index + raw.length, PHONE_CONTEXT);
    if (!context && /^\d{5}-\d{4}$/.test(raw)) continue; // a US ZIP+4 code
    const idEarlier = ID_EARLIER.exec(before(text, m.index, 64));
    if (idEarlier !== null && !PHONE_WORD.test(idEarlier[1]!)) continue;
    const international = raw.startsWith('+');
    // A slash (030/12345678) also writes ratios and paths: it formats a number with a phone word, or
    // when it reads as a German national number on its own: a trunk-0 area code, a subscriber number
    // of 4–8 digits, standing alone as a word and not followed by a word ("081/1868502 tests" counts).
    const formatted = international || /[\s().-]/.test(raw) || (raw.includes('/') && (context || slashNational(text, m.index, m.index + raw.length)));
    // Bare digit runs are ids far more often than phone numbers: only with a phone word nearby, or
    // shaped as a whole national number with its trunk 0 (07900317017) standing alone as a word
    // (not a value of user_id=, not a file name).
    if (!formatted && !context && !(/^0\d{9,10}$/.test(raw) && standsAlone(text, m.index, m.index + raw.length))) continue;
    if (!context && ID_CONTEXT.test(before(text, m.index))) continue;
    let key = phoneKey(raw, international ? undefined : region);
    let confidence = context ? 0.95 : 0.8;
    // Written nationally with a trunk 0 (or internationally with their 00 prefix, "0044 20 …") and not
    // valid in the default region: try the national regions.
    if (key === null && !international && /^\(?0\d/.test(raw)) {
      for (const r of nationalRegions) if (r !== region && (key = phoneKey(raw, r)) !== null) break;
      confidence = context ? 0.9 : 0.75;
    }
    if (key === null) continue;
    out.push({ kind: 'phone', start: m.index, end: m.index + raw.length, key, confidence });
  }
}

/**
 * `0AAA/SSSSSSS` standing alone with no word right after it (a count's unit), or labelled as a phone
 * line right after it, as address blocks write them (`030/64741253-Office`).
 */
function slashNational(text: string, start: number, end: number): boolean {
  if (!/^0\d{1,4}\/\d{4,8}$/.test(text.slice(start, end))) return false;
  const after = text.slice(end, end + 12);
  if (/^[-–(]\s?(?:office|fax|home|mobile|work|cell|tel|phone|büro|privat|mobil)\b/i.test(after)) return start === 0 || /\s/.test(text[start - 1]!);
  return standsAlone(text, start, end) && !/^\s*\p{L}/u.test(after);
}

/** Whitespace (or the text's edge) before, and after it the end, whitespace, or closing punctuation followed by either. */
function standsAlone(text: string, start: number, end: number): boolean {
  if (start > 0 && !/\s/.test(text[start - 1]!)) return false;
  return /^(?:$|\s|[,;:)!?.](?:$|\s))/.test(text.slice(end, end + 2));
}

// Parsing with full metadata costs microseconds; the same numbers (a company's hotline) recur across traces.
const phoneCache = new Map<string, string | null>();
function phoneKey(raw: string, region: CountryCode | undefined): string | null {
  const id = `${region ?? '+'}|${raw}`;
  let key = phoneCache.get(id);
  if (key === undefined) {
    const phone = parsePhoneNumberFromString(raw, region);
    key = phone !== undefined && phone.isValid() ? phone.number : null;
    phoneCache.set(id, key);
    if (phoneCache.size > 4096) phoneCache.delete(phoneCache.keys().next().value as string);
  }
  return key;
}
