/**
 * Lexical grounding of an answer in its retrieved context: each output sentence that makes a
 * specific claim (a number, or a name: a capitalised word inside the sentence or an acronym) is
 * checked against the context and the question. A sentence is ungrounded when a number it states
 * appears in neither, or when a name it states appears in neither and fewer than half of its
 * content words do. Sentences without specifics (advice, hedges, "let me know") are not judged:
 * lexical overlap cannot tell a paraphrase from an invention there, and a false alarm costs more
 * than a miss.
 *
 * @example
 *   ungroundedSentences('The plan costs $49 per month.', ['Pro plan: $29 per month.'], '')[0].missing; // ['$49']
 */
import { contentWords, numberKey, numbers, sentences, words, type NumberMention, type Span } from '../quality/text.js';

export interface Ungrounded extends Span {
  /** The specifics the evidence lacks. */
  missing: string[];
  /** Share of the sentence's content words found in the evidence. */
  support: number;
}

export interface GroundingOptions {
  /** Minimum share of content words found in the evidence for a sentence with an unknown name. */
  minSupport: number;
}

const DIGIT = /\d/;
const UPPER = /\p{Lu}/u;
const LIST_MARKER = /^\s*(?:\d{1,2}[.)]|[-*•+])\s+/;
const NOT_A_NAME = new Set(['i', 'i\'m', 'i\'ve', 'i\'d', 'i\'ll', 'ok', 'note', 'yes', 'no', 'however', 'also', 'step', 'tip', 'example', 'summary', 'answer', 'q', 'a']);

/** `outputSentences`: the output's sentences, when already split. */
export function ungroundedSentences(
  output: string,
  contextDocs: readonly string[],
  question: string,
  options: GroundingOptions = { minSupport: 0.5 },
  outputSentences: readonly Span[] = sentences(output),
): Ungrounded[] {
  // the evidence is joined, lower-cased and tokenized only when a sentence needs it
  let joined: string | null = null;
  let lowered: string | null = null;
  const evidence = () => (joined ??= contextDocs.join('\n') + '\n' + question);
  const evidenceLower = () => (lowered ??= evidence().toLowerCase());
  let evidenceNumbers: Set<string> | null = null;
  let evidenceWords: Set<string> | null = null;
  const out: Ungrounded[] = [];

  for (const s of outputSentences) {
    const marker = LIST_MARKER.exec(s.text);
    const body = marker ? s.text.slice(marker[0].length) : s.text;
    const missing: string[] = [];
    if (DIGIT.test(body)) {
      evidenceNumbers ??= new Set(numbers(evidence()).map(numberKey));
      for (const n of numbers(body)) if (!evidenceNumbers.has(numberKey(n)) && !isCount(body, n)) missing.push(n.text.trim());
    }
    let support = 1;
    // A name is a capitalised word inside the sentence or an acronym (two capitals): either way a
    // capital after the first character. Most sentences have only their opening one and are not split.
    if (UPPER.test(body.slice(1))) {
      const missingNames = words(body).filter((w, i) => isName(w.text, i === 0 || opensPhrase(body, w.start)) && !evidenceLower().includes(w.text.toLowerCase()));
      if (missingNames.length > 0) {
        evidenceWords ??= new Set(contentWords(evidence()));
        const cw = contentWords(body);
        let supported = 0;
        for (const w of cw) if (evidenceWords.has(w)) supported++;
        support = cw.length === 0 ? 1 : supported / cw.length;
        if (support < options.minSupport) missing.push(...missingNames.map((w) => w.text));
      }
    }
    if (missing.length > 0) out.push({ text: s.text, start: s.start, end: s.end, missing, support });
  }
  return out;
}

/** "3 options", "two steps": the answer counting its own list, not a fact from the sources. */
function isCount(text: string, n: NumberMention): boolean {
  return !n.currency && !n.percent && Number.isInteger(n.value) && n.value <= 10 && COUNT_NOUN.test(text.slice(n.end));
}
const COUNT_NOUN = /^\s+(?:\p{L}+\s+)?(?:steps|ways|options|things|points|reasons|tips|methods|examples|approaches|ideas|factors|main|key|common|possible|simple|quick|easy)\b/u;

/** Whether the word at `at` starts a phrase (after "**", ":", "(" or a quote), where capitals are not names. */
function opensPhrase(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && text[i] === ' ') i--;
  return i >= 0 && ':(*"'.includes(text[i]!);
}

function isName(word: string, atStart: boolean): boolean {
  const first = word[0]!;
  if (first === first.toLowerCase() || NOT_A_NAME.has(word.toLowerCase())) return false;
  if (/^\p{Lu}{2,}\d*$/u.test(word)) return true;
  return !atStart && /^\p{Lu}\p{Ll}/u.test(word);
}
