/**
 * Gateway ingestion against a bare node:http server doing the same JSON parse, in the same run:
 * single traces and batches of 50, closed loop, exact percentiles. Targets: the bare baseline, the
 * embedded mode (`metronis dev`, embedded durable log with fsync per acknowledged write), and the
 * distributed gateway on Kafka when KAFKA_BROKERS answers.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoad, type LoadResult } from './load.js';
import { runToEnd, spawnServer, type Spawned } from './spawn.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'apps/cli/dist/main.js');
const KEY = `mtr_bench_${randomUUID().replaceAll('-', '')}`;

const ANSWER =
  'To rotate the signing keys without downtime, publish the new public key to the JWKS endpoint first, wait for the cache lifetime of your clients (usually five minutes), then switch the signer to the new private key. Keep the old public key published until every token signed with it has expired. ';

/** A realistic ~1.3 KB trace body. */
export function traceBody(i: number) {
  return {
    trace_id: `bench-${i}-${randomUUID()}`,
    application: 'support-bot',
    environment: 'production',
    model: { provider: 'openai', name: 'gpt-4o-mini', parameters: { temperature: 0.2, max_tokens: 512 } },
    input: { messages: [{ role: 'system', content: 'You are a concise assistant for our identity platform.' }, { role: 'user', content: `How do I rotate our JWT signing keys without logging everyone out? (#${i})` }] },
    output: { content: ANSWER.repeat(3), finish_reason: 'stop' },
    usage: { input_tokens: 48, output_tokens: 190, cost_usd: 0.00012 },
    latency_ms: 812,
    user_id: `user-${i % 1000}`,
    session_id: `session-${i % 100}`,
    tags: ['bench'],
  };
}

export interface GatewayFigure {
  target: string;
  scenario: string;
  traces_per_s: number;
  result: LoadResult;
}

async function measure(target: string, url: string, seconds: number): Promise<GatewayFigure[]> {
  const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  const single = await runLoad({ url, path: '/v1/traces', headers, connections: 32, durationMs: seconds * 1000, warmupMs: 2000, body: (i) => JSON.stringify(traceBody(i)) });
  const batch = await runLoad({
    url,
    path: '/v1/traces/batch',
    headers,
    connections: 8,
    durationMs: seconds * 1000,
    warmupMs: 2000,
    body: (i) => JSON.stringify({ traces: Array.from({ length: 50 }, (_, j) => traceBody(i * 50 + j)) }),
  });
  return [
    { target, scenario: 'single, 32 connections', traces_per_s: single.rps, result: single },
    { target, scenario: 'batch of 50, 8 connections', traces_per_s: batch.rps * 50, result: batch },
  ];
}

async function kafkaReachable(): Promise<boolean> {
  const [host, port] = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',')[0]!.split(':');
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect({ host: host!, port: Number(port) }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export async function benchGateway(seconds: number, log: (line: string) => void): Promise<GatewayFigure[]> {
  const figures: GatewayFigure[] = [];
  const running: Spawned[] = [];
  const dirs: string[] = [];
  try {
    log('gateway: bare node:http baseline');
    const bare = await spawnServer(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/bench/bare-server.ts')], {}, /listening on (http:\/\/\S+)/);
    running.push(bare);
    figures.push(...(await measure('bare node:http (JSON.parse only)', bare.url, seconds)));
    await bare.stop();

    log('gateway: metronis dev (embedded log)');
    const dataDir = await mkdtemp(join(tmpdir(), 'metronis-bench-'));
    dirs.push(dataDir);
    const dev = await spawnServer(process.execPath, [CLI, 'dev'], { METRONIS_DATA_DIR: dataDir, METRONIS_PORT: '0', METRONIS_DEV_API_KEY: KEY, METRONIS_LOG_LEVEL: 'warn' }, /listening on (http:\/\/\S+)/);
    running.push(dev);
    figures.push(...(await measure('metronis dev (embedded log, fsync)', dev.url, seconds)));
    await dev.stop();

    if (await kafkaReachable()) {
      log('gateway: metronis gateway on Kafka');
      const factsDir = await mkdtemp(join(tmpdir(), 'metronis-bench-facts-'));
      dirs.push(factsDir);
      const env = { METRONIS_DEV_API_KEY: KEY, CLICKHOUSE_URL: `chdb:${factsDir}`, METRONIS_LOG_LEVEL: 'warn' };
      await runToEnd(process.execPath, [CLI, 'migrate'], env);
      const gateway = await spawnServer(process.execPath, [CLI, 'gateway'], { ...env, METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info' }, /"url":"(http:\/\/[^"]+)","msg":"gateway listening"/);
      running.push(gateway);
      figures.push(...(await measure('metronis gateway (Kafka, acks=all)', gateway.url, seconds)));
      await gateway.stop();
    } else {
      log('gateway: Kafka not reachable, skipping the distributed gateway (npm run stack:up)');
    }
  } finally {
    await Promise.all(running.map((r) => r.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
  return figures;
}
