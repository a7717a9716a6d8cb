import { makeTrace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { detectOptions, detectPii, maskPii, maskTrace, piiModule } from '../src/modules/pii/index.js';
import { cardBrand, ibanValid, ipv4Scope, luhn, ssnValid } from '../src/modules/pii/validators.js';

const defaults = piiModule.configSchema.parse({});
const kinds = (text: string, options = {}) => detectPii(text, options).map((e) => e.kind);
const values = (text: string, options = {}) => detectPii(text, options).map((e) => text.slice(e.start, e.end));

describe('pii: validators', () => {
  it('Luhn, issuer ranges, IBAN mod 97 and length, SSN ranges, IPv4 scope', () => {
    expect(luhn('4539578763621486')).toBe(true);
    expect(luhn('4539578763621487')).toBe(false);
    expect(cardBrand('378734493671000')).toBe('amex');
    expect(cardBrand('2221000000000009')).toBe('mastercard');
    expect(cardBrand('9539578763621486')).toBeNull();
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
    expect(ibanValid('DE8937040044053201300')).toBe(false); // one short for DE
    expect(ibanValid('XX89370400440532013000')).toBe(false);
    expect(ssnValid('123', '45', '6780')).toBe(true);
    for (const [a, g, s] of [['000', '12', '3456'], ['666', '12', '3456'], ['912', '12', '3456'], ['123', '00', '4567'], ['123', '45', '0000']]) expect(ssnValid(a!, g!, s!)).toBe(false);
    expect(ipv4Scope('8.8.8.8')).toBe('public');
    expect(ipv4Scope('192.168.1.10')).toBe('private');
    expect(ipv4Scope('203.0.113.7')).toBe('documentation');
    expect(ipv4Scope('256.1.1.1')).toBeNull();
    expect(ipv4Scope('01.2.3.4')).toBeNull();
  });
});

describe('pii: email', () => {
  it('fires on real addresses with exact offsets', () => {
    expect(values('Contact Ada.Lovelace+work@analytical-engines.co.uk today.')).toEqual(['Ada.Lovelace+work@analytical-engines.co.uk']);
  });
  it('does not fire on handles, asset names, reserved domains, allowed domains or missing TLDs', () => {
    for (const s of ['Follow @openai on X', 'Use logo@2x.png for retina', 'Email user@example.com in docs', 'ssh git@localhost', 'name@domain', 'ping admin@corp.test']) {
      expect(kinds(s), s).toEqual([]);
    }
    expect(kinds('Write to support@acme.com', { allowEmailDomains: ['acme.com'] })).toEqual([]);
  });
});

describe('pii: phone', () => {
  it('fires on national and international formats', () => {
    expect(values('Call me at (415) 555-2671 tonight.')).toEqual(['(415) 555-2671']);
    expect(values('Our London office: +44 20 7946 0958.')).toEqual(['+44 20 7946 0958']);
    expect(values('Ruf an: 030 901820', { defaultRegion: 'DE' })).toEqual(['030 901820']);
    expect(values('phone 4155552671')).toEqual(['4155552671']);
  });
  it('does not fire on dates, times, versions, order ids, timestamps, product codes or invalid numbers', () => {
    const fine = [
      'The meeting is on 2024-03-15 at 10:30.',
      'Released 03/15/2024, version 10.15.7.',
      'Order #4155552671 has shipped.',
      'Your order number: 415-555-2671 is confirmed.',
      'The event fired at 1700000000 (unix time).',
      'Replace part 415-555-2671 with part 415-555-2672.',
      'Invalid: (123) 456-7890.',
      'The population grew from 1,234,567 to 2,345,678.',
      'ISBN 978-3-16-148410-0',
      'Amount: $4,155,552.67',
    ];
    for (const s of fine) expect(kinds(s), s).toEqual([]);
  });
});

describe('pii: credit_card', () => {
  it('fires on Luhn-valid numbers of known issuers, spaced, dashed or plain', () => {
    expect(values('Card: 4539 5787 6362 1486, exp 04/27')).toEqual(['4539 5787 6362 1486']);
    expect(values('amex 3787-344936-71000')).toEqual([]); // 378734493671000 is a published test card
    expect(values('charged to 5425-2334-3010-9903')).toEqual(['5425-2334-3010-9903']);
    expect(values('visa 4539578763621486')).toEqual(['4539578763621486']);
    expect(detectPii('my card 4539 5787 6362 1486')[0]!.confidence).toBeGreaterThan(0.95);
  });
  it('does not fire on failed checksums, unknown issuers, mixed separators, test cards or order ids', () => {
    const fine = [
      'Card: 4539 5787 6362 1487',
      'Tracking 9539 5787 6362 1486',
      '4539-5787 6362-1486',
      'Pay with 4242 4242 4242 4242 in test mode.',
      'Order id: 4539578763621486',
      'Timestamp 1700000000000 ms',
    ];
    for (const s of fine) expect(kinds(s), s).toEqual([]);
    expect(kinds('Pay with 4242 4242 4242 4242', { ignoreTestCards: false })).toEqual(['credit_card']);
  });
});

describe('pii: iban', () => {
  it('fires on valid IBANs, compact or grouped, and not on a following word', () => {
    expect(values('IBAN: DE89 3704 0044 0532 0130 00 PLEASE')).toEqual(['DE89 3704 0044 0532 0130 00']);
    expect(values('Pay GB82WEST12345698765432 by Friday')).toEqual(['GB82WEST12345698765432']);
  });
  it('does not fire on a wrong checksum, wrong length or unknown country', () => {
    for (const s of ['IBAN DE89 3704 0044 0532 0130 01', 'GB82WEST1234569876543', 'QQ82WEST12345698765432']) expect(kinds(s), s).toEqual([]);
  });
});

describe('pii: us_ssn', () => {
  it('fires on dashed SSNs, and on spaced or bare ones only with an SSN word', () => {
    expect(values('My SSN is 536-90-4399.')).toEqual(['536-90-4399']);
    expect(values('applicant 536-90-4399')).toEqual(['536-90-4399']);
    expect(values('social security number 536904399')).toEqual(['536904399']);
    expect(kinds('reference 536 90 4399')).toEqual([]);
  });
  it('does not fire on invalid areas, groups, serials or the published example numbers', () => {
    for (const s of ['SSN 000-12-3456', 'SSN 666-12-3456', 'SSN 912-34-5678', 'SSN 123-00-4567', 'SSN 123-45-0000', 'e.g. 123-45-6789', 'ssn 078-05-1120']) {
      expect(kinds(s), s).toEqual([]);
    }
  });
});

describe('pii: ip_address', () => {
  it('fires on public IPv4 and IPv6', () => {
    expect(values('Login from 81.2.69.160 failed.')).toEqual(['81.2.69.160']);
    expect(values('Client 2a00:1450:4001:81c::200e connected')).toEqual(['2a00:1450:4001:81c::200e']);
  });
  it('does not fire on versions, private or documentation ranges, invalid octets, times or MACs', () => {
    const fine = [
      'Upgrade to version 1.2.3.4 now.',
      'Server at 192.168.1.20 and 10.0.0.1, loopback 127.0.0.1, ::1.',
      'Example: 203.0.113.7 and 2001:db8::1.',
      'Bad 256.300.1.1 and 01.02.03.04.',
      'At 12:30:45 the MAC 00:1A:2B:3C:4D:5E joined.',
      'std::vector<int> and a::b::c',
      'Section 1.2.3.4.5 of the spec.',
      'Point your resolver at 8.8.8.8 or 1.1.1.1.',
    ];
    for (const s of fine) expect(kinds(s), s).toEqual([]);
    expect(kinds('Server at 192.168.1.20', { includePrivateIps: true })).toEqual(['ip_address']);
  });
});

describe('pii: module', () => {
  it('output PII fails with kind-based severity; a card in the output is critical', () => {
    const out = piiModule.evaluate(makeTrace({ output: { content: 'Sure, the card on file is 4539 5787 6362 1486 and the email is jo@corp.io.', finish_reason: 'stop' } }), defaults);
    expect(out.findings.map((f) => f.kind)).toEqual(['credit_card', 'email']);
    expect(out.severity).toBe('critical');
    expect(out.passed).toBe(false);
    expect(out.findings.map((f) => f.message).join(' ')).not.toMatch(/4539|jo@corp/);
  });
  it('input PII is labelled low and passes; context is scanned only when configured', () => {
    const trace = makeTrace({
      input: { text: 'My email is jo@corp.io, can you draft a reply?', messages: [] },
      context: [{ id: 'd1', content: 'Account owner: 536-90-4399', source: null, score: null }],
    });
    const o = piiModule.evaluate(trace, defaults);
    expect(o.findings.map((f) => [f.kind, f.field])).toEqual([['email', 'input']]);
    expect(o.passed).toBe(true);
    expect(o.severity).toBe('low');
    const withContext = piiModule.evaluate(trace, piiModule.configSchema.parse({ fields: ['input', 'output', 'context'] }));
    expect(withContext.findings.map((f) => f.kind)).toEqual(['email', 'us_ssn']);
    expect(withContext.findings[1]!.message).toMatch(/context document 1/);
  });
  it('a clean trace passes with score 1', () => {
    const o = piiModule.evaluate(makeTrace(), defaults);
    expect(o).toMatchObject({ passed: true, score: 1, severity: 'none', findings: [] });
  });
  it('allow_values and kinds narrow what is reported', () => {
    const trace = makeTrace({ output: { content: 'Reach support at +1 415 555 2671 or help@acme.io', finish_reason: 'stop' } });
    expect(piiModule.evaluate(trace, piiModule.configSchema.parse({ allow_values: ['+14155552671'] })).labels).toEqual(['email']);
    expect(piiModule.evaluate(trace, piiModule.configSchema.parse({ kinds: ['phone'] })).labels).toEqual(['phone']);
  });
  it('bad config is rejected with the field named', () => {
    const region = piiModule.configSchema.safeParse({ default_region: 'ZZ' });
    expect(region.success).toBe(false);
    expect(JSON.stringify(region.error?.issues)).toMatch(/default_region/);
    expect(piiModule.configSchema.safeParse({ kinds: ['passport'] }).success).toBe(false);
    expect(piiModule.configSchema.safeParse({ fields: [] }).success).toBe(false);
    expect(piiModule.configSchema.parse({ default_region: 'gb' }).default_region).toBe('GB');
  });
});

describe('pii: masking', () => {
  it('replaces values with numbered placeholders and reports original offsets', () => {
    const text = 'Email ada@x.io or bob@y.io, then ada@x.io again; call +44 20 7946 0958.';
    const r = maskPii(text);
    expect(r.text).toBe('Email [EMAIL_1] or [EMAIL_2], then [EMAIL_1] again; call [PHONE_1].');
    expect(r.entities.map((e) => text.slice(e.start, e.end))).toEqual(['ada@x.io', 'bob@y.io', 'ada@x.io', '+44 20 7946 0958']);
  });
  it('leaves text without PII untouched (same string)', () => {
    const text = 'Nothing personal here: version 1.2.3, order #12345.';
    expect(maskPii(text)).toEqual({ text, entities: [] });
  });
  it('maskTrace numbers values consistently across input, messages, output, context and reference', () => {
    const trace = makeTrace({
      input: { text: null, messages: [{ role: 'user', content: 'I am ADA@x.io, card 4539 5787 6362 1486' }, { role: 'assistant', content: 'Noted.' }] },
      output: { content: 'We will email ada@x.io and call (415) 555-2671.', finish_reason: 'stop' },
      context: [{ id: 'c1', content: 'Customer phone: 415.555.2671', source: 'crm', score: 0.9 }],
      reference: 'Reply to ada@x.io',
    });
    const masked = maskTrace(trace);
    expect(masked.input.messages[0]!.content).toBe('I am [EMAIL_1], card [CREDIT_CARD_1]');
    expect(masked.input.messages[1]).toEqual({ role: 'assistant', content: 'Noted.' });
    expect(masked.output.content).toBe('We will email [EMAIL_1] and call [PHONE_1].');
    expect(masked.context[0]).toEqual({ id: 'c1', content: 'Customer phone: [PHONE_1]', source: 'crm', score: 0.9 });
    expect(masked.reference).toBe('Reply to [EMAIL_1]');
    expect(masked.pii_masked).toBe(true);
    expect(trace.pii_masked).toBe(false); // the original is not mutated
    expect(trace.output.content).toContain('ada@x.io');
    // A masked trace has nothing left to find.
    expect(piiModule.evaluate(masked, piiModule.configSchema.parse({ fields: ['input', 'output', 'context'] })).findings).toEqual([]);
  });
  it('placeholders restart for each trace', () => {
    const a = maskTrace(makeTrace({ output: { content: 'b@q.io', finish_reason: 'stop' } }));
    const b = maskTrace(makeTrace({ output: { content: 'c@q.io', finish_reason: 'stop' } }));
    expect([a.output.content, b.output.content]).toEqual(['[EMAIL_1]', '[EMAIL_1]']);
  });
});

describe('pii: hostile input', () => {
  it('finishes on 100 KB of look-alike noise and finds nothing', () => {
    for (const text of ['a@'.repeat(50_000), '1 '.repeat(50_000), '1.'.repeat(50_000), ':'.repeat(100_000), '4'.repeat(100_000)]) {
      expect(detectPii(text)).toEqual([]);
    }
  });
});

describe('pii: what real traffic carries (issue 15)', () => {
  const found = (text: string, options = {}) => detectPii(text, options).map((e) => `${e.kind}:${text.slice(e.start, e.end)}`);
  it('finds UK, German and French numbers written nationally, with the default US region', () => {
    expect(found('Call me on 020 7946 0321 after six.')).toEqual(['phone:020 7946 0321']);
    expect(found('Her mobile: 07700 900123')).toEqual(['phone:07700 900123']);
    expect(found('Kontakt: 030 12345678 (Mo–Fr)')).toEqual(['phone:030 12345678']);
    expect(found('Handy 0151 23456789')).toEqual(['phone:0151 23456789']);
    expect(found('Rappelez-moi au 01 42 68 53 00 demain.')).toEqual(['phone:01 42 68 53 00']);
    expect(found('06 12 34 56 78 — text him the meter reading.')).toEqual(['phone:06 12 34 56 78']);
    expect(detectPii('Call me on 020 7946 0321.')[0]!.key).toBe('+442079460321');
  });
  it('reads each country\'s other ways of writing a number: slashes, dots, (0) and the 00 prefix', () => {
    expect(found('Tel. 030/12345678')).toEqual(['phone:030/12345678']);
    expect(found('Tel.: 089 / 123 456 78')).toEqual(['phone:089 / 123 456 78']);
    expect(found('Appelez le 01.42.68.53.00')).toEqual(['phone:01.42.68.53.00']);
    expect(found('Call +44 (0)20 7946 0321 today')).toEqual(['phone:+44 (0)20 7946 0321']);
    expect(found('Call 0044 20 7946 0321')).toEqual(['phone:0044 20 7946 0321']);
    expect(found('Ring 0049 30 12345678')).toEqual(['phone:0049 30 12345678']);
    expect(found('The landlord: 07900317017, text him.')).toEqual(['phone:07900317017']);
    // without a phone word: a German number with a slash, standing alone, no count's unit after it
    expect(found('089/9552796 — that is the landlord.')).toEqual(['phone:089/9552796']);
    expect(found('Landlord: 0176/74573993')).toEqual(['phone:0176/74573993']);
    expect(found('Porto\n Germany 83430\n030/64741253-Office')).toEqual(['phone:030/64741253']);
    for (const text of ['user_id=0986041881 logged in', 'Exported 09087702198.csv to the drive.', 'The build log shows 081/1868502 tests skipped.', 'Progress: 081/1868502 files', 'Done 081/1868502-files', 'Ratio 12/3456789 — fine.', 'Version 1.2.3.4 is out.']) expect(found(text), text).toEqual([]);
  });
  it('never runs a number on into the next line, and takes no US ZIP+4 code for a phone', () => {
    expect(found('Lyon\nFrance 14251\n07709 624738-Office')).toEqual(['phone:07709 624738']);
    expect(found('Springfield, IL 08137-8659')).toEqual([]);
  });
  it('national_regions orders and limits the fallback; an empty list turns it off', () => {
    const config = (national_regions: string[]) => detectOptions(piiModule.configSchema.parse({ national_regions }));
    expect(found('Call me on 020 7946 0321.', config([]))).toEqual([]);
    expect(found('Call me on 020 7946 0321.', config(['fr', 'gb']))).toEqual(['phone:020 7946 0321']);
    const bad = piiModule.configSchema.safeParse({ national_regions: ['ZZ'] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['national_regions', 0]);
  });
  it('does not take confirmation, booking, order or case numbers for phones, even when "number is" follows the id', () => {
    for (const text of [
      'Your confirmation number is 0207 3312 889.',
      'Your confirmation code for the flight is 0151 234567.',
      'Your order number is 012 3456 7890; keep it for returns.',
      'Booking reference: 0302-2345-678',
      'Case ID 030-123-4567: please quote it when you reply.',
      'SSN 078-05-1120 was printed on sample wallet cards.',
      'Chrome 126.0.6478.61 fixes the crash.',
    ]) expect(found(text), text).toEqual([]);
    // a phone word between the id and the number still makes it a phone
    expect(found('For your booking, call the hotel on 020 7946 0321.')).toEqual(['phone:020 7946 0321']);
  });
  it('does not take section, clause or heading numbers for IP addresses; real addresses still fire', () => {
    for (const text of [
      'See section 1.4.2.1 for the retention rules.',
      'As required by clause 11.6.4.9, the supplier notifies the customer.',
      'Requirement 1.19.3.5 is met by the audit log.',
      '3.8.4.2 Data retention\nPersonal data is kept for 30 days.',
      '## 4.1.2.7 Scope',
      'Steps 1.2.3.4 and 1.2.3.5 are optional.',
    ]) expect(found(text), text).toEqual([]);
    expect(found('Failed login from 81.2.69.142 at 03:12.')).toEqual(['ip_address:81.2.69.142']);
    expect(found('The client IP was 5.9.7.3.')).toEqual(['ip_address:5.9.7.3']);
    expect(found('Blocked 24.17.3.200 after five attempts.')).toEqual(['ip_address:24.17.3.200']);
  });
  it('does not take the user-info of a URL for an email address', () => {
    for (const text of [
      'postgres://app:sunshine-maggie@db.internal:5432/orders',
      'mongodb+srv://admin:OIcpcW*Om7E-U*hv@cluster0.x1y2z.mongodb.net/prod',
      'git clone https://ghp_Zx8Kq2LmN4pR7sT1vW3yA5bC9dE6fG0hJ2kM@github.com/acme/app',
    ]) expect(found(text).filter((f) => f.startsWith('email')), text).toEqual([]);
    expect(found('Write to ada@lovelace.dev, see https://lovelace.dev/contact')).toEqual(['email:ada@lovelace.dev']);
    expect(found('mailto:ada@lovelace.dev')).toEqual(['email:ada@lovelace.dev']);
  });
});
