/** `metronis alerts ...` on PGlite: rules applied from a file (created, then replaced), silences, and clear errors. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminUsageError } from '../src/commands/admin.js';
import { runAlerts } from '../src/commands/alerts.js';

let store: RelationalStore;
let dir: string;
const file = async (name: string, body: unknown) => {
  const path = join(dir, name);
  await writeFile(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metronis-alerts-cli-'));
  store = createPgliteStore();
  await store.migrate();
  await store.ensureOrganization('acme', 'Acme');
}, 60_000);
afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('metronis alerts', () => {
  it('applies a rule from a file (create, then replace by id), lists and deletes it, audited as cli', async () => {
    const rule = { id: 'leaks', name: 'leaked secrets', kind: 'per_event', when: { min_severity: 'high' } };
    expect(await runAlerts(store, 'rule', 'apply', { org: 'acme', file: await file('r.json', rule) })).toMatchObject({ rule: { id: 'leaks', version: 1 } });
    expect(await runAlerts(store, 'rule', 'apply', { org: 'acme', file: await file('r.json', { ...rule, when: { min_severity: 'critical' } }) })).toMatchObject({ rule: { id: 'leaks', version: 2 } });
    expect(((await runAlerts(store, 'rule', 'list', { org: 'acme' })) as { rules: unknown[] }).rules).toHaveLength(1);
    expect(await runAlerts(store, 'rule', 'delete', { org: 'acme', id: 'leaks' })).toEqual({ id: 'leaks', deleted: true });
    const audit = await store.forOrg('acme').listAudit({ actor: 'cli', limit: 10 });
    expect(audit.map((a) => a.action)).toEqual(['alert_rule.deleted', 'alert_rule.changed', 'alert_rule.created']);
  });

  it('refuses a bad file, an unknown channel, an unknown org or subcommand, naming what is wrong', async () => {
    await expect(runAlerts(store, 'rule', 'apply', { org: 'acme', file: await file('bad.json', '{nope') })).rejects.toThrow(/not a readable JSON file/);
    await expect(runAlerts(store, 'rule', 'apply', { org: 'acme', file: await file('bad2.json', { name: 'x', kind: 'aggregate' }) })).rejects.toThrow(/\$\.measure/);
    await expect(runAlerts(store, 'rule', 'apply', { org: 'acme', file: await file('r3.json', { name: 'x', kind: 'per_event', channels: ['pd'] }) })).rejects.toThrow(/no channel 'pd'/);
    await expect(runAlerts(store, 'rule', 'list', { org: 'nobody' })).rejects.toThrow(AdminUsageError);
    await expect(runAlerts(store, 'rule', 'frobnicate', { org: 'acme' })).rejects.toThrow(/unknown subcommand 'alerts rule frobnicate'/);
  });

  it('creates, lists and expires a silence', async () => {
    const created = (await runAlerts(store, 'silence', 'create', { org: 'acme', file: await file('s.json', { matchers: [{ label: 'application', value: 'bot' }], duration: '1h', comment: 'deploy' }) })) as { silence: { id: string } };
    expect(((await runAlerts(store, 'silence', 'list', { org: 'acme' })) as { silences: unknown[] }).silences).toHaveLength(1);
    await runAlerts(store, 'silence', 'expire', { org: 'acme', id: created.silence.id });
    expect(((await runAlerts(store, 'silence', 'list', { org: 'acme' })) as { silences: unknown[] }).silences).toHaveLength(0);
  });
});
