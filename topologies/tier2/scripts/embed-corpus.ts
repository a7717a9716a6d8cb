/**
 * Training step 2 of 3: embeds every text of a corpus (training/build_corpus.py) with the same encoder
 * and chunking the topology uses, so that the heads learn on exactly the vectors they will score.
 * Writes `<out>.f32` (one 384-float row per chunk, little-endian) and `<out>.rows.json` (the corpus
 * line of each row).
 *
 *   node --import tsx topologies/tier2/scripts/embed-corpus.ts <corpus.jsonl> <out prefix> [model cache]
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
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

const out = createWriteStream(`${outPrefix}.f32`);
const rows: number[] = [];
const started = Date.now();
const BATCH = 64;
for (let i = 0; i < texts.length; i += BATCH) {
  const embedded = await encoder.embed(texts.slice(i, i + BATCH));
  embedded.forEach((chunks, k) => {
    for (const v of chunks) {
      out.write(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      rows.push(i + k);
    }
  });
  if ((i / BATCH) % 20 === 0) process.stderr.write(`embedded ${i + BATCH}/${texts.length} texts, ${rows.length} chunks, ${Math.round((Date.now() - started) / 1000)} s\n`);
}
await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
await writeFile(`${outPrefix}.rows.json`, JSON.stringify(rows));
await encoder.close();
process.stderr.write(`${texts.length} texts, ${rows.length} chunks in ${Math.round((Date.now() - started) / 1000)} s\n`);
