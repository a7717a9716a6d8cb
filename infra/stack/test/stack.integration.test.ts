import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedPorts, parseStatus, run } from './run.js';

// The lifecycle of scripts/stack.sh on a second, isolated stack (own state directory and ports),
// so the stack the other tests use is never touched. Covers the services whose crash recovery the
// fault tests depend on: Kafka (data survives SIGKILL), Postgres (postmaster + backends) and Redis.
// Needs java/mvn and the Debian packages that `npm run stack:up` needs; the downloads are shared.
const stateDir = mkdtempSync(join(tmpdir(), 'metronis-stack-it-'));
// the postgres OS user must traverse it when the tests run as root
chmodSync(stateDir, 0o755);
const ports = isolatedPorts(42000);
const env = { METRONIS_STACK_DIR: stateDir, ...ports };
const brokers = `127.0.0.1:${ports.METRONIS_KAFKA_PORT}`;

async function states(): Promise<Record<string, string>> {
  return parseStatus((await run('stack.sh', ['status'], env)).stdout);
}

async function topics(): Promise<string[]> {
  const { code, stdout, stderr } = await run(
    'kafka-tool.sh',
    ['org.apache.kafka.tools.TopicCommand', '--bootstrap-server', brokers, '--list'],
    env,
  );
  expect(code, stderr).toBe(0);
  return stdout.trim().split('\n').filter(Boolean);
}

beforeAll(async () => {
  for (const service of ['redis', 'postgres', 'kafka']) {
    const { code, stderr } = await run('stack.sh', ['start', service], env);
    expect(code, stderr).toBe(0);
  }
}, 240_000);

afterAll(async () => {
  await run('stack.sh', ['down'], env);
  rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

describe('stack.sh lifecycle (isolated stack)', () => {
  it('reports started services up and the others down', async () => {
    expect(await states()).toEqual({
      postgres: 'up',
      kafka: 'up',
      registry: 'down',
      clickhouse: 'down',
      redis: 'up',
    });
  });

  it('start of a running service leaves it alone', async () => {
    const { code, stderr } = await run('stack.sh', ['start', 'redis'], env);
    expect(code).toBe(0);
    expect(stderr).toContain('redis: already running');
  });

  it('kill kafka then start kafka brings the broker back with its topics', async () => {
    const created = await run(
      'kafka-tool.sh',
      ['org.apache.kafka.tools.TopicCommand', '--bootstrap-server', brokers, '--create', '--topic', 'stack-it'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);

    expect((await run('stack.sh', ['kill', 'kafka'], env)).code).toBe(0);
    expect((await states()).kafka).toBe('down');

    const started = await run('stack.sh', ['start', 'kafka'], env);
    expect(started.code, started.stderr).toBe(0);
    expect(await topics()).toContain('stack-it');

    // 6 partitions by default, replication factor 1
    const described = await run(
      'kafka-tool.sh',
      ['org.apache.kafka.tools.TopicCommand', '--bootstrap-server', brokers, '--describe', '--topic', 'stack-it'],
      env,
    );
    expect(described.stdout).toMatch(/PartitionCount: 6\s+ReplicationFactor: 1/);
  });

  it('the broker does not create topics on demand', async () => {
    const { stdout, stderr } = await run(
      'kafka-tool.sh',
      ['org.apache.kafka.tools.ConsumerPerformance', '--bootstrap-server', brokers, '--topic', 'never-created',
        '--messages', '1', '--timeout', '3000'],
      env,
    );
    expect(`${stdout}${stderr}`).not.toBe('');
    expect(await topics()).not.toContain('never-created');
  });

  it('registry schema ids survive a registry restart (they live in Postgres)', async () => {
    const started = await run('stack.sh', ['start', 'registry'], env);
    expect(started.code, started.stderr).toBe(0);
    const registry = `http://127.0.0.1:${ports.METRONIS_REGISTRY_PORT}/apis/ccompat/v7`;
    const schema = JSON.stringify({
      type: 'record',
      name: 'StackProbe',
      namespace: 'dev.metronis.stack',
      fields: [{ name: 'id', type: 'string' }],
    });
    const register = async (): Promise<number> => {
      const res = await fetch(`${registry}/subjects/stack-it-value/versions`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { id: number }).id;
    };
    const id = await register();

    const restarted = await run('stack.sh', ['restart', 'registry'], env);
    expect(restarted.code, restarted.stderr).toBe(0);

    const byId = await fetch(`${registry}/schemas/ids/${id}`);
    expect(byId.status).toBe(200);
    expect(JSON.parse(((await byId.json()) as { schema: string }).schema)).toEqual(JSON.parse(schema));
    expect(await register()).toBe(id);
    expect((await run('stack.sh', ['stop', 'registry'], env)).code).toBe(0);
  });

  it('kill postgres takes its backends down too, and start recovers it', async () => {
    expect((await run('stack.sh', ['kill', 'postgres'], env)).code).toBe(0);
    expect((await states()).postgres).toBe('down');
    const started = await run('stack.sh', ['start', 'postgres'], env);
    expect(started.code, started.stderr).toBe(0);
    expect((await states()).postgres).toBe('up');
  });

  it('refuses a port held by another process, naming it', async () => {
    expect((await run('stack.sh', ['stop', 'redis'], env)).code).toBe(0);
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(Number(ports.METRONIS_REDIS_PORT), '127.0.0.1', resolve));
    try {
      const { code, stderr } = await run('stack.sh', ['start', 'redis'], env);
      expect(code).toBe(1);
      expect(stderr).toContain(`port ${ports.METRONIS_REDIS_PORT} (for redis) is already in use`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    expect((await run('stack.sh', ['start', 'redis'], env)).code).toBe(0);
  });

  it('down stops everything and a second down is a no-op', async () => {
    expect((await run('stack.sh', ['down'], env)).code).toBe(0);
    expect(Object.values(await states())).toEqual(['down', 'down', 'down', 'down', 'down']);
    const again = await run('stack.sh', ['down'], env);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('stopping');
  });
});
