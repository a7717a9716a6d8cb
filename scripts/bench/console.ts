/**
 * The console's numbers for BENCHMARKS.md (run when the machine is quiet; not part of `npm test`):
 *
 * - JavaScript and CSS shipped to the first page (bytes, gzip), from the build in apps/console-web/dist.
 * - Verdict → visible in an open browser: `metronis dev` on a fresh data folder, Debian's Chromium on the
 *   traces page, traces sent to the gateway at a fixed rate; for each, the time from the verdict's
 *   `decided_at` (and from the 202 of the POST) to the moment its row shows the verdict (a
 *   MutationObserver in the page). p50 / p95 / max.
 *   Both on `npm start` (embedded) and on the distributed stack (gateway, tier1 and sinks workers and
 *   console as processes on Kafka and PostgreSQL: the stack's variables must be set).
 * - Time to first render of the traces page with 1M traces stored: `metronis console` over the database
 *   `npm run bench:search -- --traces 1000000 --keep` seeded, signed in as organization bench_a's first
 *   admin; from navigation start to the first row drawn, over --renders loads.
 *
 *   npm run bench:console -- [--traces 300] [--rate 20] [--modes embedded,distributed]
 *     [--first-render-db metronis_bench_search_keep_1000000] [--renders 20]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import postgres from 'postgres';
import { runCli } from '../../apps/cli/test/process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    traces: { type: 'string', default: '300' },
    rate: { type: 'string', default: '20' },
    modes: { type: 'string', default: 'embedded,distributed' },
    'first-render-db': { type: 'string' },
    renders: { type: 'string', default: '20' },
  },
});
const modes = new Set(values.modes.split(',').filter(Boolean));
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

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Signs in with a one-time link in a fresh browser and returns the page (on the settings page the link lands on). */
async function signedInPage(link: string) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(link);
  await page.waitForURL(/settings/);
  return { browser, page };
}

/**
 * Sends `count` traces at `rate`/s to `gateway` and times, in the browser open on `consoleBase`'s
 * traces page, when each row first shows its verdict: from the verdict's `decided_at`, and from the
 * POST's 202.
 */
async function measureLive(link: string, gateway: string, consoleBase: string, key: string) {
  const { browser, page } = await signedInPage(link);
  try {
    await page.goto(`${consoleBase}/traces`);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 60_000 });
    // Epoch ms at which each row first shows a verdict (the badge is no longer "pending").
    await page.evaluate(OBSERVER);
    const accepted: Record<string, number> = {};
    const run = Date.now().toString(36);
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const id = `bench-${run}-${i}`;
      const wait = started + (i * 1000) / rate - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const response = await fetch(`${gateway}/v1/traces`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ trace_id: id, input: `question ${i}`, output: `answer ${i} to ada@lovelace.dev` }) });
      if (response.status !== 202) throw new Error(`POST answered ${response.status}`);
      accepted[id] = Date.now();
    }
    const deadline = Date.now() + 60_000;
    let seen: Record<string, number> = {};
    while (Date.now() < deadline) {
      seen = (await page.evaluate('window.seen')) as Record<string, number>;
      if (Object.keys(accepted).every((id) => seen[id] !== undefined)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const fromDecided: number[] = [];
    const fromAccepted: number[] = [];
    for (const id of Object.keys(accepted)) {
      if (seen[id] === undefined) continue;
      const detail = (await (await fetch(`${consoleBase}/v1/traces/${id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { verdict: { decided_at: number } | null };
      if (detail.verdict !== null) fromDecided.push(seen[id]! - detail.verdict.decided_at);
      fromAccepted.push(seen[id]! - accepted[id]!);
    }
    return {
      traces: count,
      rate_per_second: rate,
      visible: Object.keys(accepted).filter((id) => seen[id] !== undefined).length,
      verdict_to_visible_ms: { p50: pct(fromDecided, 50), p95: pct(fromDecided, 95), max: pct(fromDecided, 100) },
      accepted_to_visible_ms: { p50: pct(fromAccepted, 50), p95: pct(fromAccepted, 95), max: pct(fromAccepted, 100) },
    };
  } finally {
    await browser.close();
  }
}

async function embeddedLive() {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-bench-console-'));
  const server = runCli(['dev'], { METRONIS_DATA_DIR: dir, METRONIS_PORT: '0' });
  try {
    const link = (await server.waitFor(/console:\s+(\S+)/, 120_000))[1]!;
    const key = (await server.waitFor(/API key:\s+(\S+)/))[1]!;
    const base = new URL(link).origin;
    return await measureLive(link, base, base, key);
  } finally {
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The processes of the distributed stack on a throwaway database of DATABASE_URL's server (facts on chDB). */
async function withDistributed<T>(work: (d: { env: Record<string, string>; gateway: string; console: string; key: string }) => Promise<T>, database?: string): Promise<T> {
  const root = process.env.DATABASE_URL;
  if (root === undefined || process.env.KAFKA_BROKERS === undefined || process.env.SCHEMA_REGISTRY_URL === undefined) {
    throw new Error('the distributed runs need KAFKA_BROKERS, SCHEMA_REGISTRY_URL and DATABASE_URL (eval "$(bash scripts/stack.sh env)")');
  }
  const facts = await mkdtemp(join(tmpdir(), 'metronis-bench-console-facts-'));
  const name = database ?? `metronis_bench_console_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = postgres(root, { max: 1, onnotice: () => {} });
  if (database === undefined) await admin.unsafe(`create database "${name}"`);
  const url = new URL(root);
  url.pathname = `/${name}`;
  const key = `mtr_bench_${randomUUID().replaceAll('-', '')}`;
  const env = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL, DATABASE_URL: url.toString(), CLICKHOUSE_URL: `chdb:${facts}`, METRONIS_DEV_API_KEY: key };
  const running = [];
  try {
    const migrate = runCli(['migrate'], env);
    running.push(migrate);
    if ((await migrate.exited) !== 0) throw new Error(`metronis migrate failed:\n${migrate.output()}`);
    const gateway = runCli(['gateway'], { ...env, METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info' });
    const consoleApp = runCli(['console'], { ...env, METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info', CLICKHOUSE_URL: `chdb:${join(facts, 'console')}` });
    const workers = database === undefined ? [runCli(['worker', '--topology', 'sinks'], { ...env, METRONIS_LOG_LEVEL: 'info' }), runCli(['worker', '--topology', 'tier1'], { ...env, METRONIS_LOG_LEVEL: 'info' })] : [];
    running.push(gateway, consoleApp, ...workers);
    const gatewayUrl = (await gateway.waitFor(/"url":"(http:\/\/[^"]+)","msg":"gateway listening"/, 120_000))[1]!;
    const consoleUrl = (await consoleApp.waitFor(/"url":"(http:\/\/[^"]+)","msg":"console listening"/, 120_000))[1]!;
    for (const worker of workers) await worker.waitFor(/"msg":"topology running"/, 120_000);
    return await work({ env, gateway: gatewayUrl, console: consoleUrl, key });
  } finally {
    await Promise.all(running.map((p) => p.kill('SIGTERM')));
    if (database === undefined) await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
    await rm(facts, { recursive: true, force: true });
  }
}

/** A one-time sign-in link for `org`'s first admin, from `metronis user link` (what an operator runs). */
async function userLink(env: Record<string, string>, org: string, consoleUrl: string): Promise<string> {
  const cli = runCli(['user', 'link', '--org', org, '--url', consoleUrl], env);
  if ((await cli.exited) !== 0) throw new Error(`metronis user link failed:\n${cli.output()}`);
  return /"link":\s*"([^"]+)"/.exec(cli.output())![1]!;
}

async function distributedLive() {
  return withDistributed(async ({ env, gateway, console: consoleUrl, key }) => measureLive(await userLink(env, 'default', consoleUrl), gateway, consoleUrl, key));
}

/**
 * Time to first render of the traces page over a database that holds the history `npm run
 * bench:search -- --traces N --keep` seeded (organization bench_a): from navigation start to the first
 * row drawn, over `renders` fresh loads of the page.
 */
async function firstRender(database: string, renders: number) {
  return withDistributed(async ({ env, console: consoleUrl }) => {
    const { browser, page } = await signedInPage(await userLink(env, 'bench_a', consoleUrl));
    try {
      const times: number[] = [];
      for (let i = 0; i <= renders; i++) {
        await page.goto(`${consoleUrl}/traces`, { waitUntil: 'commit' });
        await page.locator('a[data-trace-id]').first().waitFor({ timeout: 60_000 });
        const ms = (await page.evaluate('performance.now()')) as number;
        if (i > 0) times.push(ms); // the first load warms the server's caches and the connection pool
      }
      const rows = await page.locator('a[data-trace-id]').count();
      return { database, renders, rows_drawn: rows, first_row_ms: { p50: pct(times, 50), p95: pct(times, 95), max: pct(times, 100) } };
    } finally {
      await browser.close();
    }
  }, database);
}

log('first page: bytes of the build');
const first_page = await firstPageBytes();
const result: Record<string, unknown> = { date: new Date().toISOString(), first_page };
if (modes.has('embedded')) {
  log(`verdict → visible: ${count} traces at ${rate}/s on npm start (embedded)`);
  result.embedded = await embeddedLive();
}
if (modes.has('distributed')) {
  log(`verdict → visible: ${count} traces at ${rate}/s on the distributed stack`);
  result.distributed = await distributedLive();
}
if (values['first-render-db'] !== undefined) {
  log(`first render of the traces page over ${values['first-render-db']}`);
  result.traces_page_first_render = await firstRender(values['first-render-db'], Number(values.renders));
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
