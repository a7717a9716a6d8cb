/**
 * What the SDK tests run against: a real Metronis (`metronis dev` from the repository's build, on a
 * temporary data folder and a free port) and a forwarding proxy in front of it that records requests
 * and can refuse the first ones (503/429 bursts) or listen on a port chosen before it starts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const API_KEY = 'mtr_ts_sdk_test_key_0123456789';
const CLI = fileURLToPath(new URL('../../../apps/cli/dist/main.js', import.meta.url));

export interface RunningMetronis {
  url: string;
  get(path: string): Promise<Response>;
  /** The trace view, polling until it is stored (and evaluated, when asked). */
  waitForTrace(id: string, options?: { verdict?: boolean; timeoutMs?: number }): Promise<{ trace: Record<string, any>; verdict: Record<string, any> | null }>;
  close(): Promise<void>;
}

export async function startMetronis(): Promise<RunningMetronis> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (the test command does)`);
  const dataDir = await mkdtemp(join(tmpdir(), 'metronis-tssdk-'));
  const child: ChildProcess = spawn(process.execPath, [CLI, 'dev'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', METRONIS_DATA_DIR: dataDir, METRONIS_PORT: '0', METRONIS_DEV_API_KEY: API_KEY, METRONIS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`metronis dev did not start:\n${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`metronis dev exited with ${code}:\n${output}`)));
  });
  const get = (path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${API_KEY}` } });
  return {
    url,
    get,
    async waitForTrace(id, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 30_000);
      let last = 0;
      while (Date.now() < deadline) {
        const response = await get(`/v1/traces/${encodeURIComponent(id)}`);
        last = response.status;
        if (response.status === 200) {
          const view = (await response.json()) as { trace: Record<string, any>; verdict: Record<string, any> | null };
          if (!options.verdict || view.verdict !== null) return view;
        } else await response.body?.cancel();
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`trace ${id} not readable (last status ${last})`);
    },
    async close() {
      child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Forwarder {
  url: string;
  /** [status answered, epoch ms] of each request, in order. */
  requests: { status: number; at: number; path: string }[];
  /** Answers to give (instead of forwarding) to the next requests. */
  refuse: { status: number; headers?: Record<string, string> }[];
  close(): Promise<void>;
}

export async function startForwarder(target: string, port = 0): Promise<Forwarder> {
  const forwarder: Forwarder = { url: '', requests: [], refuse: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const refusal = forwarder.refuse.shift();
      if (refusal !== undefined) {
        forwarder.requests.push({ status: refusal.status, at: Date.now(), path: req.url ?? '' });
        res.writeHead(refusal.status, { 'content-type': 'application/json', ...refusal.headers });
        res.end(JSON.stringify({ error: { code: 'log_unavailable', message: 'refused by the test', request_id: 't' } }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
      const body = chunks.length === 0 ? undefined : Buffer.concat(chunks);
      const response = await fetch(`${target}${req.url}`, { method: req.method!, headers, ...(body === undefined ? {} : { body }) });
      const text = await response.text();
      forwarder.requests.push({ status: response.status, at: Date.now(), path: req.url ?? '' });
      res.writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  forwarder.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  forwarder.close = () => new Promise((resolve) => server.close(() => resolve()));
  return forwarder;
}

/** A port nothing listens on (yet). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
