/**
 * Tier 2's heads: one calibrated logistic regression per risk over the encoder's unit vectors,
 * exported by the training pipeline as `models/<version>/model.json` (training/train.py). A field's
 * probability for a risk is `sigmoid(a · max_chunk(w · x + bias) + b)`: the worst chunk decides, and
 * the Platt calibration (a, b) of that field was fitted on sources the head never saw. A head with
 * `context_weights` (from v2, the harmful head) judges an answer with its request: the output's
 * logit adds `v · r`, r the unit mean vector of the input's chunks.
 *
 * Versions are folders under `models/`; a policy names the live one and, optionally, a shadow one per
 * organization. A model is refused at load when it was trained on another encoder (its SHA-256 differs).
 *
 * @example
 *   const models = createModelRegistry({ encoderSha256: encoder.modelSha256 });
 *   const model = models.get('v1');                     // Tier2Model, or throws ModelUnavailableError
 *   const probabilities = scoreField(model, 'input', chunks); // { prompt_attack: 0.02, harmful: 0.97, ... }
 */
import { readdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';

export const RISKS = ['prompt_attack', 'harmful', 'toxicity'] as const;
export type Risk = (typeof RISKS)[number];
export type Field = 'input' | 'output';

const headSchema = z.object({
  fields: z.array(z.enum(['input', 'output'])).min(1),
  weights: z.array(z.number()),
  bias: z.number(),
  /** Weights on the request's mean vector, added when the head scores an output (absent: the output alone). */
  context_weights: z.array(z.number()).optional(),
  /** Platt calibration per field the head reads (a request and an answer are calibrated apart). */
  calibration: z.partialRecord(z.enum(['input', 'output']), z.object({ a: z.number(), b: z.number() })),
});

const modelSchema = z.object({
  version: z.string().regex(/^v\d+$/),
  created: z.string(),
  encoder: z.object({ name: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  heads: z.object({ prompt_attack: headSchema, harmful: headSchema, toxicity: headSchema }),
});

export interface Head {
  fields: readonly Field[];
  weights: Float32Array;
  bias: number;
  contextWeights: Float32Array | null;
  calibration: Partial<Record<Field, { a: number; b: number }>>;
}

export interface Tier2Model {
  version: string;
  encoderSha256: string;
  heads: Record<Risk, Head>;
}

export class ModelUnavailableError extends Error {
  override name = 'ModelUnavailableError';
}

const MODELS_DIR = new URL('../models/', import.meta.url);

/** The model versions shipped with this release (folders of `models/` holding a model.json), oldest first. */
export function listModelVersions(): string[] {
  let entries: string[];
  try {
    entries = readdirSync(MODELS_DIR);
  } catch {
    return [];
  }
  return entries
    .filter((name) => /^v\d+$/.test(name))
    .filter((name) => {
      try {
        readFileSync(new URL(`${name}/model.json`, MODELS_DIR));
        return true;
      } catch {
        return false;
      }
    })
    .sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)));
}

/** Parses a model.json; throws ModelUnavailableError naming what is wrong. */
export function parseModel(text: string, dimensions: number, encoderSha256: string): Tier2Model {
  let parsed: z.output<typeof modelSchema>;
  try {
    parsed = modelSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new ModelUnavailableError(`model.json is malformed: ${(error as Error).message}`);
  }
  if (parsed.encoder.sha256 !== encoderSha256) {
    throw new ModelUnavailableError(`model ${parsed.version} was trained on encoder ${parsed.encoder.sha256.slice(0, 12)}…, not on the installed ${encoderSha256.slice(0, 12)}…`);
  }
  const heads = {} as Record<Risk, Head>;
  for (const risk of RISKS) {
    const h = parsed.heads[risk];
    if (h.weights.length !== dimensions) throw new ModelUnavailableError(`model ${parsed.version}: head ${risk} has ${h.weights.length} weights, the encoder gives ${dimensions}`);
    if (h.context_weights !== undefined && h.context_weights.length !== dimensions) throw new ModelUnavailableError(`model ${parsed.version}: head ${risk} has ${h.context_weights.length} context weights, the encoder gives ${dimensions}`);
    const missing = h.fields.filter((f) => h.calibration[f] === undefined);
    if (missing.length > 0) throw new ModelUnavailableError(`model ${parsed.version}: head ${risk} has no calibration for ${missing.join(', ')}`);
    heads[risk] = { fields: h.fields, weights: Float32Array.from(h.weights), bias: h.bias, contextWeights: h.context_weights === undefined ? null : Float32Array.from(h.context_weights), calibration: h.calibration };
  }
  return { version: parsed.version, encoderSha256, heads };
}

export interface ModelRegistry {
  /** The model of a version, loaded once; throws ModelUnavailableError for a version that is not shipped or not usable. */
  get(version: string): Tier2Model;
  versions(): string[];
}

export function createModelRegistry(options: { encoderSha256: string; dimensions?: number; read?: (version: string) => string; versions?: () => string[] }): ModelRegistry {
  const dimensions = options.dimensions ?? 384;
  const read = options.read ?? ((version: string) => readFileSync(new URL(`${version}/model.json`, MODELS_DIR), 'utf8'));
  const versions = options.versions ?? listModelVersions;
  const loaded = new Map<string, Tier2Model | ModelUnavailableError>();
  return {
    versions,
    get(version) {
      let entry = loaded.get(version);
      if (entry === undefined) {
        if (!/^v\d+$/.test(version)) entry = new ModelUnavailableError(`model version ${JSON.stringify(version)} is not of the form v<number>`);
        else {
          try {
            entry = parseModel(read(version), dimensions, options.encoderSha256);
          } catch (error) {
            entry =
              error instanceof ModelUnavailableError
                ? error
                : new ModelUnavailableError(`model ${version} is not shipped with this release (shipped: ${versions().join(', ') || 'none'})`);
          }
        }
        loaded.set(version, entry);
      }
      if (entry instanceof ModelUnavailableError) throw entry;
      return entry;
    },
  };
}

function dot(w: Float32Array, x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i]! * x[i]!;
  return s;
}

/** The unit mean vector of a text's chunks (zeros for no chunks): an answer's request, as heads with context weights read it. */
export function meanVector(chunks: readonly Float32Array[], dimensions = 384): Float32Array {
  const mean = new Float32Array(chunks[0]?.length ?? dimensions);
  for (const x of chunks) for (let i = 0; i < mean.length; i++) mean[i]! += x[i]!;
  let norm = 0;
  for (let i = 0; i < mean.length; i++) norm += mean[i]! * mean[i]!;
  norm = Math.sqrt(norm) + 1e-12;
  for (let i = 0; i < mean.length; i++) mean[i]! /= norm;
  return mean;
}

/**
 * Calibrated probability of each risk that reads this field (risks that do not read it are absent).
 * `request`: for an output, the mean vector of its input's chunks (`meanVector`), read by heads with
 * context weights; without it they score the output alone.
 */
export function scoreField(model: Tier2Model, field: Field, chunks: readonly Float32Array[], request?: Float32Array): Partial<Record<Risk, number>> {
  const out: Partial<Record<Risk, number>> = {};
  for (const risk of RISKS) {
    const head = model.heads[risk];
    if (!head.fields.includes(field) || chunks.length === 0) continue;
    const context = field === 'output' && head.contextWeights !== null && request !== undefined ? dot(head.contextWeights, request) : 0;
    let worst = -Infinity;
    for (const x of chunks) worst = Math.max(worst, dot(head.weights, x) + head.bias + context);
    const { a, b } = head.calibration[field]!;
    out[risk] = 1 / (1 + Math.exp(-(a * worst + b)));
  }
  return out;
}
