/**
 * Checksums and number-plan rules that separate real identifiers from look-alikes: Luhn and issuer
 * ranges for payment cards, ISO 13616 mod-97 and per-country length for IBANs, SSA rules for US
 * Social Security numbers, strict dotted-quad for IPv4.
 *
 * @example
 *   luhn('4539578763621486') // true
 *   cardBrand('4539578763621486') // 'visa'
 *   ibanValid('DE89370400440532013000') // true
 */
import { isIPv6 } from 'node:net';

export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** The card network for a PAN (digits only) whose prefix and length match a known issuer range, else null. */
export function cardBrand(pan: string): string | null {
  const len = pan.length;
  const p2 = Number(pan.slice(0, 2));
  const p3 = Number(pan.slice(0, 3));
  const p4 = Number(pan.slice(0, 4));
  const p6 = Number(pan.slice(0, 6));
  if (pan[0] === '4' && (len === 13 || len === 16 || len === 19)) return 'visa';
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && len === 16) return 'mastercard';
  if ((p2 === 34 || p2 === 37) && len === 15) return 'amex';
  if ((p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925)) && len >= 16 && len <= 19) return 'discover';
  if (p4 >= 3528 && p4 <= 3589 && len >= 16 && len <= 19) return 'jcb';
  if (((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) && len >= 14 && len <= 19) return 'diners';
  if (p2 === 62 && len >= 16 && len <= 19) return 'unionpay';
  if ((p4 === 5018 || p4 === 5020 || p4 === 5038 || p4 === 5893 || p4 === 6304 || p4 === 6759 || p4 === 6761 || p4 === 6762 || p4 === 6763) && len >= 12 && len <= 19) return 'maestro';
  return null;
}

/** Test numbers published by card networks and payment providers: documentation, not customer data. */
export const TEST_CARDS = new Set([
  '4111111111111111', '4242424242424242', '4012888888881881', '4222222222222', '4000056655665556', '4000000000000002',
  '5555555555554444', '5105105105105100', '5200828282828210', '2223003122003222', '378282246310005', '371449635398431',
  '378734493671000', '6011111111111117', '6011000990139424', '3530111333300000', '3566002020360505', '30569309025904',
  '38520000023237', '6200000000000005', '4000000000000077', '4000000000003220', '4000000000009995', '4000002500003155',
]);

// ISO 13616 IBAN lengths by country (SWIFT IBAN registry).
const IBAN_LENGTH: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23,
  GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19,
  SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/** IBAN (upper-case, no spaces) with a known country, that country's length and a valid mod-97 check. */
export function ibanValid(iban: string): boolean {
  const expected = IBAN_LENGTH[iban.slice(0, 2)];
  if (expected === undefined || iban.length !== expected) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) remainder = (remainder * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) remainder = (remainder * 100 + (c - 55)) % 97;
    else return false;
  }
  return remainder === 1;
}

/** US SSN area/group/serial rules: no 000, 666 or 9xx area, no 00 group, no 0000 serial. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (group === '00' || serial === '0000') return false;
  return true;
}

/** Numbers printed in ads and documentation (Woolworth's wallet card, the canonical 123-45-6789). */
export const EXAMPLE_SSNS = new Set(['078051120', '219099999', '123456789', '111111111', '222222222', '333333333', '444444444', '555555555', '777777777', '888888888']);

export type IpScope = 'public' | 'private' | 'documentation';

/** Strict IPv4 (no leading zeros) → its scope, or null when not a valid address. */
export function ipv4Scope(s: string): IpScope | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const o: number[] = [];
  for (const p of parts) {
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p[0] === '0')) return null;
    const v = Number(p);
    if (!Number.isInteger(v) || v > 255) return null;
    o.push(v);
  }
  const [a, b, c] = o as [number, number, number, number];
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return 'documentation';
  if (a === 0 || a === 10 || a === 127 || a >= 224 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)) return 'private';
  return 'public';
}

/** IPv6 → its scope, or null when not a valid address (or too short to be anything but a token like "::"). */
export function ipv6Scope(s: string): IpScope | null {
  if (!isIPv6(s)) return null;
  const groups = s.split(':').filter((g) => g !== '');
  if (groups.length < 3) return null;
  const first = s.toLowerCase();
  if (first.startsWith('2001:db8:') || first.startsWith('2001:0db8:')) return 'documentation';
  if (/^(?:fe[89ab]|f[cd]|ff)/.test(first) || first === '::1') return 'private';
  return 'public';
}
