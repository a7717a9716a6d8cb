/**
 * Arize Phoenix for the side-by-side benchmarks (`bench:otlp`, `bench:footprint`): installed once from
 * PyPI into a virtualenv under bench-results/, started with `phoenix serve` on free ports with its
 * SQLite database in a working folder of its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServer, type Spawned } from './spawn.js';

export const PHOENIX_VERSION = '20.26.1';

export function ensurePhoenix(root: string, log: (line: string) => void): string {
  const venv = join(root, 'bench-results', 'phoenix-venv');
  const bin = join(venv, 'bin');
  if (!existsSync(join(bin, 'phoenix'))) {
    log(`installing arize-phoenix==${PHOENIX_VERSION} into ${venv} (once)`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(join(bin, 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `arize-phoenix==${PHOENIX_VERSION}`], { stdio: 'inherit' });
  }
  return join(bin, 'phoenix');
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Phoenix {
  server: Spawned;
  url: string;
  /** the spans Phoenix's default project holds (its GraphQL `recordCount`, a COUNT in its database) */
  spanCount(): Promise<number>;
}

/** `phoenix serve` with its data in `workDir`, answering on its health endpoint. */
export async function startPhoenix(phoenix: string, workDir: string): Promise<Phoenix> {
  const [port, grpcPort] = [await freePort(), await freePort()];
  const env = { PHOENIX_WORKING_DIR: workDir, PHOENIX_PORT: String(port), PHOENIX_GRPC_PORT: String(grpcPort), PHOENIX_HOST: '127.0.0.1', PHOENIX_TELEMETRY_ENABLED: 'false' };
  const server = await spawnServer(phoenix, ['serve'], env, /(Uvicorn running on http:\/\/\S+|Application startup complete)/);
  const url = `http://127.0.0.1:${port}`;
  // Phoenix prints before it listens on some versions: wait for its health endpoint.
  for (let i = 0; i < 600 && !(await fetch(`${url}/healthz`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    server,
    url,
    async spanCount() {
      const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ projects { edges { node { name recordCount } } } }' }) });
      if (!response.ok) throw new Error(`phoenix graphql answered ${response.status}: ${await response.text()}`);
      const body = (await response.json()) as { data?: { projects: { edges: { node: { name: string; recordCount: number } }[] } } };
      return body.data?.projects.edges.find((e) => e.node.name === 'default')?.node.recordCount ?? 0;
    },
  };
}
