import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultModelCacheDir, loadTokenizer } from '../src/encoder.js';
import { wordPieceFromJson } from '../src/wordpiece.js';

// Reference ids from the Python `tokenizers` package on the same tokenizer.json (training/reference_tokens.py).
const reference = JSON.parse(readFileSync(new URL('./fixtures/wordpiece-reference.json', import.meta.url), 'utf8')) as { cases: { text: string; ids: number[] }[] };

describe('the WordPiece tokenizer', () => {
  it('gives the token ids of the Python tokenizers package on every reference text', async () => {
    const tokenizer = await loadTokenizer(defaultModelCacheDir(process.env));
    expect(reference.cases.length).toBeGreaterThan(20);
    for (const { text, ids } of reference.cases) expect({ text, ids: tokenizer.encode(text) }).toEqual({ text, ids });
  });

  it('truncates to maxLength with [CLS] and [SEP] kept', async () => {
    const tokenizer = await loadTokenizer(defaultModelCacheDir(process.env));
    const ids = tokenizer.encode('word '.repeat(500), 10);
    expect(ids).toHaveLength(10);
    expect([ids[0], ids[9]]).toEqual([101, 102]);
    expect(() => tokenizer.encode('x', 1)).toThrow(/maxLength/);
  });

  it('refuses a tokenizer configuration it does not implement instead of mis-tokenizing', () => {
    const base = { normalizer: { type: 'BertNormalizer' }, pre_tokenizer: { type: 'BertPreTokenizer' }, model: { type: 'WordPiece', vocab: { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2 } } };
    expect(() => wordPieceFromJson(JSON.stringify({ ...base, normalizer: { type: 'NFKC' } }))).toThrow(/normalizer "NFKC" is not supported/);
    expect(() => wordPieceFromJson(JSON.stringify({ ...base, pre_tokenizer: { type: 'Metaspace' } }))).toThrow(/pre_tokenizer "Metaspace"/);
    expect(() => wordPieceFromJson(JSON.stringify({ ...base, model: { type: 'BPE', vocab: {} } }))).toThrow(/model "BPE"/);
    expect(() => wordPieceFromJson(JSON.stringify({ ...base, model: { type: 'WordPiece', vocab: { '[UNK]': 0 } } }))).toThrow(/lacks \[CLS\]/);
  });

  it('says how to install the encoder when the model cache lacks it', async () => {
    await expect(loadTokenizer('/nonexistent-model-cache')).rejects.toThrow(/not installed .*npm run tier2:model/);
  });
});
