import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { EVAL_TYPES, generateTexts, githubTokenValid, ibanFor, PHONE_STYLES, templateTexts, writePhone } from '../scripts/peers/generate.js';
import { LATER_TIERS_MARKER, PEERS_BEGIN, PEERS_END } from '../scripts/eval-main.js';
import { withPeersSection } from '../scripts/peers/main.js';
import { scoreTool } from '../scripts/peers/score.js';
import { cardBrand, ibanValid, ipv4Scope, ipv6Scope, luhn, ssnValid } from '../src/modules/pii/validators.js';

// The texts of `npm run eval:peers`: checksums and labels must hold, or the comparison means nothing.
const texts = generateTexts(15);

describe('eval:peers generator', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(generateTexts(15)).toEqual(texts);
    expect(generateTexts(16).map((t) => t.text)).not.toEqual(texts.map((t) => t.text));
  });

  it('labels every type, with in-bounds, disjoint spans and unique ids', () => {
    expect(new Set(texts.map((t) => t.id)).size).toBe(texts.length);
    for (const type of EVAL_TYPES) expect(texts.flatMap((t) => t.spans).filter((s) => s.type === type && s.example !== true).length, type).toBeGreaterThanOrEqual(40);
    for (const t of texts) {
      const spans = [...t.spans].sort((a, b) => a.start - b.start);
      spans.forEach((s, i) => {
        expect(s.start).toBeGreaterThanOrEqual(0);
        expect(s.end).toBeLessThanOrEqual(t.text.length);
        expect(s.end).toBeGreaterThan(s.start);
        if (i > 0) expect(s.start, t.id).toBeGreaterThanOrEqual(spans[i - 1]!.end);
      });
    }
  });

  it('writes values that are valid beyond their shape', () => {
    for (const t of texts) {
      for (const s of t.spans) {
        if (s.example === true) continue;
        const v = t.text.slice(s.start, s.end);
        const why = `${t.id}: ${v}`;
        switch (s.type) {
          case 'credit_card': {
            const pan = v.replace(/[ -]/g, '');
            expect(luhn(pan) && cardBrand(pan) !== null, why).toBe(true);
            break;
          }
          case 'iban':
            expect(ibanValid(v.replace(/ /g, '')), why).toBe(true);
            break;
          case 'us_ssn': {
            const m = /^(\d{3})[- ](\d{2})[- ](\d{4})$/.exec(v);
            expect(m !== null && ssnValid(m[1]!, m[2]!, m[3]!), why).toBe(true);
            break;
          }
          case 'phone': {
            const region = s.variant.slice(0, 2).toUpperCase() as CountryCode;
            const style = s.variant.slice(3);
            const phone = style.startsWith('international') ? parsePhoneNumberFromString(v) : style === 'idd-00' && region !== 'US' ? parsePhoneNumberFromString(`+${v.slice(2)}`) : parsePhoneNumberFromString(v, region);
            expect(phone?.isValid() === true && phone.country === region, why).toBe(true);
            expect(v.startsWith('+'), why).toBe(style.startsWith('international'));
            break;
          }
          case 'github_token':
            expect(githubTokenValid(v), why).toBe(true);
            break;
          case 'aws_access_key':
            expect(v, why).toMatch(/^(?:AKIA|ASIA)[A-Z2-7]{16}$/);
            break;
          case 'ip_address':
            expect(v.includes(':') ? ipv6Scope(v) : ipv4Scope(v), why).toBe('public');
            break;
          case 'email':
            expect(v, why).toMatch(/^[a-z0-9._+-]+@[a-z0-9.-]+\.[a-z]{2,}$/);
            break;
          case 'private_key':
            expect(v, why).toMatch(/^-----BEGIN [A-Z ]*PRIVATE KEY-----(?:\n|\\n)[\s\S]+-----END [A-Z ]*PRIVATE KEY-----(?:\\n)?$/);
            if (s.variant === 'pem-json-escaped') expect(v.includes('\n'), why).toBe(false);
            if (s.variant === 'pem-yaml-indented') expect(v, why).toMatch(/\n {4,}MII/);
            break;
          case 'password':
            expect(v.length, why).toBeGreaterThanOrEqual(4);
            if (s.variant.startsWith('url-')) {
              expect(t.text[s.start - 1], why).toBe(':');
              expect(t.text[s.end], why).toBe('@');
              expect(v, why).not.toMatch(/[@#/?\s]/);
            }
            break;
        }
      }
    }
  });

  it('labels documented example values as examples and gives hard negatives no label', () => {
    const examples = texts.flatMap((t) => t.spans.filter((s) => s.example === true).map((s) => t.text.slice(s.start, s.end)));
    expect(examples).toEqual(expect.arrayContaining(['AKIAIOSFODNN7EXAMPLE', '4242 4242 4242 4242', '123-45-6789', 'jane.doe@example.com']));
    const negatives = texts.filter((t) => t.group === 'negative' && t.spans.length === 0).map((t) => t.text);
    expect(negatives.some((n) => /section \d\.\d\.\d\.\d/.test(n))).toBe(true);
    expect(negatives.some((n) => /confirmation number is \d/.test(n))).toBe(true);
    expect(texts.filter((t) => t.group !== 'negative').every((t) => t.spans.some((s) => s.type === t.group))).toBe(true);
  });

  it('writes phone numbers in each country\'s styles', () => {
    expect(PHONE_STYLES.map((st) => writePhone('GB', '020 7946 0321', '+44 20 7946 0321', st))).toEqual(['020 7946 0321', '+44 20 7946 0321', '(020) 7946 0321', '+44 (0)20 7946 0321', '0044 20 7946 0321']);
    expect(writePhone('DE', '030 12345678', '+49 30 12345678', 'national-alt')).toBe('030/12345678');
    expect(writePhone('FR', '01 42 68 53 00', '+33 1 42 68 53 00', 'national-alt')).toBe('01.42.68.53.00');
    expect(PHONE_STYLES.map((st) => writePhone('US', '(415) 482-1234', '+1 415-482-1234', st))).toEqual(['(415) 482-1234', '+1 415-482-1234', '415.482.1234', '+1 (415) 482-1234', '1-415-482-1234']);
  });
  it('fills someone else\'s templates: labelled values in the PII placeholders, plain fillers elsewhere', () => {
    const filled = templateTexts('My card {{credit_card_number}} was lost.\\nCall {{phone_number}}\nI live at {{address}}, {{name}}\n', 3, 2);
    expect(filled).toHaveLength(4);
    const [card, rest] = [filled[0]!, filled[1]!];
    expect(card.group).toBe('credit_card');
    expect(card.text).toContain('\nCall ');
    expect(card.text).not.toContain('{{');
    expect(card.spans.map((s) => s.type)).toEqual(['credit_card', 'phone']);
    const pan = card.text.slice(card.spans[0]!.start, card.spans[0]!.end).replace(/[ -]/g, '');
    expect(luhn(pan)).toBe(true);
    expect(rest.spans).toEqual([]);
    expect(rest.group).toBe('negative');
  });
  it('computes IBAN check digits as ISO 13616 does', () => {
    expect(ibanFor('DE', '370400440532013000')).toBe('DE89370400440532013000');
    expect(ibanFor('GB', 'WEST12345698765432')).toBe('GB82WEST12345698765432');
  });
});

describe('eval:peers scoring', () => {
  it('counts overlaps as found, examples and stray predictions as false alarms, unmapped types apart', () => {
    const sample = [
      { id: 'a', group: 'phone' as const, text: 'Call 020 7946 0321 or AKIAIOSFODNN7EXAMPLE', spans: [{ type: 'phone' as const, start: 5, end: 18, variant: 'gb-national' }, { type: 'aws_access_key' as const, start: 22, end: 42, variant: 'documented-example', example: true as const }] },
      { id: 'b', group: 'negative' as const, text: 'See section 1.4.2.1.', spans: [] },
    ];
    const score = scoreTool('presidio', sample, {
      a: [{ type: 'PHONE_NUMBER', start: 9, end: 18 }, { type: 'URL', start: 0, end: 4 }],
      b: [{ type: 'IP_ADDRESS', start: 12, end: 19 }],
    });
    expect(score.perType.phone).toEqual({ tp: 1, fp: 0, fn: 0, examplesFlagged: 0 });
    expect(score.perType.ip_address).toEqual({ tp: 0, fp: 1, fn: 0, examplesFlagged: 0 });
    expect(score.unmapped).toEqual({ URL: 1 });
    const secrets = scoreTool('detect_secrets', sample, { a: [{ type: 'AWS Access Key', start: 22, end: 42 }], b: [] });
    expect(secrets.perType.aws_access_key).toEqual({ tp: 0, fp: 1, fn: 0, examplesFlagged: 1 });
    expect(secrets.perType.phone.fn).toBe(1);
  });
});

describe('eval:peers section of EVALUATION.md', () => {
  it('goes before the later tiers the first time and replaces itself after that, leaving the rest as it was', () => {
    const doc = `# Tier 1\n\n${LATER_TIERS_MARKER}\n\n# Tier 2\n`;
    const first = withPeersSection(doc, `${PEERS_BEGIN}\nA\n${PEERS_END}\n`);
    expect(first).toBe(`# Tier 1\n\n${PEERS_BEGIN}\nA\n${PEERS_END}\n\n${LATER_TIERS_MARKER}\n\n# Tier 2\n`);
    expect(withPeersSection(first, `${PEERS_BEGIN}\nB\n${PEERS_END}\n`)).toBe(first.replace('\nA\n', '\nB\n'));
  });
});
