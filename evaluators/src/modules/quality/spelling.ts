/**
 * English spelling with a real Hunspell dictionary (nspell + dictionary-en). The dictionary is read
 * once, on first use (about 0.1 s); call `loadSpeller()` at start-up to pay that before the first
 * trace. Only words that a dictionary can judge are checked: code, URLs, numbers, identifiers
 * (snake_case, camelCase, ALLCAPS) and capitalised words (proper nouns, or a sentence start we cannot
 * tell from one) are skipped.
 *
 * @example
 *   misspellings(words('We recieve the package tomorow.'), new Set()); // { misspelled: [recieve, tomorow], checked: 4 }
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import nspell from 'nspell';
import type { Span } from './text.js';

type Speller = ReturnType<typeof nspell>;
let speller: Speller | null = null;

/** Loads the English dictionary (once). Throws with the reason when the dictionary package is missing. */
export function loadSpeller(): Speller {
  if (speller) return speller;
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve('dictionary-en'));
  } catch (error) {
    throw new Error(`quality/spelling: the English dictionary (npm package dictionary-en) cannot be found: ${(error as Error).message}`);
  }
  speller = nspell(readFileSync(join(dir, 'index.aff')), readFileSync(join(dir, 'index.dic')));
  return speller;
}

/**
 * Hunspell lists stems with their common affixes, but not every derivation of technical prose
 * ("interdependencies", "deployable", "microservices"): accept a word whose stem, with a common
 * prefix or suffix taken off, is a dictionary word of at least four letters.
 */
const SUFFIXES: [RegExp, string][] = [
  [/ies$/, 'y'], [/ies$/, 'ie'], [/es$/, ''], [/s$/, ''], [/able$/, ''], [/able$/, 'e'], [/ability$/, ''], [/ly$/, ''],
  [/izes$/, 'ize'], [/ized$/, 'ize'], [/izing$/, 'ize'], [/ness$/, ''], [/ment$/, ''], [/ed$/, ''], [/ing$/, ''],
];
const PREFIX = /^(?:micro|macro|inter|intra|multi|non|pre|re|sub|super|un|over|under|auto|co|de|hyper|meta|mis|post)(?=[a-z]{4})/;
function derived(spell: Speller, word: string, depth = 0): boolean {
  if (depth > 1) return false;
  const unprefixed = word.replace(PREFIX, '');
  if (unprefixed !== word && (spell.correct(unprefixed) || derived(spell, unprefixed, depth + 1))) return true;
  for (const [suffix, replacement] of SUFFIXES) {
    if (!suffix.test(word)) continue;
    const stem = word.replace(suffix, replacement);
    if (stem.length >= 4 && (spell.correct(stem) || derived(spell, stem, depth + 1))) return true;
  }
  return false;
}

/** Words of software and LLM answers that general dictionaries lack. */
const TECH_WORDS = new Set(
  ('api apis async backend backends boolean booleans cli config configs cron dataset datasets dedupe deserialize dev devops dns ' +
    'dockerfile email emails enum enums env frontend frontends github hostname hostnames http https json jwt kubectl localhost ' +
    'login logins middleware namespace namespaces npm oauth onboarding params postgres pre repo repos runtime runtimes sdk sdks ' +
    'serverless signup sql ssh stdout stderr subfolder subnet subnets timestamp timestamps todo toolchain tooltip typescript ' +
    'ui uuid url urls username usernames webhook webhooks workflow workflows yaml llm llms chatbot chatbots gpu gpus cpu cpus ' +
    'app apps blog blogs inbox livestream smartphone website websites wifi online offline observability microservice microservices')
    .split(' '),
);

const DIGIT_OR_UNDERSCORE = /[\d_]/;

/** Dictionary answers, remembered: answers reuse a small vocabulary, and a miss costs affix stripping. */
const known = new Map<string, boolean>();
const MAX_REMEMBERED = 50_000;
function isWord(spell: Speller, word: string): boolean {
  let ok = known.get(word);
  if (ok === undefined) {
    ok = spell.correct(word) || derived(spell, word);
    if (known.size >= MAX_REMEMBERED) known.clear();
    known.set(word, ok);
  }
  return ok;
}

/**
 * A word read once by its character codes: `lower` when it is ASCII without an upper-case letter, a
 * digit or an underscore (lower-casing gives it back as it is, and it is checked); `identifier` when
 * an ASCII upper-case letter, digit or underscore comes before any non-ASCII character (skipped, as
 * lower-casing would show); `other` for the rest, which takes the general path.
 */
export function asciiShape(word: string): 'lower' | 'identifier' | 'other' {
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c > 127) return 'other';
    if ((c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95) return 'identifier';
  }
  return 'lower';
}

/**
 * The words the dictionary does not know among `ws` (words of text with code masked out, see
 * `maskCode`), and how many words it could judge.
 */
export function misspellings(ws: readonly Span[], extraWords: ReadonlySet<string>): { misspelled: Span[]; checked: number } {
  const spell = loadSpeller();
  const misspelled: Span[] = [];
  let checked = 0;
  for (const w of ws) {
    if (w.text.length < 3) continue;
    // capitalised, ALLCAPS or camelCase: a name or an identifier, not a dictionary word
    const shape = asciiShape(w.text);
    if (shape === 'identifier') continue;
    let lower = w.text;
    if (shape === 'other') {
      lower = w.text.toLowerCase();
      if (lower !== w.text || DIGIT_OR_UNDERSCORE.test(lower)) continue;
      if (lower.includes('’')) lower = lower.replace(/’/g, "'");
    }
    checked++;
    // a word the dictionary already accepted (most words, most of the time) needs no other lookup
    if (known.get(lower) === true || TECH_WORDS.has(lower) || extraWords.has(lower)) continue;
    if (lower.includes('-')) {
      if (lower.split('-').every((p) => p.length < 3 || isWord(spell, p) || TECH_WORDS.has(p) || extraWords.has(p))) continue;
    } else if (isWord(spell, lower)) continue;
    misspelled.push(w);
  }
  return { misspelled, checked };
}
