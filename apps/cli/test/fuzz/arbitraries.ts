/**
 * Generators of hostile HTTP input for the fuzz suite: JSON values and body texts (wrong types, huge
 * strings, deep nesting, big arrays, prototype-pollution keys, lone surrogates, NUL, bidi overrides,
 * emoji), raw byte bodies with invalid UTF-8, odd Content-Type and Content-Length values, hostile
 * Authorization and X-Request-Id values, and hostile path ids.
 *
 * Nothing generated spells a leak marker (see checks.ts), so an error message that echoes its input
 * is not mistaken for a leak.
 */
import fc from 'fast-check';
import { LEAK_PATTERNS } from './checks.js';
import { keyOf, OPERATOR_KEY, ORGS, type KeyRole } from './surface.js';

const clean = (s: string): boolean => !LEAK_PATTERNS.some((p) => p.test(s));

/** Strings that break naive code: NUL, lone surrogates, bidi overrides, BOM, emoji, injection text. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  'a\uDBFFb',
  '\u202Egnp.exe',
  '\u2066\u2067\u2068\u2069',
  '\uFEFF',
  '\uFFFF\uFFFE',
  '👩‍👩‍👧‍👦🏳️‍🌈',
  'Z̷̧̛͓̗a̸̢͓l̶g̴o',
  '\r\n\r\n',
  '\t\v\f\b',
  '%00',
  '%',
  '../../../../etc/passwd',
  '..\\..\\windows',
  "'; DROP TABLE traces; --",
  '" OR 1=1 --',
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'null',
  'undefined',
  'NaN',
  '-0',
  '1e309',
  'Infinity',
];

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', '__defineGetter__', 'toString', 'valueOf', 'hasOwnProperty'];

export const hostileString: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom(10_000, 100_000, 1_100_000).map((n) => 'x'.repeat(n)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NASTY_STRINGS), fc.nat({ max: 2000 })).map(([s, n]) => s.repeat(n)) },
  )
  .filter(clean);

const hostileNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53 - 2, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, 5e-324, 8.64e15 + 1, 9e15),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** A hostile JSON value: wrong types in every position, odd strings and numbers, proto keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(hostileString, fc.constantFrom(...PROTO_KEYS)), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** Every path to a value inside a JSON document. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

function setAt(doc: unknown, path: (string | number)[], value: unknown, mode: 'set' | 'delete' | 'addKey', key: string): unknown {
  const copy = structuredClone(doc);
  if (path.length === 0) return mode === 'set' ? value : copy;
  let parent = copy as Record<string | number, unknown>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (mode === 'set') parent[last] = value;
  else if (mode === 'delete') delete parent[last];
  else {
    const target = parent[last];
    if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
      // defineProperty: a plain assignment of "__proto__" would set the prototype, not a key.
      Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
    }
  }
  return copy;
}

/** A valid document with one value replaced by a hostile one, removed, or given a hostile sibling key. */
export function mutated(valid: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(valid);
  return fc
    .tuple(fc.constantFrom(...paths), hostileValue, fc.constantFrom('set', 'set', 'delete', 'addKey') as fc.Arbitrary<'set' | 'delete' | 'addKey'>, fc.oneof(fc.constantFrom(...PROTO_KEYS), hostileString))
    .map(([path, value, mode, key]) => setAt(valid, path, value, mode, key));
}

/**
 * A valid document with one value replaced by nesting `n` levels deep, as text (JSON.stringify of such
 * a value would overflow the test's own stack).
 */
export function deeplyNested(valid: unknown): fc.Arbitrary<string> {
  const paths = pathsOf(valid);
  return fc.tuple(fc.constantFrom(...paths), fc.constantFrom(70, 1_000, 10_000, 100_000), fc.constantFrom('[', '{"a":')).map(([path, n, open]) => {
    const marker = '"\u0000deep\u0000"';
    const text = JSON.stringify(setAt(valid, path, '\u0000deep\u0000', 'set', '')) ?? 'null';
    return text.replace(marker, open.repeat(n) + (open === '[' ? '0]' : '0}') + (open === '[' ? ']' : '}').repeat(n - 1));
  });
}

/** JSON texts a serializer would never write, and nesting far past any sane depth. */
export const rawJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'null',
    'true',
    '0',
    '""',
    '[]',
    '{}',
    '{',
    '}',
    '{"a":1,}',
    '[1,]',
    "{'a':1}",
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":1e400}',
    '{"a":-1e400}',
    '{"a":0x10}',
    '{"a":01}',
    '\uFEFF{}',
    '{"input":"a","input":1,"output":"b"}',
    '{"__proto__":{"polluted":true},"input":"q","output":"a"}',
    '{"constructor":{"prototype":{"polluted":true}},"input":"q","output":"a"}',
    '{"traces":[{"__proto__":{"polluted":true},"input":"q","output":"a"}]}',
    '{"traces":{"length":1,"0":{"input":"q","output":"a"}}}',
    '{"a":"\\ud800"}',
    '{"a":"\\u0000"}',
    '{"a":"\\x41"}',
    '/* comment */ {}',
    '{"a":1} trailing',
    '{"a":1}{"b":2}',
    '\u0000',
  ),
  fc.tuple(fc.constantFrom(1_000, 10_000, 100_000), fc.constantFrom('[', '{"a":')).map(([n, open]) => open.repeat(n) + (open === '[' ? ']' : '}').repeat(n)),
  fc.constantFrom(10_000, 100_000).map((n) => `{"input":"q","output":"a","json_schema":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
  fc.constantFrom(10_000, 50_000).map((n) => `{"traces":[${'{"input":"q","output":"a"},'.repeat(n)}{"input":"q","output":"a"}]}`),
  fc.constantFrom(100_000, 300_000).map((n) => `[${'0,'.repeat(n)}0]`),
);

/** UTF-8 byte sequences that are not valid UTF-8, spliced into a JSON string. */
const INVALID_UTF8: number[][] = [[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf0, 0x9f, 0x98]];

export const invalidUtf8Body: fc.Arbitrary<Uint8Array> = fc.tuple(fc.constantFrom(...INVALID_UTF8), fc.boolean()).map(([bad, inKey]) => {
  const before = Buffer.from(inKey ? '{"' : '{"input":"', 'utf8');
  const after = Buffer.from(inKey ? '":1,"input":"q","output":"a"}' : '","output":"a"}', 'utf8');
  return new Uint8Array(Buffer.concat([before, Buffer.from(bad), after]));
});

/** A request body: text, bytes, or none. */
export type Body = { kind: 'none' } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array };

/** Bodies print as their size and first characters in a counterexample, not as megabytes of text. */
function compact<B extends Body>(original: B): B {
  const body = { ...original };
  const shown = body.kind === 'text' ? body.text : body.kind === 'bytes' ? Buffer.from(body.bytes).toString('latin1') : '';
  const size = body.kind === 'text' ? body.text.length : body.kind === 'bytes' ? body.bytes.length : 0;
  Object.defineProperty(body, fc.toStringMethod, { configurable: true, value: () => `${body.kind}(${size}): ${JSON.stringify(shown.slice(0, 160))}${size > 160 ? '…' : ''}` });
  return body;
}

/** Hostile bodies for an operation whose valid body is `valid` (`{}` when unknown). */
export function hostileBody(valid: unknown): fc.Arbitrary<Body> {
  return hostileBodies(valid).map(compact);
}

function hostileBodies(valid: unknown): fc.Arbitrary<Body> {
  const text = (t: string): Body => ({ kind: 'text', text: t });
  return fc.oneof(
    { weight: 5, arbitrary: mutated(valid).map((v) => text(JSON.stringify(v) ?? 'null')) },
    { weight: 2, arbitrary: hostileValue.map((v) => text(JSON.stringify(v) ?? 'null')) },
    { weight: 3, arbitrary: rawJsonText.map(text) },
    { weight: 2, arbitrary: deeplyNested(valid).map(text) },
    { weight: 1, arbitrary: invalidUtf8Body.map((bytes): Body => ({ kind: 'bytes', bytes })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): Body => ({ kind: 'bytes', bytes })) },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
    { weight: 1, arbitrary: fc.constant(valid).map((v) => text(JSON.stringify(v))) },
  );
}

export const contentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  undefined,
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON; CHARSET=UTF-8',
  'application/json;charset=latin1',
  'application/json ; x="y;z"',
  ' application/json ',
  'application/json, text/plain',
  'application/jsonx',
  'application/json-patch+json',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  '',
  ';',
  '*/*',
  'application/json\u00ff',
  'a'.repeat(5000),
);

/** Content-Length values (sent as a header alongside the real body; Request sends the true length on a socket). */
export const contentLength: fc.Arbitrary<string | undefined> = fc.constantFrom(undefined, undefined, undefined, '0', '-1', 'abc', '1e400', '99999999999999999999', '1.5', ' 5', '0x10');

/** Authorization / X-API-Key headers: valid keys of every role of both orgs, and hostile values (ByteStrings: fetch refuses others). */
export const credentials: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...ORGS), fc.constantFrom<KeyRole>('ingest', 'read', 'admin', 'all', 'all')).map(([org, role]) => ({ authorization: `Bearer ${keyOf(org, role)}` })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...ORGS), fc.constantFrom<KeyRole>('ingest', 'all')).map(([org, role]) => ({ 'x-api-key': keyOf(org, role) })) },
  { weight: 1, arbitrary: fc.constant({ authorization: `Bearer ${OPERATOR_KEY}` }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<Record<string, string>>(
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: 'Bearer  ' },
      { authorization: `bearer ${keyOf('org_fuzz_a', 'all')}` },
      { authorization: `BEARER   ${keyOf('org_fuzz_a', 'all')}   ` },
      { authorization: `Bearer ${keyOf('org_fuzz_a', 'all')} extra` },
      { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` },
      { authorization: `Bearer ${'k'.repeat(300)}` },
      { authorization: `Bearer ${'k'.repeat(8000)}` },
      { authorization: 'Bearer \u00ff\u00fe\u00e9' },
      { authorization: 'Bearer mtr_unknown_key_0123456789' },
      { authorization: `Bearer ${keyOf('org_fuzz_a', 'all')}`, 'x-api-key': 'mtr_unknown_key_0123456789' },
      { authorization: 'Bearer mtr_unknown_key_0123456789', 'x-api-key': keyOf('org_fuzz_a', 'all') },
      { 'x-api-key': '' },
      { 'x-api-key': '   ' },
      { 'x-api-key': 'k'.repeat(300) },
      { authorization: `Bearer ${keyOf('org_fuzz_a', 'all').toUpperCase()}` },
      { authorization: `Bearer ${keyOf('org_fuzz_a', 'all').slice(0, -1)}` },
    ),
  },
);

/** X-Request-Id values: sane ones (echoed) and hostile ones (replaced). */
export const requestId: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
  fc.constantFrom('', ' ', 'a b', 'x'.repeat(129), 'x'.repeat(8000), '../../etc', 'é', '\u00ff', 'id;drop', '<script>', 'a\tb', '"quoted"', 'a,b'),
);

/** Path ids, already percent-encoded for a URL path. */
export const pathId: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '%00',
    'a%00b',
    '..%2f..%2fetc%2fpasswd',
    '..%2F..',
    '%2e%2e',
    '..',
    '.',
    '%',
    '%%',
    '%zz',
    '%E0%A4%A',
    '%ED%A0%80',
    '%C0%AF',
    '%FF',
    '%F0%9F%98%80',
    '%E2%80%AE',
    '%20',
    '%0d%0aSet-Cookie:%20x=1',
    ';a=b',
    '%3B',
    '%3F',
    '%23',
    '%2F',
    'a'.repeat(5000),
    encodeURIComponent('é'.repeat(2000)),
    encodeURIComponent('\u202Etxt'),
    'key_org_fuzz_b_read', // a real key id: revoking it is a write that succeeds (and only costs org b's read key)
    'org_fuzz_b',
    'default',
  ),
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
  hostileString.filter((s) => s.length < 6000).map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD'))),
);

/** A query string (with its `?`), usually none. */
export const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('?', '?a', '?%', '?a=%zz', '?limit=-1', '?limit=1e400', '?limit=abc', '?cursor=%00', '?org_id=org_fuzz_b', '?__proto__[x]=1', '?a=1&a=2', `?q=${'x'.repeat(5000)}`),
  },
);

/**
 * Edge values of the public trace, for the read-back property (readback.test.ts): the classes an
 * outside probe found answered 202 and then altered or lost — times at and past the bounds (ISO with
 * offsets, epoch milliseconds), Unicode with lone surrogates and NUL, object keys such as "__proto__"
 * and "constructor", numbers at the edges of a double and past them (1e309), texts at and past the
 * byte bound of the indexed fields, and sizes around the limits. A trace is made of storable edge
 * values, and about half the time one value is then broken by a class that cannot be stored
 * (`breakOne`), so that both outcomes are reached.
 */
export const EDGE = {
  /** Written as `1e309` in the body text (JSON.parse gives Infinity); JSON.stringify cannot write it. */
  INFINITY: '\u0001infinity\u0001',
  MAX_TIMESTAMP_MS: 253_402_300_799_999,
  MAX_UINT32: 4_294_967_295,
} as const;

/** The body text of a trace made by `edgeTrace`: JSON with the INFINITY marks written as 1e309. */
export function edgeBodyText(trace: unknown): string {
  return JSON.stringify(trace).replaceAll(JSON.stringify(EDGE.INFINITY), '1e309');
}

const LONE = ['\uD800', '\uDFFF', 'a\uDBFFb', '\uDC00\uD800'];

const edgePiece = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
  { weight: 2, arbitrary: fc.constantFrom('\u0000', 'a\u0000b', '\uFFFF', '\uFFFE', '中', '😀', '\uD83D\uDE00', '%', '%00', '%25', '\u202E', '\u2028', '"', '\\', '__proto__') },
);
export const edgeText: fc.Arbitrary<string> = fc.array(edgePiece, { maxLength: 5 }).map((parts) => parts.join(''));

/** Texts at the bounds of the short, indexed fields: 1,000 characters, 1,000 bytes of UTF-8. */
const AT_SHORT_BOUND = ['中'.repeat(333), 'é'.repeat(500), 'x'.repeat(1000), '😀'.repeat(250), `${'é'.repeat(499)}\u0000`];
/** One step past them. */
const PAST_SHORT_BOUND = ['中'.repeat(334), 'é'.repeat(501), 'x'.repeat(1001), '😀'.repeat(251)];

const edgeShortText: fc.Arbitrary<string> = fc.oneof({ weight: 5, arbitrary: edgeText }, { weight: 1, arbitrary: fc.constantFrom(...AT_SHORT_BOUND) });

const edgeKey: fc.Arbitrary<string> = fc.oneof({ weight: 3, arbitrary: edgeText }, { weight: 2, arbitrary: fc.constantFrom('constructor', 'prototype', 'toString', 'hasOwnProperty', '', '\u0000', 'valueOf', '__proto__x') });

const edgeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.1, 1e308, -1e308, 5e-324, 2 ** 53 + 2, -(2 ** 63), EDGE.MAX_UINT32),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** An object whose keys are set as own properties (as JSON.parse sets them). */
function ownObject<V>(value: fc.Arbitrary<V>, maxKeys: number): fc.Arbitrary<Record<string, V>> {
  return fc.array(fc.tuple(edgeKey, value), { maxLength: maxKeys }).map((entries) => {
    const out: Record<string, V> = {};
    for (const [k, v] of entries) setOwn(out, k, v);
    return out;
  });
}

function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

/** Free-form JSON (model.parameters, json_schema): edge numbers, texts and keys, nested a little. */
export const edgeJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    edgeText,
    edgeNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    ownObject(tie('value'), 3),
  ),
})).value;

/** ISO 8601 at an offset of `offsetMin` minutes for the instant `ms` (the written year may differ from the instant's). */
function isoAt(ms: number, offsetMin: number, digits: 0 | 3 | 6): string {
  const wall = new Date(ms + offsetMin * 60_000).toISOString();
  const abs = Math.abs(offsetMin);
  const offset = offsetMin === 0 ? 'Z' : `${offsetMin < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  const fraction = digits === 0 ? '' : `.${wall.slice(20, 23)}${'0'.repeat(digits - 3)}`;
  return `${wall.slice(0, 19)}${fraction}${offset}`;
}

const offsetMinutes = fc.integer({ min: -14 * 60, max: 14 * 60 });
const digits = fc.constantFrom<0 | 3 | 6>(0, 3, 6);

/** Times within the bounds: epoch milliseconds and ISO at any offset, the bounds themselves included, and recent ones. */
const edgeTimestamp: fc.Arbitrary<number | string> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 30 * 86_400_000 }), offsetMinutes, digits, fc.boolean()).map(([ago, offset, d, iso]) => (iso ? isoAt(Date.now() - ago, offset, d) : Date.now() - ago)),
  fc.constantFrom<number | string>(0, 1, EDGE.MAX_TIMESTAMP_MS, '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59+00:00', '1970-01-01T00:00:00Z', '1970-01-01T01:00:00+01:00', '2026-06-01T12:00:00.123456789+14:00'),
  fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((n) => Math.floor((n / (2 ** 31 - 1)) * EDGE.MAX_TIMESTAMP_MS)),
  fc
    .tuple(fc.integer({ min: 0, max: 2 ** 31 - 1 }), offsetMinutes, digits)
    .map(([n, offset, d]) => isoAt(Math.floor((n / (2 ** 31 - 1)) * EDGE.MAX_TIMESTAMP_MS), offset, d))
    .filter((iso) => /^\d{4}-/.test(iso)),
);

/** Times past the bounds, by their instant: epoch milliseconds, and ISO whose written year is in range. */
const TIMES_PAST_BOUNDS: (number | string)[] = [
  -1,
  EDGE.MAX_TIMESTAMP_MS + 1,
  8.64e15,
  8.64e15 + 1,
  '9999-12-31T23:59:59-01:00',
  '9999-12-31T23:30:00.000-00:31',
  '1970-01-01T00:00:00+00:01',
  '1969-12-31T23:59:59.999Z',
  isoAt(EDGE.MAX_TIMESTAMP_MS + 60_000, -120, 3),
  isoAt(-60_000, 120, 0),
];

/** A text, usually small, sometimes near the body and record limits. */
const edgeSizedText: fc.Arbitrary<string> = fc.oneof(
  { weight: 15, arbitrary: edgeText },
  { weight: 1, arbitrary: fc.constantFrom(10_000, 900_000, 990_000, 1_000_000).map((n) => 'x'.repeat(n)) },
);

/** A public trace of storable edge values (valid otherwise). */
const storableTrace: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    timestamp: edgeTimestamp,
    application: edgeShortText,
    environment: edgeShortText,
    model: fc.record({ provider: edgeShortText, name: edgeShortText, parameters: ownObject(edgeJson, 4) }, { requiredKeys: [] }),
    input: fc.oneof(edgeSizedText, fc.record({ messages: fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'assistant', '\u0000', 'tool 😀'), content: edgeText }), { minLength: 1, maxLength: 3 }) })),
    output: fc.oneof(edgeSizedText, fc.record({ content: edgeText, finish_reason: fc.option(edgeShortText) }, { requiredKeys: ['content'] })),
    json_schema: ownObject(edgeJson, 4),
    context: fc.array(fc.oneof(edgeText, fc.record({ content: edgeText, id: edgeShortText, source: edgeShortText, score: edgeNumber }, { requiredKeys: ['content'] })), { maxLength: 3 }),
    reference: edgeText,
    usage: fc.record({ input_tokens: fc.constantFrom(0, 1, EDGE.MAX_UINT32), output_tokens: fc.constantFrom(0, EDGE.MAX_UINT32), cost_usd: fc.constantFrom(0, 0.5, 1e308, 5e-324) }, { requiredKeys: [] }),
    latency_ms: fc.constantFrom(0, 0.5, 420.25, EDGE.MAX_UINT32),
    user_id: edgeShortText,
    session_id: edgeShortText,
    metadata: ownObject(edgeText, 4),
    tags: fc.array(edgeText.filter((t) => t.length >= 1 && t.length <= 256), { maxLength: 4 }),
  },
  { requiredKeys: ['input', 'output'] },
);

type Spot = { parent: Record<string | number, unknown>; key: string | number };

/** Where values sit in a trace: strings, numbers and objects, each with its parent and key. */
function spotsOf(trace: Record<string, unknown>): { strings: Spot[]; numbers: Spot[]; objects: Record<string, unknown>[] } {
  const strings: Spot[] = [];
  const numbers: Spot[] = [];
  const objects: Record<string, unknown>[] = [];
  const walk = (value: unknown, parent: Record<string | number, unknown> | null, key: string | number): void => {
    if (typeof value === 'string' && parent !== null && key !== 'timestamp' && key !== 'trace_id') strings.push({ parent, key });
    else if (typeof value === 'number' && parent !== null && key !== 'timestamp') numbers.push({ parent, key });
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, value as unknown as Record<number, unknown>, i));
    else if (value !== null && typeof value === 'object') {
      objects.push(value as Record<string, unknown>);
      for (const k of Object.keys(value)) walk((value as Record<string, unknown>)[k], value as Record<string, unknown>, k);
    }
  };
  walk(trace, null, '');
  return { strings, numbers, objects };
}

const BREAKS = ['lone surrogate', 'lone surrogate in a key', '__proto__ key', 'infinity', 'time', 'short text', 'count'] as const;

/** The trace with one value broken by a class that cannot be stored as sent (a fresh copy). */
export function breakOne(trace: Record<string, unknown>, kind: (typeof BREAKS)[number], pick: number): Record<string, unknown> {
  const copy = structuredClone(trace);
  const { strings, numbers, objects } = spotsOf(copy);
  const at = <T>(list: T[]): T | undefined => (list.length === 0 ? undefined : list[pick % list.length]);
  switch (kind) {
    case 'lone surrogate': {
      const spot = at(strings);
      if (spot !== undefined) spot.parent[spot.key] = `${String(spot.parent[spot.key])}${LONE[pick % LONE.length]}`;
      else copy.reference = LONE[0];
      break;
    }
    case 'lone surrogate in a key':
      setOwn(at(objects.filter((o) => o !== copy && !Array.isArray(o) && (o === copy.metadata || o === (copy.model as Record<string, unknown> | undefined)?.parameters || o === copy.json_schema))) ?? ((copy.metadata ??= {}) as object), `k${LONE[pick % LONE.length]}`, 'v');
      break;
    case '__proto__ key':
      setOwn(at(objects) ?? copy, '__proto__', pick % 2 === 0 ? { polluted: true } : 'x');
      break;
    case 'infinity': {
      const spot = at(numbers);
      if (spot !== undefined) spot.parent[spot.key] = EDGE.INFINITY;
      else copy.json_schema = { maximum: EDGE.INFINITY };
      break;
    }
    case 'time':
      copy.timestamp = TIMES_PAST_BOUNDS[pick % TIMES_PAST_BOUNDS.length];
      break;
    case 'short text': {
      const fields = ['application', 'environment', 'user_id', 'session_id', 'model'] as const;
      const field = fields[pick % fields.length]!;
      const past = PAST_SHORT_BOUND[pick % PAST_SHORT_BOUND.length];
      if (field === 'model') copy.model = { ...(copy.model as object), name: past };
      else copy[field] = past;
      break;
    }
    case 'count':
      if (pick % 2 === 0) copy.usage = { ...(copy.usage as object), input_tokens: EDGE.MAX_UINT32 + 1 };
      else copy.latency_ms = EDGE.MAX_UINT32 + 0.5;
      break;
  }
  return copy;
}

/** A public trace of edge values; about half of them with one value that cannot be stored as sent. */
export const edgeTrace: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(storableTrace, fc.option(fc.tuple(fc.constantFrom(...BREAKS), fc.nat()), { freq: 2 }))
  .map(([trace, broken]) => {
    const out = broken === null ? trace : breakOne(trace, broken[0], broken[1]);
    // A counterexample prints as the start of its body text, not as a megabyte of it.
    Object.defineProperty(out, fc.toStringMethod, { configurable: true, value: () => `${broken === null ? 'storable' : broken[0]}: ${edgeBodyText(out).slice(0, 600)}…` });
    return out;
  });

/*
 * Evaluation hostility (README, "Evaluation bounds"): what one tenant can send to stall evaluation for
 * everyone. Used by evaluation.test.ts against the real modules and the evaluation pool.
 */

/** Regexes that backtrack catastrophically in a backtracking engine, and forms RE2 cannot run at all. */
export const CATASTROPHIC_PATTERNS = ['^(a+)+$', '^(a|a)*$', '^(a|aa)+$', '^([a-z]+)*$', '(x+x+)+y', '^(\\w+\\s?)+$', '^(.*a){12}$', '^((ab)*)+$'];
export const NON_RE2_PATTERNS = ['^(a)\\1$', '^(?=a)a+$', '^(?!b)a+$', '(?<x>a)\\k<x>'];

/** A string that makes a catastrophic pattern explore every split: a long run and a final miss. */
export const pumpedString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('a', 'x', 'ab', 'a '), fc.integer({ min: 20, max: 5_000 }), fc.constantFrom('!', '', 'b', '\u0000'))
  .map(([unit, n, end]) => unit.repeat(n) + end);

/** A public-trace `json_schema` whose patterns (pattern, patternProperties, propertyNames) are hostile. */
export const hostileJsonSchema: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(fc.constantFrom(...CATASTROPHIC_PATTERNS, ...NON_RE2_PATTERNS), fc.constantFrom('pattern', 'patternProperties', 'propertyNames'), fc.boolean())
  .map(([pattern, where, unique]) => ({
    type: 'object',
    ...(where === 'pattern' ? { properties: { s: { type: 'string', pattern } } } : {}),
    ...(where === 'patternProperties' ? { patternProperties: { [pattern]: { type: 'number' } } } : {}),
    ...(where === 'propertyNames' ? { propertyNames: { pattern } } : {}),
    ...(unique ? { properties: { list: { type: 'array', uniqueItems: true } } } : {}),
  }));

/** A public trace built to be costly to evaluate: a hostile schema with a pumped output, or dense or repetitive text. */
export const costlyTrace: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.tuple(hostileJsonSchema, pumpedString).map(([json_schema, s]) => ({ input: 'Answer in JSON.', expected_format: 'json', json_schema, output: JSON.stringify({ s, [s]: 1, list: Array.from({ length: 50 }, () => ({ s })) }) })),
  fc.tuple(fc.constantFrom('kill you kill him how to ', 'The API does not support it. The API supports it. ', 'Revenue was $5M. ', 'call 415-555-2671 or ada@acme.dev ', 'a@b.c@'), fc.integer({ min: 1_000, max: 400_000 })).map(([unit, size]) => ({
    input: unit.repeat(Math.ceil(size / 4 / unit.length)),
    output: unit.repeat(Math.ceil(size / unit.length)).slice(0, size),
  })),
  // one character repeated, between a prefix and a suffix that make a backtracking regex retry from each
  fc.tuple(fc.constantFrom("I can't help with that.", '', 'Here are 5 steps:'), fc.constantFrom('a', '!', '`', '\n', 'passwordtoken_', '1,', 'a.'), fc.integer({ min: 1_000, max: 400_000 }), fc.constantFrom('x', ' @x.yz', '\n- item')).map(([prefix, unit, size, suffix]) => ({
    input: 'Go on.',
    output: prefix + unit.repeat(Math.ceil(size / unit.length)) + suffix,
  })),
);

const CATEGORY_NAMES = ['violence', 'self_harm', 'sexual', 'hate', 'weapons_illegal'];

/** Policy documents with hostile numbers (weights, knobs), proto-named keys and large lexicons. */
export const hostilePolicy: fc.Arbitrary<unknown> = fc.record(
  {
    modules: fc.record(
      {
        safety: fc.record({
          weight: hostileNumber,
          config: fc.record({
            extra_terms: fc.oneof(
              fc.dictionary(fc.constantFrom(...CATEGORY_NAMES, ...PROTO_KEYS), fc.array(fc.constantFrom('kill the proc', '__proto__', 'constructor', 'x'), { maxLength: 3 })),
              fc.integer({ min: 1, max: 2_000 }).map((n) => ({ violence: Array.from({ length: n }, (_, i) => `kill the ${i.toString(36)} proc`) })),
            ),
            allow: fc.array(fc.constantFrom('kill the zz proc', '', '__proto__'), { maxLength: 3 }),
          }, { requiredKeys: [] }),
        }, { requiredKeys: [] }),
        quality: fc.record({ budget_us: hostileNumber, config: fc.record({ min_reading_ease: hostileNumber, max_chars: hostileNumber }, { requiredKeys: [] }) }, { requiredKeys: [] }),
        format: fc.record({ weight: hostileNumber }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
