/** What every benchmark result records about the run: when, which commit, which machine, how busy. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

export function machineInfo(root: string) {
  return {
    date: new Date().toISOString(),
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim(),
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    load_average_at_start: loadavg().map((l) => Math.round(l * 10) / 10),
  };
}
