/**
 * A distributed Metronis deployment for the process-level tests: a throwaway PostgreSQL database on
 * DATABASE_URL, facts on chDB in a temporary folder, `metronis migrate`, then the asked-for processes
 * (`gateway`, `console` instances, `worker --topology X`) from the build, all started at once on
 * KAFKA_BROKERS / SCHEMA_REGISTRY_URL. `start` returns when every process said it is ready (a process
 * that dies or stays silent fails it with that process's output); each process's output is kept and
 * printed after a failed test; `stop` ends the processes and drops the database and the folder.
 *
 *   const deployment = useDeployment({ name: 't2', workers: ['tier1', 'tier2', 'sinks'] });
 *   it('...', async () => { await fetch(`${deployment.gatewayUrl}/v1/traces`, ...) });
 *
 * The facts go to chDB rather than CLICKHOUSE_URL (Debian's ClickHouse server is too old for the facts
 * schema; the HTTP transport is tested in stores/), and REDIS_URL is not handed to the processes
 * (rate limits stay per process, as the tests expect). The processes use the product's fixed topic
 * names and consumer groups: run one such file at a time on a stack.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { TopologyName as Topology } from '../../src/topologies.js';
import { runCli, type Running } from '../process.js';

/** The stack the tests run on: `scripts/stack.sh env` sets these; the defaults are the shared stack's. */
export const services = {
  KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:19092',
  SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7',
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis',
};

export interface DeploymentSpec {
  /** Names the database, the facts folder and the API key, so leftovers say which test made them. */
  name: string;
  /** Worker processes, by topology; with `env`, that worker's own extra variables. */
  workers: Array<Topology | { topology: Topology; env: Record<string, string> }>;
  /** `console` processes (each with its own chDB folder); default 1. */
  consoles?: number;
  /** Extra variables for every process (METRONIS_SECRETS_KEY, METRONIS_EGRESS_ALLOW, ...). */
  env?: Record<string, string>;
  /** Runs after `migrate`, before the processes start (support/orgs.ts makes organizations there). */
  afterMigrate?: (databaseUrl: string) => Promise<void>;
}

/** How long a process may take to say it is ready: generous, the machine may be loaded (10 and more). */
const READY_MS = 120_000;
/** The tail of each process's output printed after a failure. */
const LOG_TAIL = 12_000;

interface Entry {
  label: string;
  child: Running;
}

export class Deployment {
  /** The dev API key of the org `default` (`migrate` creates it). */
  readonly key: string;
  readonly database: string;
  readonly databaseUrl: string;
  private factsDir: string | undefined;
  private sqlClient: postgres.Sql | undefined;
  private env: Record<string, string> = {};
  private readonly entries: Entry[] = [];
  private readonly workers = new Map<Topology, Running>();
  private urls: { gateway: string; consoles: string[] } | undefined;

  constructor(private readonly spec: DeploymentSpec) {
    const id = randomUUID().replaceAll('-', '');
    this.key = `mtr_${spec.name}_${id}`;
    this.database = `metronis_${spec.name}_${id.slice(0, 12)}`;
    const url = new URL(services.DATABASE_URL);
    url.pathname = `/${this.database}`;
    this.databaseUrl = url.toString();
  }

  get gatewayUrl(): string {
    return this.started().gateway;
  }

  /** The first console's URL. */
  get consoleUrl(): string {
    return this.started().consoles[0]!;
  }

  get consoleUrls(): string[] {
    return this.started().consoles;
  }

  /** A client on the throwaway database. */
  get sql(): postgres.Sql {
    this.sqlClient ??= postgres(this.databaseUrl, { max: 2, onnotice: () => {} });
    return this.sqlClient;
  }

  async start(): Promise<void> {
    const t0 = performance.now();
    const [factsDir] = await Promise.all([mkdtemp(join(tmpdir(), `metronis-${this.spec.name}-facts-`)), admin((sql) => sql.unsafe(`create database "${this.database}"`))]);
    this.factsDir = factsDir;
    this.env = { ...services, DATABASE_URL: this.databaseUrl, CLICKHOUSE_URL: `chdb:${factsDir}`, METRONIS_DEV_API_KEY: this.key, ...this.spec.env };
    await this.run(['migrate']);
    await this.spec.afterMigrate?.(this.databaseUrl);
    const migrated = performance.now();

    const server = { METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info' };
    const gateway = this.spawn('gateway', ['gateway'], server);
    const consoles = Array.from({ length: this.spec.consoles ?? 1 }, (_, i) => this.spawn(`console ${i}`, ['console'], { ...server, CLICKHOUSE_URL: `chdb:${join(factsDir, `console-${i}`)}` }));
    const ready: string[] = [];
    const timed = <T>(label: string, promise: Promise<T>) => promise.then((value) => (ready.push(`${label} ${seconds(performance.now() - migrated)}`), value));
    // Every process is spawned before any is waited for: they start side by side.
    const [gatewayUrl, consoleUrls] = await Promise.all([
      timed('gateway', listening(gateway, 'gateway')),
      Promise.all(consoles.map((c, i) => timed(`console ${i}`, listening(c, 'console')))),
      ...this.spec.workers.map((w) => (typeof w === 'string' ? { topology: w, env: {} } : w)).map(({ topology, env }) => timed(topology, this.startWorker(topology, env))),
    ]);
    this.urls = { gateway: gatewayUrl, consoles: consoleUrls };
    note(`deployment ${this.spec.name}: migrated in ${seconds(migrated - t0)}, then ready: ${ready.join(', ')}`);
  }

  /** The running worker of a topology. */
  worker(topology: Topology): Running {
    const worker = this.workers.get(topology);
    if (worker === undefined) throw new Error(`no ${topology} worker in this deployment`);
    return worker;
  }

  /** Starts a worker (again, after a kill: it replaces the one of its topology) and waits until it runs. */
  async startWorker(topology: Topology, env: Record<string, string> = {}): Promise<Running> {
    const restart = this.workers.has(topology);
    const worker = this.spawn(`worker ${topology}${restart ? ' (restarted)' : ''}`, ['worker', '--topology', topology], { METRONIS_LOG_LEVEL: 'info', ...env });
    this.workers.set(topology, worker);
    // A worker that dies at start (tier 2 without its encoder, say) fails here with its output.
    await worker.waitFor(/"msg":"topology running"/, READY_MS);
    return worker;
  }

  /** Runs a one-shot command (`migrate`, `user link ...`) and returns its output; fails with it on a non-zero exit. */
  async run(args: string[]): Promise<string> {
    const child = this.spawn(args.join(' '), args);
    const code = await child.exited;
    if (code !== 0) throw new Error(`metronis ${args.join(' ')} exited with ${code}:\n${child.output()}`);
    return child.output();
  }

  /** Every process's output (the tail of each), labelled. */
  logs(): string {
    return this.entries
      .map(({ label, child }) => {
        const output = child.output();
        const tail = output.length > LOG_TAIL ? `[... ${output.length - LOG_TAIL} characters before]\n${output.slice(-LOG_TAIL)}` : output;
        return `----- metronis ${label} (${exitState(child)}) -----\n${tail}`;
      })
      .join('\n');
  }

  async stop(): Promise<void> {
    const t0 = performance.now();
    await Promise.all(this.entries.map(({ child }) => child.kill('SIGTERM')));
    note(`deployment ${this.spec.name}: processes stopped in ${seconds(performance.now() - t0)}`);
    await this.sqlClient?.end();
    await admin((sql) => sql.unsafe(`drop database if exists "${this.database}" with (force)`));
    if (this.factsDir !== undefined) await rm(this.factsDir, { recursive: true, force: true });
  }

  private spawn(label: string, args: string[], extra: Record<string, string> = {}): Running {
    const child = runCli(args, { ...this.env, ...extra });
    this.entries.push({ label, child });
    return child;
  }

  private started(): { gateway: string; consoles: string[] } {
    if (this.urls === undefined) throw new Error('the deployment is not started (start() in beforeAll)');
    return this.urls;
  }
}

/**
 * The deployment of a test file: started before its tests (a process that fails to start fails the
 * file with the logs of all), its logs printed after each failed test, stopped after the tests.
 */
export function useDeployment(spec: DeploymentSpec): Deployment {
  const deployment = new Deployment(spec);
  beforeAll(async () => {
    try {
      await deployment.start();
    } catch (error) {
      printLogs(deployment, 'did not start');
      throw error;
    }
  }, 4 * READY_MS);
  beforeEach(({ onTestFailed }) => onTestFailed(() => printLogs(deployment, 'after a failed test')));
  afterAll(() => deployment.stop(), READY_MS);
  return deployment;
}

function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function printLogs(deployment: Deployment, when: string): void {
  process.stderr.write(`\n===== the distributed deployment ${when}: output of its processes =====\n${deployment.logs()}\n`);
}

async function listening(child: Running, app: 'gateway' | 'console'): Promise<string> {
  return (await child.waitFor(new RegExp(`"url":"(http://[^"]+)","msg":"${app} listening"`), READY_MS))[1]!;
}

function exitState(running: Running): string {
  const { exitCode, signalCode } = running.child;
  return exitCode !== null ? `exited ${exitCode}` : signalCode !== null ? `ended by ${signalCode}` : 'running';
}

async function admin(fn: (sql: postgres.Sql) => Promise<unknown>): Promise<void> {
  const sql = postgres(services.DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await fn(sql);
  } finally {
    await sql.end();
  }
}
