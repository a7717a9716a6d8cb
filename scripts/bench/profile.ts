/**
 * A V8 CPU profile (`node --cpu-prof`) summarised by self time: the top functions and the share of
 * each package (node core, a dependency, a workspace folder, V8 itself). Idle, GC and program time
 * appear as V8 names them (`(idle)`, `(garbage collector)`, `(program)`).
 */
import { readFile } from 'node:fs/promises';

export interface ProfileSummary {
  seconds: number;
  top: Array<{ fn: string; where: string; pct: number }>;
  byPackage: Array<{ pkg: string; pct: number }>;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** When a profile started, in the microseconds of the clock every thread's profile of a process shares. */
export async function profileStartUs(file: string): Promise<number> {
  return (JSON.parse(await readFile(file, 'utf8')) as CpuProfile).startTime;
}

/**
 * `root`: the checkout's folder (with a trailing slash), cut from file URLs. `windowUs`: only the
 * samples within these times of the profiles' clock (a run's measured window, without its start-up
 * and shutdown; see `profileStartUs`).
 */
export async function summariseProfile(file: string, root: string, options: { topN?: number; windowUs?: [number, number] } = {}): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const topN = options.topN ?? 15;
  const [from, to] = options.windowUs ?? [-Infinity, Infinity];
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at >= from && at <= to) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0) continue;
    const url = node.callFrame.url.replace(/^file:\/\//, '').replace(root, '');
    const fn = node.callFrame.functionName || '(anonymous)';
    const where = url === '' ? '' : `${url.replace(/^.*node_modules\//, '')}:${node.callFrame.lineNumber + 1}`;
    byFn.set(`${fn}\u0000${where}`, (byFn.get(`${fn}\u0000${where}`) ?? 0) + us);
    const pkg =
      url === ''
        ? fn.startsWith('(') ? fn : '(native / V8)'
        : url.startsWith('node:')
          ? 'node core'
          : url.includes('node_modules/')
            ? url.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1')
            : url.split('/').slice(0, 2).join('/');
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  return {
    seconds: Math.round((Math.min(profile.endTime, to) - Math.max(profile.startTime, from)) / 1e5) / 10,
    top: [...byFn].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([k, us]) => ({ fn: k.split('\u0000')[0]!, where: k.split('\u0000')[1]!, pct: pct(us) })),
    byPackage: [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([pkg, us]) => ({ pkg, pct: pct(us) })),
  };
}
