/**
 * The console in a real Chromium on the distributed stack: `metronis migrate`, `gateway`,
 * `worker --topology tier1`, `worker --topology sinks` and `console` as separate processes from the
 * build, on Kafka, the schema registry and PostgreSQL (a throwaway database; the facts on chDB). The
 * first admin signs in with the link `metronis user link` prints, chooses a password, and watches a
 * trace POSTed to the gateway (another process, another port) arrive on the traces page with its
 * verdict, pushed through the console's own Kafka consumer group; the trace's page shows its
 * findings highlighted. A second console instance receives the same live events (each instance reads
 * with a group of its own, so neither steals the other's).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type Running } from '../../cli/test/process.js';
import { launch, newPage, seriousViolations, shot } from './browser.js';

const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const SCHEMA_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
const KEY = `mtr_web_${randomUUID().replaceAll('-', '')}`;
const PASSWORD = 'a long distributed password';
const database = `metronis_web_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const dbUrl = (() => {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();

let factsDir: string;
let env: Record<string, string>;
const processes: Running[] = [];
let gatewayUrl: string;
let consoleUrls: string[];
let browser: Browser;
let page: Page;
let problems: string[];

function start(args: string[], extra: Record<string, string> = {}): Running {
  const child = runCli(args, { ...env, ...extra });
  processes.push(child);
  return child;
}

async function run(args: string[]): Promise<string> {
  const child = start(args);
  const code = await child.exited;
  if (code !== 0) throw new Error(`metronis ${args.join(' ')} exited with ${code}:\n${child.output()}`);
  return child.output();
}

const SECRET_TRACE = (id: string) => ({
  trace_id: id,
  application: 'deploy-bot',
  environment: 'production',
  input: { messages: [{ role: 'user', content: 'How do I reach the on-call?' }] },
  output: { content: 'Write to oncall@acme-robotics.io or call +1 415 555 2671.', finish_reason: 'stop' },
  model: { provider: 'anthropic', name: 'claude-3-5-sonnet' },
});

beforeAll(async () => {
  factsDir = await mkdtemp(join(tmpdir(), 'metronis-web-facts-'));
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  await admin.end();
  env = { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL: dbUrl, CLICKHOUSE_URL: `chdb:${factsDir}`, METRONIS_DEV_API_KEY: KEY };

  await run(['migrate']);
  const gateway = start(['gateway'], { METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info' });
  const consoles = [0, 1].map((i) => start(['console'], { METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info', CLICKHOUSE_URL: `chdb:${join(factsDir, `console-${i}`)}` }));
  const workers = [start(['worker', '--topology', 'sinks'], { METRONIS_LOG_LEVEL: 'info' }), start(['worker', '--topology', 'tier1'], { METRONIS_LOG_LEVEL: 'info' })];
  const [launched] = await Promise.all([
    launch(),
    (async () => {
      gatewayUrl = (await gateway.waitFor(/"url":"(http:\/\/[^"]+)","msg":"gateway listening"/, 90_000))[1]!;
      consoleUrls = await Promise.all(consoles.map(async (c) => (await c.waitFor(/"url":"(http:\/\/[^"]+)","msg":"console listening"/, 90_000))[1]!));
      for (const worker of workers) await worker.waitFor(/"msg":"topology running"/, 90_000);
    })(),
  ]);
  browser = launched;
  ({ page, problems } = await newPage(await browser.newContext({ viewport: { width: 1280, height: 800 } })));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(processes.map((p) => p.kill('SIGTERM')));
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${database}" with (force)`);
  await admin.end();
  if (factsDir !== undefined) await rm(factsDir, { recursive: true, force: true });
}, 120_000);

describe('the console on the distributed stack', () => {
  it('signs the first admin in with the link `metronis user link` prints', async () => {
    const printed = await run(['user', 'link', '--org', 'default', '--url', consoleUrls[0]!]);
    const link = /"link":\s*"([^"]+)"/.exec(printed)?.[1];
    expect(link, printed).toMatch(/\/sign-in\/link#token=/);
    await page.goto(link!);
    await page.getByText('Welcome to Metronis').waitFor();
    await page.getByLabel('New password (10 characters or more)').fill(PASSWORD);
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByText('Password saved.').waitFor();
  });

  it('shows a trace POSTed to the gateway arrive live with its verdict, on both console instances', async () => {
    await page.goto(`${consoleUrls[0]}/traces`);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 30_000 });
    // The second instance, signed in with the same account in a context of its own.
    const second = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const other = await second.newPage();
    await other.goto(`${consoleUrls[1]}/sign-in`);
    await other.getByLabel('Email').fill('admin@metronis.local');
    await other.getByLabel('Password').fill(PASSWORD);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('heading', { name: 'Traces' }).waitFor();
    await other.getByText('live', { exact: true }).waitFor({ timeout: 30_000 });

    const id = `web-${randomUUID().slice(0, 8)}`;
    const response = await fetch(`${gatewayUrl}/v1/traces`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(SECRET_TRACE(id)) });
    expect(response.status, await response.text()).toBe(202);
    for (const p of [page, other]) {
      const row = p.locator(`a[data-trace-id="${id}"]`);
      await row.waitFor({ timeout: 60_000 });
      await row.getByText(/failed · (medium|high|critical)/).waitFor({ timeout: 60_000 });
    }
    await shot(page, 'distributed-traces');
    expect(problems).toEqual([]);
    expect(await seriousViolations(page)).toEqual([]);
    await second.close();

    await page.locator(`a[data-trace-id="${id}"]`).click();
    await page.getByRole('heading', { name: new RegExp(`Trace ${id}`) }).waitFor();
    await expect.poll(() => page.locator('mark.finding').allTextContents(), { timeout: 30_000 }).toEqual(['oncall@acme-robotics.io', '+1 415 555 2671']);
    await shot(page, 'distributed-trace-detail');
    expect(problems).toEqual([]);
  });
});
