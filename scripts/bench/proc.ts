/**
 * CPU time and memory of a process tree, and of each thread of a process, from /proc (Linux), and a
 * sampler that keeps a tree's peak memory and a curve. The benchmarks report CPU per trace from these:
 * on a shared machine CPU time holds where rates do not. Numbers are what the kernel reports.
 *
 * Threads are grouped by what they are: the main thread (its tid is the pid), libuv's thread pool
 * (`libuv-worker`: file system calls such as the embedded log's fsyncs), and the other threads by
 * their name. Node names its worker threads and V8's helper threads alike (`node`), so those two share
 * a group; engines that name their threads (chDB's ClickHouse pools) show under their own names.
 */
import { readdir, readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime (ticks) and the name of a /proc stat file's owner; undefined when it is gone. */
async function statOf(path: string): Promise<{ ticks: number; name: string; ppid: number } | undefined> {
  try {
    const stat = await readFile(path, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return { ticks: Number(fields[11]) + Number(fields[12]), name: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** `root` and every process below it. */
export async function processTree(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await statOf(`/proc/${entry}/stat`);
    if (stat !== undefined) parents.set(Number(entry), stat.ppid);
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
    ticks += (await statOf(`/proc/${pid}/stat`))?.ticks ?? 0;
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      sum.rss += kib(status, 'VmRSS');
      sum.anon += kib(status, 'RssAnon');
      sum.file += kib(status, 'RssFile');
    } catch {
      // gone
    }
  }
  return { cpuSeconds: ticks / TICKS_PER_SECOND, rssMiB: sum.rss / 1024, rssAnonMiB: sum.anon / 1024, rssFileMiB: sum.file / 1024 };
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

/**
 * CPU seconds of each live thread of `pid`, by tid, with its group (`main`, `libuv-worker`, or the
 * thread's name). A thread that ended between two readings takes its time with it: compare readings
 * of long-lived threads, and the process total (`treeUsage`) for the whole.
 */
export async function threadTimes(pid: number): Promise<Map<number, { group: string; cpuSeconds: number }>> {
  const out = new Map<number, { group: string; cpuSeconds: number }>();
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const stat = await statOf(`/proc/${pid}/task/${tid}/stat`);
    if (stat === undefined) continue;
    out.set(Number(tid), { group: Number(tid) === pid ? 'main' : stat.name, cpuSeconds: stat.ticks / TICKS_PER_SECOND });
  }
  return out;
}

/** CPU seconds per thread group between two `threadTimes` readings (threads present in `after`). */
export function threadGroupDelta(before: Map<number, { cpuSeconds: number }>, after: Map<number, { group: string; cpuSeconds: number }>): Record<string, number> {
  const groups: Record<string, number> = {};
  for (const [tid, { group, cpuSeconds }] of after) groups[group] = (groups[group] ?? 0) + cpuSeconds - (before.get(tid)?.cpuSeconds ?? 0);
  return groups;
}
