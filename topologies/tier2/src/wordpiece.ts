/**
 * A BERT WordPiece tokenizer read from a Hugging Face `tokenizer.json` (the one shipped inside the
 * all-MiniLM-L6-v2 Maven artifact): the BertNormalizer (clean text, pad CJK ideographs, lowercase and
 * strip accents), the BertPreTokenizer (split on whitespace and punctuation), greedy longest-match
 * WordPiece with `##` continuations, and `[CLS] … [SEP]` around at most `maxLength` tokens.
 *
 * Only the configuration that file uses is supported; anything else is refused when the file is read,
 * so a different tokenizer cannot be silently mis-tokenized. The token ids are checked against the
 * Python `tokenizers` package on the same file (test/wordpiece.test.ts, fixtures from
 * training/reference_tokens.py).
 *
 * @example
 *   const tokenizer = wordPieceFromJson(readFileSync('tokenizer.json', 'utf8'));
 *   tokenizer.encode('Hello, world!'); // [101, 7592, 1010, 2088, 999, 102]
 */

export interface WordPieceTokenizer {
  /** Token ids of one text: `[CLS]`, at most `maxLength - 2` word pieces, `[SEP]`. */
  encode(text: string, maxLength?: number): number[];
  /** The word pieces of one text, without the special tokens (for tests and debugging). */
  tokenize(text: string): string[];
  readonly vocabSize: number;
}

interface TokenizerJson {
  normalizer?: { type?: string; clean_text?: boolean; handle_chinese_chars?: boolean; strip_accents?: boolean | null; lowercase?: boolean } | null;
  pre_tokenizer?: { type?: string } | null;
  model?: { type?: string; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number; vocab?: Record<string, number> };
  truncation?: { max_length?: number } | null;
}

export const DEFAULT_MAX_TOKENS = 128;

export function wordPieceFromJson(text: string): WordPieceTokenizer {
  const json = JSON.parse(text) as TokenizerJson;
  const n = json.normalizer;
  if (n?.type !== 'BertNormalizer') throw new Error(`tokenizer.json: normalizer ${JSON.stringify(n?.type)} is not supported (BertNormalizer only)`);
  if (json.pre_tokenizer?.type !== 'BertPreTokenizer') throw new Error(`tokenizer.json: pre_tokenizer ${JSON.stringify(json.pre_tokenizer?.type)} is not supported (BertPreTokenizer only)`);
  const m = json.model;
  if (m?.type !== 'WordPiece' || m.vocab === undefined) throw new Error(`tokenizer.json: model ${JSON.stringify(m?.type)} is not supported (WordPiece only)`);
  const vocab = new Map(Object.entries(m.vocab));
  const prefix = m.continuing_subword_prefix ?? '##';
  const maxWordChars = m.max_input_chars_per_word ?? 100;
  const idOf = (token: string): number => {
    const id = vocab.get(token);
    if (id === undefined) throw new Error(`tokenizer.json: the vocabulary lacks ${token}`);
    return id;
  };
  const unk = m.unk_token ?? '[UNK]';
  const unkId = idOf(unk);
  const clsId = idOf('[CLS]');
  const sepId = idOf('[SEP]');
  const lowercase = n.lowercase ?? true;
  const stripAccents = n.strip_accents ?? lowercase; // as in tokenizers: unset follows lowercase
  const cleanText = n.clean_text ?? true;
  const chinese = n.handle_chinese_chars ?? true;
  const defaultMax = json.truncation?.max_length ?? DEFAULT_MAX_TOKENS;

  function normalize(input: string): string {
    let out = '';
    for (const ch of input) {
      const cp = ch.codePointAt(0)!;
      if (cleanText) {
        if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
        if (isWhitespace(ch)) {
          out += ' ';
          continue;
        }
      }
      out += chinese && isChinese(cp) ? ` ${ch} ` : ch;
    }
    if (stripAccents) out = out.normalize('NFD').replace(/\p{Mn}/gu, '');
    // per character, as tokenizers does (String#toLowerCase would turn a final Σ into ς)
    if (lowercase) out = Array.from(out, (c) => c.toLowerCase()).join('');
    return out;
  }

  function words(normalized: string): string[] {
    const out: string[] = [];
    let current = '';
    for (const ch of normalized) {
      if (isWhitespace(ch)) {
        if (current) out.push(current);
        current = '';
      } else if (isPunctuation(ch)) {
        if (current) out.push(current);
        out.push(ch);
        current = '';
      } else {
        current += ch;
      }
    }
    if (current) out.push(current);
    return out;
  }

  function pieces(word: string, out: string[]): void {
    const chars = [...word];
    if (chars.length > maxWordChars) {
      out.push(unk);
      return;
    }
    const found: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let match: string | null = null;
      while (start < end) {
        const piece = (start > 0 ? prefix : '') + chars.slice(start, end).join('');
        if (vocab.has(piece)) {
          match = piece;
          break;
        }
        end--;
      }
      if (match === null) {
        out.push(unk);
        return;
      }
      found.push(match);
      start = end;
    }
    out.push(...found);
  }

  function tokenize(input: string): string[] {
    const out: string[] = [];
    for (const word of words(normalize(input))) pieces(word, out);
    return out;
  }

  return {
    vocabSize: vocab.size,
    tokenize,
    encode(input, maxLength = defaultMax) {
      if (!Number.isInteger(maxLength) || maxLength < 2) throw new RangeError(`encode: maxLength must be an integer >= 2, got ${maxLength}`);
      const ids = [clsId];
      for (const piece of tokenize(input)) {
        if (ids.length >= maxLength - 1) break;
        ids.push(piece === unk ? unkId : vocab.get(piece)!);
      }
      ids.push(sepId);
      return ids;
    },
  };
}

// Character classes as BERT defines them (tokenizers' bert normalizer and pre-tokenizer).
function isWhitespace(ch: string): boolean {
  return /\p{White_Space}/u.test(ch);
}

function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return /\p{Cc}|\p{Cf}|\p{Co}|\p{Cn}/u.test(ch);
}

function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(ch);
}

function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}
