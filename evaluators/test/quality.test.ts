import { makeTrace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { qualityModule } from '../src/modules/quality/index.js';
import { detectLanguage } from '../src/modules/quality/language.js';
import { fleschReadingEase, syllables } from '../src/modules/quality/readability.js';
import { maskCode, numbers, sentences } from '../src/modules/quality/text.js';

const defaults = qualityModule.configSchema.parse({});
function run(content: string, config: Record<string, unknown> = {}, finish_reason: string | null = 'stop') {
  return qualityModule.evaluate(makeTrace({ output: { content, finish_reason } }), qualityModule.configSchema.parse(config));
}
function kinds(content: string, config: Record<string, unknown> = {}) {
  return run(content, config).findings.map((f) => f.kind);
}

const NORMAL =
  'To rotate the API key, open Settings, choose Keys and click "Rotate". The old key keeps working for 24 hours, so you can ' +
  'deploy the new one without downtime. After that window it is revoked automatically, and any request that still uses it ' +
  'receives a 401 response.';

describe('quality module', () => {
  it('raises nothing on a normal answer and labels its language and readability', () => {
    const r = run(NORMAL);
    expect(r.findings).toEqual([]);
    expect(r.passed).toBe(true);
    expect(r.score).toBe(1);
    expect(r.labels).toContain('language:en');
    expect(r.labels.some((l) => l.startsWith('readability:'))).toBe(true);
  });

  it('does not call a one-word answer too short by default', () => {
    expect(kinds('Paris.')).toEqual([]);
  });

  it('flags an empty or punctuation-only answer as too_short (medium, fails)', () => {
    const r = run('  ...  ');
    expect(r.findings.map((f) => f.kind)).toEqual(['too_short']);
    expect(r.severity).toBe('medium');
    expect(r.passed).toBe(false);
  });

  it('applies configured length bounds', () => {
    expect(kinds(NORMAL, { min_words: 100 })).toEqual(['too_short']);
    expect(kinds(NORMAL, { max_chars: 100 })).toEqual(['too_long']);
    expect(kinds(NORMAL, { max_words: 10 })).toEqual(['too_long']);
  });

  it('reports a disallowed language only when the policy lists allowed languages', () => {
    const spanish = 'Para cambiar la clave, abre la configuración y pulsa el botón de rotar. La clave anterior sigue funcionando durante un día.';
    expect(kinds(spanish)).toEqual([]);
    expect(run(spanish).labels).toContain('language:es');
    const r = run(spanish, { allowed_languages: ['en', 'de'] });
    expect(r.findings.map((f) => f.kind)).toEqual(['language']);
    expect(kinds(spanish, { allowed_languages: ['es'] })).toEqual([]);
  });

  it('rejects a malformed language code in the config with the path', () => {
    const parsed = qualityModule.configSchema.safeParse({ allowed_languages: ['english'] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['allowed_languages', 0]);
  });

  it('flags spelling above the error rate, with the offsets of each misspelled word', () => {
    const text = 'We recieved your pakage yesterday and it was definately damaged. The warehuse will send a replacment tomorow, and you will get an email when it ships.';
    const r = run(text);
    const spelling = r.findings.filter((f) => f.kind === 'spelling');
    expect(spelling.map((f) => text.slice(f.start!, f.end!))).toEqual(['recieved', 'pakage', 'definately', 'warehuse', 'replacment', 'tomorow']);
    expect(r.severity).toBe('low');
    expect(r.passed).toBe(true);
  });

  it('does not flag names, identifiers, code, URLs or a single typo', () => {
    const text =
      'Kubernetes runs the Metronis gateway; set `maxInFlight` in config.yaml and call getUserById from userService. ' +
      'See https://docs.example.com/setup for the full list. One small tpyo in an otherwise careful answer is tolerated here.\n```js\nconst fooBarBaz = qux();\n```';
    expect(kinds(text)).toEqual([]);
  });

  it('checks spelling only for English', () => {
    const german = 'Die Datenbank wird jeden Tag um Mitternacht gesichert und die Sicherung wird für dreißig Tage aufbewahrt, damit nichts verloren geht.';
    expect(kinds(german)).toEqual([]);
  });

  it('accepts configured extra words', () => {
    const text = 'Frobnicate the widget, then frobnicate it again: frobnicating twice resets the gizmo and the frobnicator and its grommets and sprockets.';
    expect(kinds(text, { spelling_min_errors: 1, spelling_max_error_rate: 0.01 })).toContain('spelling');
    expect(kinds(text, { spelling_min_errors: 1, spelling_max_error_rate: 0.01, extra_words: ['frobnicate', 'frobnicating', 'frobnicator'] })).not.toContain('spelling');
  });

  it('flags readability only under the configured floor', () => {
    const dense =
      'Notwithstanding the aforementioned contractual indemnification obligations, the counterparty’s unconditional responsibility ' +
      'for consequential, incidental, exemplary and punitive liabilities, including reputational deterioration, regulatory ' +
      'investigations, administrative proceedings and jurisdictional complications, shall remain indefinitely enforceable ' +
      'notwithstanding any subsequent organizational restructuring, recapitalization, consolidation or liquidation.';
    expect(fleschReadingEase(dense).score).toBeLessThan(0);
    expect(kinds(dense)).toEqual(['readability']);
    expect(run(dense).labels).toContain('readability:very_difficult');
    expect(kinds(dense, { min_reading_ease: null })).toEqual([]);
    expect(kinds(NORMAL, { min_reading_ease: 90 })).toEqual(['readability']);
  });

  it('flags a doubled word with its offsets, not legitimate doubles', () => {
    const text = 'Open the the settings page and save.';
    const r = run(text);
    expect(r.findings.map((f) => [f.kind, text.slice(f.start!, f.end!)])).toEqual([['repeated_words', 'the the']]);
    expect(kinds('I think that that approach had had its day, bye bye.')).toEqual([]);
    expect(kinds('Run `echo echo` twice.')).toEqual([]);
  });

  it('flags an answer that promises steps it does not give', () => {
    expect(kinds('Sure! Here are the steps to reset your password:')).toEqual(['incomplete']);
    expect(kinds('Here are 4 ways to speed up the build:\n1. Cache dependencies.\n2. Run tests in parallel.')).toEqual(['incomplete']);
    expect(kinds('Here are 2 ways to speed up the build:\n1. Cache dependencies.\n2. Run tests in parallel.')).toEqual([]);
    // items are counted after each promise; an item on the promise's own line counts too
    expect(kinds('Here are 3 tips - Cache it.\n- Batch it.\n- Ship it.')).toEqual([]);
    expect(kinds('Here are 3 tips - Cache it.\n- Batch it.')).toEqual(['incomplete']);
    expect(kinds('1. First.\nHere are 3 ways to go on:\n2. Cache.\n3. Batch.')).toEqual(['incomplete']);
  });

  it('flags an answer that stops mid-sentence, on an empty item or in an open code block', () => {
    expect(kinds('To fix it, update the driver and then restart the')).toEqual(['incomplete']);
    expect(kinds('The options are:\n1. Retry\n2.')).toEqual(['incomplete']);
    expect(kinds('Use this:\n```python\nprint("hello")\n')).toEqual(['incomplete']);
    expect(kinds('- Use a cache\n- Batch the writes')).toEqual([]);
    expect(kinds('Use the promises API:\n\n```js\nconst text = await readFile(path);\n```')).toEqual([]);
    expect(kinds('The docs are at https://example.com/docs')).toEqual([]);
  });

  it('can turn checks off', () => {
    expect(kinds('Open the the page and', { check_repeated_words: false, check_incomplete: false })).toEqual([]);
  });

  it('lowers the score per finding and never below 0', () => {
    const r = run('', { min_words: 5, max_chars: 0 });
    expect(r.score).toBeGreaterThanOrEqual(0);
    expect(r.score).toBeLessThan(1);
  });
});

describe('language detection', () => {
  it.each([
    ['The meeting has been moved to Thursday because the room is not available.', 'en'],
    ['La reunión se ha movido al jueves porque la sala no está disponible.', 'es'],
    ['La réunion a été déplacée à jeudi car la salle n’est pas disponible.', 'fr'],
    ['Das Treffen wurde auf Donnerstag verschoben, weil der Raum nicht frei ist.', 'de'],
    ['La riunione è stata spostata a giovedì perché la sala non è disponibile.', 'it'],
    ['A reunião foi transferida para quinta-feira porque a sala não está disponível.', 'pt'],
    ['De vergadering is verplaatst naar donderdag omdat de zaal niet beschikbaar is.', 'nl'],
    ['Mötet har flyttats till torsdag eftersom rummet inte är ledigt.', 'sv'],
    ['Spotkanie zostało przeniesione na czwartek, ponieważ sala nie jest dostępna i to jest problem.', 'pl'],
    ['Toplantı perşembe gününe alındı çünkü oda müsait değil ve bu bir sorun.', 'tr'],
    ['Встреча перенесена на четверг, так как зал не свободен и это не очень удобно.', 'ru'],
    ['Зустріч перенесено на четвер, бо зала не вільна і це не дуже зручно.', 'uk'],
    ['会議は部屋が使えないため木曜日に変更されました。', 'ja'],
    ['会议改到星期四，因为会议室不可用。', 'zh'],
    ['회의실을 사용할 수 없어서 회의가 목요일로 변경되었습니다.', 'ko'],
    ['تم نقل الاجتماع إلى يوم الخميس لأن الغرفة غير متاحة.', 'ar'],
  ])('detects %s as %s', (text, lang) => {
    expect(detectLanguage(text).language).toBe(lang);
  });

  it('answers und for text too short or without function words', () => {
    expect(detectLanguage('OK').language).toBe('und');
    expect(detectLanguage('Paris.').language).toBe('und');
    expect(detectLanguage('```\nconst x = 1;\n```').language).toBe('und');
  });
});

describe('text primitives', () => {
  it('masks code without moving offsets', () => {
    const t = 'Run `npm ci` then see https://x.io/a.';
    expect(maskCode(t)).toHaveLength(t.length);
    expect(maskCode(t)).not.toContain('npm');
    expect(maskCode(t)).not.toContain('x.io');
  });
  it('splits sentences but not after abbreviations or amounts', () => {
    expect(sentences('Use a cache, e.g. Redis. Then retry. Revenue was $5M. Done.').map((s) => s.text)).toEqual(['Use a cache, e.g. Redis.', 'Then retry.', 'Revenue was $5M.', 'Done.']);
  });
  it('reads numbers as values', () => {
    expect(numbers('$5M, 7 million, 1,200 and 12.5% but not gpt4 or v2').map((n) => [n.value, n.percent])).toEqual([
      [5_000_000, false], [7_000_000, false], [1200, false], [12.5, true],
    ]);
  });
  it('counts syllables', () => {
    expect([syllables('cat'), syllables('table'), syllables('make'), syllables('wanted'), syllables('walked'), syllables('beautiful')]).toEqual([1, 2, 1, 2, 1, 3]);
  });
});
