import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isolatedPorts, parseStatus, run } from './run.js';

// The command-line contract of scripts/stack.sh and scripts/kafka-tool.sh. Nothing here starts a
// service: every command runs against an empty, isolated state directory and unused ports.
const stateDir = mkdtempSync(join(tmpdir(), 'metronis-stack-cli-'));
const isolated = { METRONIS_STACK_DIR: stateDir, ...isolatedPorts(41000) };

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe('stack.sh env', () => {
  it('prints the default URLs the tests read, as export lines', async () => {
    const unset = Object.fromEntries(Object.keys(isolatedPorts(0)).map((k) => [k, '']));
    const { code, stdout } = await run('stack.sh', ['env'], unset);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      'export KAFKA_BROKERS=127.0.0.1:19092',
      'export SCHEMA_REGISTRY_URL=http://127.0.0.1:18081/apis/ccompat/v7',
      'export DATABASE_URL=postgres://metronis:metronis@127.0.0.1:15432/metronis',
      'export CLICKHOUSE_URL=http://127.0.0.1:18123',
      'export REDIS_URL=redis://127.0.0.1:16379',
    ]);
  });

  it('follows the port variables', async () => {
    const { stdout } = await run('stack.sh', ['env'], isolated);
    expect(stdout).toContain('export KAFKA_BROKERS=127.0.0.1:41092\n');
    expect(stdout).toContain('export SCHEMA_REGISTRY_URL=http://127.0.0.1:41081/apis/ccompat/v7\n');
    expect(stdout).toContain('export DATABASE_URL=postgres://metronis:metronis@127.0.0.1:41032/metronis\n');
    expect(stdout).toContain('export CLICKHOUSE_URL=http://127.0.0.1:41023\n');
    expect(stdout).toContain('export REDIS_URL=redis://127.0.0.1:41079\n');
  });
});

describe('stack.sh with nothing running', () => {
  it('status lists every service as down and exits 1', async () => {
    const { code, stdout } = await run('stack.sh', ['status'], isolated);
    expect(code).toBe(1);
    expect(parseStatus(stdout)).toEqual({
      postgres: 'down',
      kafka: 'down',
      registry: 'down',
      clickhouse: 'down',
      redis: 'down',
    });
  });

  it('down and stop are no-ops that succeed', async () => {
    const down = await run('stack.sh', ['down'], isolated);
    expect(down.code).toBe(0);
    expect(down.stderr).toContain('stack down');
    expect(down.stderr).not.toContain('stopping');
    const stop = await run('stack.sh', ['stop', 'kafka'], isolated);
    expect(stop.code).toBe(0);
  });

  it('refuses to start the registry while its Postgres storage is down', async () => {
    const { code, stderr } = await run('stack.sh', ['start', 'registry'], isolated);
    expect(code).toBe(1);
    expect(stderr).toContain('PostgreSQL (its storage) is not running');
  });
});

describe('stack.sh bad input', () => {
  it('names the unknown service and lists the valid ones', async () => {
    const { code, stderr } = await run('stack.sh', ['start', 'zookeeper'], isolated);
    expect(code).toBe(1);
    expect(stderr).toContain("unknown service 'zookeeper'; expected one of: postgres kafka registry clickhouse redis");
  });

  it('says which command needs a service', async () => {
    const { code, stderr } = await run('stack.sh', ['kill'], isolated);
    expect(code).toBe(1);
    expect(stderr).toContain("'kill' needs a service");
  });

  it('prints usage for an unknown command or none', async () => {
    const unknown = await run('stack.sh', ['launch'], isolated);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'launch'");
    expect(unknown.stderr).toContain('bash scripts/stack.sh up');
    const none = await run('stack.sh', [], isolated);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('bash scripts/stack.sh kill SVC');
  });
});

describe('kafka-tool.sh bad input', () => {
  it('rejects a main class that is not a qualified Java name', async () => {
    const { code, stderr } = await run('kafka-tool.sh', ['ProducerPerformance; rm -rf /'], isolated);
    expect(code).toBe(1);
    expect(stderr).toContain('is not a fully qualified Java class name');
  });

  it('prints usage without arguments', async () => {
    const { code, stderr } = await run('kafka-tool.sh', [], isolated);
    expect(code).toBe(2);
    expect(stderr).toContain('org.apache.kafka.tools.ProducerPerformance');
  });
});
