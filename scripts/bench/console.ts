/**
 * The console's numbers for BENCHMARKS.md (run when the machine is quiet; not part of `npm test`):
 *
 * - JavaScript and CSS shipped to the first page (bytes, gzip), from the build in apps/console-web/dist.
 * - Verdict → visible in an open browser: `metronis dev` on a fresh data folder, Debian's Chromium on the
 *   traces page, traces sent to the gateway at a fixed rate; for each, the time from the verdict's
 *   `decided_at` (and from the 202 of the POST) to the moment its row shows the verdict (a
 *   MutationObserver in the page). p50 / p95 / max.
 * - Time to first render of the traces page with 1M traces stored needs the search API
 *   (GET /v1/traces); the script says so until the server has it.
 *
 *   npm run build && node --import tsx scripts/bench/console.ts [--traces 300] [--rate 20]
 */
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { runCli } from '../../apps/cli/test/process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({ options: { traces: { type: 'string', default: '300' }, rate: { type: 'string', default: '20' } } });
const count = Number(values.traces);
const rate = Number(values.rate);
const log = (line: string) => process.stderr.write(`[bench console] ${line}\n`);

async function firstPageBytes() {
  const dist = join(ROOT, 'apps/console-web/dist');
  const html = await readFile(join(dist, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
  const sizes = await Promise.all(files.map(async (f) => ({ file: f, bytes: (await readFile(join(dist, f))).length, gzip: gzipSync(await readFile(join(dist, f)), { level: 9 }).length })));
  const sum = (kind: string, key: 'bytes' | 'gzip') => sizes.filter((s) => s.file.endsWith(kind)).reduce((a, s) => a + s[key], 0);
  return { js_kb: Math.round(sum('.js', 'bytes') / 1024), js_gzip_kb: Math.round(sum('.js', 'gzip') / 1024), css_kb: Math.round(sum('.css', 'bytes') / 1024), css_gzip_kb: Math.round(sum('.css', 'gzip') / 1024) };
}

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? null : Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
};

/** Runs in the page (a string: this file is type-checked without the DOM library). */
const OBSERVER = `(() => {
  const seen = {};
  window.seen = seen;
  new MutationObserver(() => {
    for (const row of document.querySelectorAll('a[data-trace-id]')) {
      const id = row.dataset.traceId;
      if (seen[id] === undefined && !/pending/.test(row.textContent || '')) seen[id] = performance.timeOrigin + performance.now();
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
})()`;

async function verdictToVisible() {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-bench-console-'));
  const server = runCli(['dev'], { METRONIS_DATA_DIR: dir, METRONIS_PORT: '0' });
  try {
    const link = (await server.waitFor(/console:\s+(\S+)/, 120_000))[1]!;
    const key = (await server.waitFor(/API key:\s+(\S+)/))[1]!;
    const base = new URL(link).origin;
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(link);
    await page.waitForURL(/settings/);
    await page.goto(`${base}/traces`);
    await page.getByText('live', { exact: true }).waitFor();
    // Epoch ms at which each row first shows a verdict (the badge is no longer "pending").
    await page.evaluate(OBSERVER);
    const accepted: Record<string, number> = {};
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const id = `bench-${i}`;
      const wait = started + (i * 1000) / rate - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const response = await fetch(`${base}/v1/traces`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ trace_id: id, input: `question ${i}`, output: `answer ${i} to ada@lovelace.dev` }) });
      if (response.status !== 202) throw new Error(`POST answered ${response.status}`);
      accepted[id] = Date.now();
    }
    const deadline = Date.now() + 60_000;
    let seen: Record<string, number> = {};
    while (Date.now() < deadline) {
      seen = (await page.evaluate('window.seen')) as Record<string, number>;
      if (Object.keys(seen).length >= count) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const fromDecided: number[] = [];
    const fromAccepted: number[] = [];
    for (const id of Object.keys(accepted)) {
      if (seen[id] === undefined) continue;
      const detail = (await (await fetch(`${base}/v1/traces/${id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { verdict: { decided_at: number } | null };
      if (detail.verdict !== null) fromDecided.push(seen[id]! - detail.verdict.decided_at);
      fromAccepted.push(seen[id]! - accepted[id]!);
    }
    await browser.close();
    return {
      traces: count,
      rate_per_second: rate,
      visible: Object.keys(seen).length,
      verdict_to_visible_ms: { p50: pct(fromDecided, 50), p95: pct(fromDecided, 95), max: pct(fromDecided, 100) },
      accepted_to_visible_ms: { p50: pct(fromAccepted, 50), p95: pct(fromAccepted, 95), max: pct(fromAccepted, 100) },
    };
  } finally {
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

log('first page: bytes of the build');
const first_page = await firstPageBytes();
log(`verdict → visible: ${count} traces at ${rate}/s on npm start (embedded)`);
const live = await verdictToVisible();
const result = {
  first_page,
  embedded: live,
  distributed: 'not measured by this script: run the distributed stack (README) with `metronis console` on Kafka and point a browser at it',
  traces_page_first_render_1m: 'needs the search API (GET /v1/traces), which is not in this build',
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
