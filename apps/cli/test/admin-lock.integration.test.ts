/**
 * The admin commands refuse an embedded data folder that a running `metronis dev` holds, as the
 * embedded log's lock refuses a second log: found by an outside probe, `key create` on such a folder
 * exited 0 and printed a key that never worked (PGlite is one process's: `dev` never saw the row), and
 * left an audit row for a key that did not exist. Runs the built CLI, as users do.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createPgliteStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedPaths } from '../src/runtime.js';
import { runCli, type Running } from './process.js';

let dir: string;
const processes: Running[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metronis-admin-lock-'));
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGKILL')));
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = runCli(args, env);
  processes.push(child);
  const code = await child.exited;
  return { code, output: child.output() };
}

describe('admin commands on a data folder held by a running dev', () => {
  it('refuse with a clear error and write nothing; they work again once dev has stopped', async () => {
    const env = { METRONIS_DATA_DIR: join(dir, 'data'), METRONIS_DEV_API_KEY: `mtr_dev_${randomUUID().replaceAll('-', '')}` };
    const dev = runCli(['dev'], { ...env, METRONIS_PORT: '0' });
    processes.push(dev);
    await dev.waitFor(/listening on (http:\/\/\S+)/);

    for (const args of [
      ['key', 'create', '--org', 'default', '--name', 'while-dev-runs'],
      ['key', 'revoke', '--org', 'default', '--id', 'key_0000000000000000'],
      ['org', 'create', '--id', 'while-dev', '--name', 'While dev runs'],
      ['key', 'list', '--org', 'default'],
    ]) {
      const { code, output } = await run(args, env);
      expect(code, `${args.join(' ')}: ${output}`).toBe(1);
      expect(output).toMatch(new RegExp(`data folder .* is in use by the running process ${dev.child.pid}`));
      expect(output).not.toMatch(/mtr_[A-Za-z0-9_-]{43}/); // no key printed
      expect(output).not.toMatch(/\n\s+at /); // no stack
    }

    expect(await dev.kill('SIGTERM')).toBe(0);
    // Nothing of the refused commands was written: no key, no organization, no audit row by the CLI.
    const store = createPgliteStore({ dir: embeddedPaths(env.METRONIS_DATA_DIR).postgres });
    try {
      expect((await store.forOrg('default').listApiKeys()).map((k) => k.name)).not.toContain('while-dev-runs');
      expect(await store.forOrg('while-dev').getOrganization()).toBeNull();
      // (dev itself records the first console admin it adds, member.added, as the CLI.)
      expect((await store.forOrg('default').listAudit({ limit: 100 })).filter((e) => e.actor === 'cli' && (e.action === 'key.created' || e.action === 'organization.created'))).toEqual([]);
    } finally {
      await store.close();
    }
    const created = await run(['key', 'create', '--org', 'default', '--name', 'after-dev'], env);
    expect(created.code, created.output).toBe(0);
    expect(created.output).toMatch(/mtr_/);
  }, 120_000);
});
