/**
 * Runs scripts/stack.sh and scripts/kafka-tool.sh for the stack's own tests, with an isolated
 * state directory and ports so they never touch the stack the team is using.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Ports far from the defaults (19092, 18081, 15432, ...), shifted by `base`. */
export function isolatedPorts(base: number) {
  return {
    METRONIS_KAFKA_PORT: String(base + 92),
    METRONIS_KAFKA_CONTROLLER_PORT: String(base + 93),
    METRONIS_REGISTRY_PORT: String(base + 81),
    METRONIS_REGISTRY_MANAGEMENT_PORT: String(base + 82),
    METRONIS_PG_PORT: String(base + 32),
    METRONIS_CH_HTTP_PORT: String(base + 23),
    METRONIS_CH_TCP_PORT: String(base + 0),
    METRONIS_REDIS_PORT: String(base + 79),
  };
}

export function run(script: 'stack.sh' | 'kafka-tool.sh', args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [`scripts/${script}`, ...args],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 240_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `status` output as service -> state ("up", "down", "starting/unhealthy"). */
export function parseStatus(stdout: string): Record<string, string> {
  const states: Record<string, string> = {};
  for (const line of stdout.trim().split('\n')) {
    const [service, state] = line.trim().split(/\s+/);
    if (service && state) states[service] = state;
  }
  return states;
}
