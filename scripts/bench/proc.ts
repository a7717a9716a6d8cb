/**
 * A server's process tree as /proc sees it: CPU seconds and resident memory summed over the process
 * and its descendants, and a sampler that keeps the peak and a curve. Linux only (the benchmarks'
 * machines); numbers are what the kernel reports, nothing estimated.
 */
import { readdir, readFile } from 'node:fs/promises';

const TICKS = 100; // USER_HZ on Linux

/** The pid and every descendant of it. */
export async function processTree(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parents) if (ppid === out[i]) out.push(pid);
  return out;
}

export interface TreeUsage {
  cpuSeconds: number;
  rssMiB: number;
  /** anonymous memory (heaps, WASM memories, mallocs) */
  rssAnonMiB: number;
  /** file-backed pages (code, mapped files) */
  rssFileMiB: number;
}

const kib = (status: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);

/** CPU (user + system) and resident memory of the tree, summed. */
export async function treeUsage(root: number): Promise<TreeUsage> {
  let ticks = 0;
  const sum = { rss: 0, anon: 0, file: 0 };
  for (const pid of await processTree(root)) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      sum.rss += kib(status, 'VmRSS');
      sum.anon += kib(status, 'RssAnon');
      sum.file += kib(status, 'RssFile');
    } catch {
      // gone
    }
  }
  return { cpuSeconds: ticks / TICKS, rssMiB: sum.rss / 1024, rssAnonMiB: sum.anon / 1024, rssFileMiB: sum.file / 1024 };
}

export interface RssSampler {
  /** the peak so far (MiB) and the usage at that moment */
  peak(): TreeUsage & { at_s: number };
  /** one point every `curveEveryMs`: seconds since the start and RSS in MiB */
  curve(): { t_s: number; rss_mib: number }[];
  stop(): void;
}

/** Samples the tree every `everyMs` (default 250 ms); keeps the peak and a coarser curve. */
export function sampleRss(root: number, options: { everyMs?: number; curveEveryMs?: number } = {}): RssSampler {
  const everyMs = options.everyMs ?? 250;
  const curveEveryMs = options.curveEveryMs ?? 5000;
  const started = performance.now();
  let peak: TreeUsage & { at_s: number } = { cpuSeconds: 0, rssMiB: 0, rssAnonMiB: 0, rssFileMiB: 0, at_s: 0 };
  const curve: { t_s: number; rss_mib: number }[] = [];
  let lastCurve = -Infinity;
  let running = true;
  void (async () => {
    while (running) {
      const now = await treeUsage(root);
      const t = performance.now() - started;
      if (now.rssMiB > peak.rssMiB) peak = { ...now, at_s: Math.round(t / 100) / 10 };
      if (t - lastCurve >= curveEveryMs) {
        curve.push({ t_s: Math.round(t / 1000), rss_mib: Math.round(now.rssMiB) });
        lastCurve = t;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    peak: () => peak,
    curve: () => [...curve],
    stop: () => {
      running = false;
    },
  };
}
