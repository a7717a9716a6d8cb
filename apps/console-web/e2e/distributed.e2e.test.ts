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
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDeployment } from '../../cli/test/support/deployment.js';
import { launch, newPage, seriousViolations, shot } from './browser.js';

const PASSWORD = 'a long distributed password';

// Chromium starts while the deployment does (the first hook only sets it going).
let launching: Promise<Browser> | undefined;
beforeAll(() => {
  launching = launch();
  launching.catch(() => {}); // awaited (and reported) below
});
const deployment = useDeployment({ name: 'web', consoles: 2, workers: ['sinks', 'tier1'] });
let browser: Browser;
let page: Page;
let problems: string[];

const SECRET_TRACE = (id: string) => ({
  trace_id: id,
  application: 'deploy-bot',
  environment: 'production',
  input: { messages: [{ role: 'user', content: 'How do I reach the on-call?' }] },
  output: { content: 'Write to oncall@acme-robotics.io or call +1 415 555 2671.', finish_reason: 'stop' },
  model: { provider: 'anthropic', name: 'claude-3-5-sonnet' },
});

beforeAll(async () => {
  browser = await launching!;
  ({ page, problems } = await newPage(await browser.newContext({ viewport: { width: 1280, height: 800 } })));
});

afterAll(async () => {
  await (await launching?.catch(() => undefined))?.close();
});

describe('the console on the distributed stack', () => {
  it('signs the first admin in with the link `metronis user link` prints', async () => {
    const printed = await deployment.run(['user', 'link', '--org', 'default', '--url', deployment.consoleUrls[0]!]);
    const link = /"link":\s*"([^"]+)"/.exec(printed)?.[1];
    expect(link, printed).toMatch(/\/sign-in\/link#token=/);
    await page.goto(link!);
    await page.getByText('Welcome to Metronis').waitFor();
    await page.getByLabel('New password (10 characters or more)').fill(PASSWORD);
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByText('Password saved.').waitFor();
  });

  it('shows a trace POSTed to the gateway arrive live with its verdict, on both console instances', async () => {
    await page.goto(`${deployment.consoleUrls[0]}/traces`);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 30_000 });
    // The second instance, signed in with the same account in a context of its own.
    const second = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const other = await second.newPage();
    await other.goto(`${deployment.consoleUrls[1]}/sign-in`);
    await other.getByLabel('Email').fill('admin@metronis.local');
    await other.getByLabel('Password').fill(PASSWORD);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('heading', { name: 'Traces' }).waitFor();
    await other.getByText('live', { exact: true }).waitFor({ timeout: 30_000 });

    const id = `web-${randomUUID().slice(0, 8)}`;
    const response = await fetch(`${deployment.gatewayUrl}/v1/traces`, { method: 'POST', headers: { authorization: `Bearer ${deployment.key}`, 'content-type': 'application/json' }, body: JSON.stringify(SECRET_TRACE(id)) });
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
