/**
 * Training step 2 of 3: embeds every text of a corpus (training/build_corpus.py) with the same encoder
 * and chunking the topology uses, so that the heads learn on exactly the vectors they will score.
 * Writes `<out>.f32` (one 384-float row per chunk, little-endian), `<out>.rows.json` (the corpus
 * line of each row) and `<out>.keys.json` (the SHA-256 of each line's text). When those files exist
 * from an earlier run with the same encoder, the vectors of unchanged texts are reused.
 *
 *   node --import tsx topologies/tier2/scripts/embed-corpus.ts <corpus.jsonl> <out prefix> [model cache]
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { defaultModelCacheDir, loadEncoder } from '../src/encoder.js';

const [corpusPath, outPrefix, cache] = process.argv.slice(2);
if (!corpusPath || !outPrefix) {
  process.stderr.write('usage: embed-corpus.ts <corpus.jsonl> <out prefix> [model cache]\n');
  process.exit(2);
}
const encoder = await loadEncoder({ cacheDir: cache ?? defaultModelCacheDir(process.env) });
const texts: string[] = [];
for await (const line of createInterface({ input: createReadStream(corpusPath, 'utf8') })) if (line.trim()) texts.push((JSON.parse(line) as { text: string }).text);

// The key holds the encoder and how it chunks and batches: a vector made otherwise is not reused.
const keyOf = (text: string) => createHash('sha256').update(`${encoder.modelSha256}\u0000${encoder.settings}\u0000${text}`).digest('hex');
const keys = texts.map(keyOf);

// Vectors of an earlier run, by text key.
const earlier = new Map<string, Buffer[]>();
if ([`${outPrefix}.f32`, `${outPrefix}.rows.json`, `${outPrefix}.keys.json`].every((f) => existsSync(f))) {
  const bytes = await readFile(`${outPrefix}.f32`);
  const oldRows = JSON.parse(await readFile(`${outPrefix}.rows.json`, 'utf8')) as number[];
  const oldKeys = JSON.parse(await readFile(`${outPrefix}.keys.json`, 'utf8')) as string[];
  const width = encoder.dimensions * 4;
  oldRows.forEach((line, row) => {
    const key = oldKeys[line]!;
    const list = earlier.get(key) ?? [];
    list.push(bytes.subarray(row * width, (row + 1) * width));
    earlier.set(key, list);
  });
}

const out = createWriteStream(`${outPrefix}.f32.partial`);
const rows: number[] = [];
const started = Date.now();
const BATCH = 64;
let reused = 0;
for (let i = 0; i < texts.length; i += BATCH) {
  const batch = texts.slice(i, i + BATCH);
  const fresh = batch.map((_, k) => k).filter((k) => !earlier.has(keys[i + k]!));
  const embedded = await encoder.embed(fresh.map((k) => batch[k]!));
  const byIndex = new Map(fresh.map((k, n) => [k, embedded[n]!.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength))]));
  batch.forEach((_, k) => {
    const chunks = byIndex.get(k) ?? earlier.get(keys[i + k]!)!;
    if (!byIndex.has(k)) reused++;
    for (const v of chunks) {
      out.write(v);
      rows.push(i + k);
    }
  });
  if ((i / BATCH) % 20 === 0) process.stderr.write(`embedded ${i + BATCH}/${texts.length} texts (${reused} reused), ${rows.length} chunks, ${Math.round((Date.now() - started) / 1000)} s\n`);
}
await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
await rename(`${outPrefix}.f32.partial`, `${outPrefix}.f32`);
await writeFile(`${outPrefix}.rows.json`, JSON.stringify(rows));
await writeFile(`${outPrefix}.keys.json`, JSON.stringify(keys));
// How the vectors were made (batching/keep/maxChunks), recorded with the heads trained on them.
await writeFile(`${outPrefix}.settings`, encoder.settings);
await encoder.close();
process.stderr.write(`${texts.length} texts (${reused} reused), ${rows.length} chunks in ${Math.round((Date.now() - started) / 1000)} s\n`);
