/**
 * Tenancy end to end, from the build, on the real services:
 *
 * - Distributed (Kafka, Apicurio, PostgreSQL in a throwaway database): `metronis org create` and
 *   `metronis key create` bootstrap an organization and its first admin key; that key creates an
 *   ingest key through the console; two `metronis gateway` processes accept it; the admin revokes it
 *   and both gateways refuse it (401 revoked_api_key) within seconds — their key caches live 2 s —
 *   and the audit log shows the creation and the revocation with the acting key and request id.
 * - Embedded (`metronis dev`: the sinks write PGlite and chDB): traces of one user in two
 *   organizations; a data-subject deletion in one removes its traces from Postgres and the facts,
 *   answers the counts, leaves the other organization's, and the compliance report lists it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, runCli, type Running } from './process.js';

const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const SCHEMA_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
const database = `metronis_tenancy_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const dbUrl = (() => {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();
/** The gateways' key caches live 2 s; allow for a loaded machine, still "within seconds". */
const REVOCATION_DEADLINE_MS = 10_000;

const processes: Running[] = [];
let dir: string;

function start(args: string[], env: Record<string, string>): Running {
  const child = runCli(args, env);
  processes.push(child);
  return child;
}

async function cli(args: string[], env: Record<string, string>): Promise<any> {
  const child = start(args, env);
  const code = await child.exited;
  if (code !== 0) throw new Error(`metronis ${args.join(' ')} exited with ${code}:\n${child.output()}`);
  return JSON.parse(child.output());
}

function request(url: string, method: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metronis-tenancy-'));
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  await admin.end();
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGTERM')));
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${database}" with (force)`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('distributed: keys across two gateway instances', () => {
  it('bootstraps an org from the CLI, and a key revoked through the console is refused by both gateways within seconds', async () => {
    const env = { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL: dbUrl, CLICKHOUSE_URL: `chdb:${join(dir, 'facts')}` };
    const migrate = start(['migrate'], env);
    expect(await migrate.exited, migrate.output()).toBe(0);

    const { organization } = await cli(['org', 'create', '--id', 'acme', '--name', 'Acme', '--retention-days', '30'], env);
    expect(organization).toMatchObject({ id: 'acme', retention_days: 30 });
    const bootstrap = await cli(['key', 'create', '--org', 'acme', '--name', 'first admin', '--scopes', 'admin,read'], env);
    expect(bootstrap.key).toMatch(/^mtr_/);
    const adminKey: string = bootstrap.key;
    // Bad input to the CLI is a usage error naming the problem, and creates nothing.
    const bad = start(['key', 'create', '--org', 'acme', '--name', 'x', '--scopes', 'root'], env);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(/--scopes must be a comma-separated list/);

    const gateways = await Promise.all(
      [0, 1].map(async () => (await start(['gateway'], { ...env, METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info' }).waitFor(/"url":"(http:\/\/[^"]+)","msg":"gateway listening"/))[1]!),
    );
    const consoleUrl = (await start(['console'], { ...env, METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info' }).waitFor(/"url":"(http:\/\/[^"]+)","msg":"console listening"/))[1]!;

    const created = await request(`${consoleUrl}/v1/keys`, 'POST', adminKey, { name: 'ingest', scopes: ['ingest'] }, { 'x-request-id': 'create-1' });
    expect(created.status).toBe(201);
    const ingest = (await created.json()) as { id: string; key: string };
    for (const url of gateways) {
      const res = await request(`${url}/v1/traces`, 'POST', ingest.key, { input: 'hi', output: 'hello' });
      expect(res.status).toBe(202);
    }

    const revoked = await request(`${consoleUrl}/v1/keys/${ingest.id}`, 'DELETE', adminKey, undefined, { 'x-request-id': 'revoke-1' });
    expect(revoked.status).toBe(200);
    const revokedAt = Date.now();
    const refusedAfter = await Promise.all(
      gateways.map((url) =>
        eventually(
          async () => {
            const res = await request(`${url}/v1/traces`, 'POST', ingest.key, { input: 'hi', output: 'hello' });
            if (res.status === 202) return undefined;
            expect(res.status).toBe(401);
            expect(((await res.json()) as { error: { code: string } }).error.code).toBe('revoked_api_key');
            return Date.now() - revokedAt;
          },
          REVOCATION_DEADLINE_MS,
          `gateway ${url} refusing the revoked key`,
        ),
      ),
    );
    process.stdout.write(`revoked key refused by both gateways after ${refusedAfter.join(' ms and ')} ms\n`);

    const audit = (await (await request(`${consoleUrl}/v1/audit?target=${ingest.id}`, 'GET', adminKey)).json()) as { entries: { action: string; actor: string; request_id: string }[] };
    expect(audit.entries.map((e) => [e.action, e.actor, e.request_id])).toEqual([
      ['key.revoked', bootstrap.api_key.id, 'revoke-1'],
      ['key.created', bootstrap.api_key.id, 'create-1'],
    ]);
  });
});

describe('embedded: a data-subject deletion across Postgres and the facts', () => {
  it("deletes one user's traces in one organization from both stores, and the compliance report says so", async () => {
    const dataDir = join(dir, 'embedded');
    const devKey = `mtr_dev_${randomUUID().replaceAll('-', '')}`;
    const env = { METRONIS_DATA_DIR: dataDir, METRONIS_DEV_API_KEY: devKey };
    // The default organization is an operator: its key creates a second organization over HTTP.
    const dev = start(['dev'], { ...env, METRONIS_PORT: '0' });
    const url = (await dev.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    const other = (await (await request(`${url}/v1/orgs`, 'POST', devKey, { id: 'other-co', name: 'Other' })).json()) as { api_key: { key: string } };
    const otherKey = other.api_key.key;

    const user = `user-${randomUUID()}`;
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) expect((await request(`${url}/v1/traces`, 'POST', devKey, { trace_id: id, user_id: user, input: 'hi', output: 'hello' })).status).toBe(202);
    const kept = randomUUID();
    expect((await request(`${url}/v1/traces`, 'POST', otherKey, { trace_id: kept, user_id: user, input: 'hi', output: 'hello' })).status).toBe(202);
    // Wait until every store has them: the verdict (Postgres) and the facts (chDB, batched each second).
    const facts = async (key: string) => ((await (await request(`${url}/v1/compliance/report`, 'GET', key)).json()) as any).stored.clickhouse;
    await eventually(async () => ((await facts(devKey)).trace_facts.rows >= 2 && (await facts(devKey)).evaluation_facts.rows >= 2 ? true : undefined), 60_000, 'facts of org default');
    await eventually(async () => ((await facts(otherKey)).trace_facts.rows >= 1 ? true : undefined), 60_000, 'facts of other-co');
    for (const id of ids) await eventually(async () => ((await (await request(`${url}/v1/traces/${id}`, 'GET', devKey)).json()) as any).verdict ?? undefined, 30_000, 'verdict');

    const res = await request(`${url}/v1/users/${encodeURIComponent(user)}/data`, 'DELETE', devKey, undefined, { 'x-request-id': 'dsr-e2e' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.deleted.postgres).toMatchObject({ traces: 2, verdicts: 2 });
    expect(body.deleted.postgres.evaluations).toBeGreaterThanOrEqual(2);
    expect(body.deleted.clickhouse.trace_facts).toBe(2);
    expect(body.deleted.clickhouse.evaluation_facts).toBeGreaterThanOrEqual(2);
    for (const id of ids) expect((await request(`${url}/v1/traces/${id}`, 'GET', devKey)).status).toBe(404);
    expect((await request(`${url}/v1/traces/${kept}`, 'GET', otherKey)).status).toBe(200);
    expect((await facts(otherKey)).trace_facts.rows).toBe(1);

    const report = (await (await request(`${url}/v1/compliance/report`, 'GET', devKey)).json()) as any;
    expect(report.stored.clickhouse.trace_facts.rows).toBe(0);
    expect(report.deletions.recent[0]).toMatchObject({ kind: 'user', subject: user, request_id: 'dsr-e2e' });
    expect(report.retention.days).toBe(90);
    process.stdout.write(`data-subject deletion: ${JSON.stringify(body.deleted)}\n`);
  });
});
