/**
 * Agreement statistics between raters on an ordinal 0..1 scale (PyRIT's 0, 0.25, 0.5, 0.75, 1): mean
 * absolute error, Krippendorff's alpha (interval metric, any number of raters per item, missing
 * values allowed), quadratic-weighted Cohen's kappa on the five categories, and percentile bootstrap
 * intervals over items. Pure functions; `npm run eval:tier3` uses them.
 *
 * @example
 *   krippendorffAlpha([[0, 0.25, 0], [1, 1, 0.75]]);           // items × raters
 *   weightedKappa([0, 0.5, 1], [0, 0.75, 1]);
 *   bootstrap(items, (sample) => mae(sample), { rounds: 1000, seed: 7 }); // { value, low, high }
 */

/** Mean absolute difference of paired scores. */
export function mae(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length === 0) throw new RangeError('mae: two non-empty arrays of the same length');
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/**
 * Krippendorff's alpha with the interval metric: 1 − D_o / D_e over the values of the items that
 * have at least two of them (`null` or `undefined` is a missing rating). NaN when the values do not vary.
 */
export function krippendorffAlpha(items: ReadonlyArray<ReadonlyArray<number | null | undefined>>): number {
  const units = items.map((u) => u.filter((v): v is number => typeof v === 'number')).filter((u) => u.length >= 2);
  const all = units.flat();
  const n = all.length;
  if (n < 2) return Number.NaN;
  let observed = 0;
  for (const u of units) {
    let sum = 0;
    for (let i = 0; i < u.length; i++) for (let j = 0; j < u.length; j++) if (i !== j) sum += (u[i]! - u[j]!) ** 2;
    observed += sum / (u.length - 1);
  }
  observed /= n;
  // Σ over ordered pairs of distinct values of (x−y)² = 2n·Σx² − 2(Σx)²
  let s1 = 0;
  let s2 = 0;
  for (const v of all) {
    s1 += v;
    s2 += v * v;
  }
  const expected = (2 * n * s2 - 2 * s1 * s1) / (n * (n - 1));
  return expected === 0 ? Number.NaN : 1 - observed / expected;
}

const CATEGORIES = 5;
const category = (score: number): number => Math.min(CATEGORIES - 1, Math.max(0, Math.round(score * (CATEGORIES - 1))));

/** Quadratic-weighted Cohen's kappa between two raters, scores put in the five categories. NaN when chance agreement is total. */
export function weightedKappa(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length === 0) throw new RangeError('weightedKappa: two non-empty arrays of the same length');
  const observed = Array.from({ length: CATEGORIES }, () => new Array<number>(CATEGORIES).fill(0));
  const rowTotals = new Array<number>(CATEGORIES).fill(0);
  const colTotals = new Array<number>(CATEGORIES).fill(0);
  for (let i = 0; i < a.length; i++) {
    const x = category(a[i]!);
    const y = category(b[i]!);
    observed[x]![y]!++;
    rowTotals[x]!++;
    colTotals[y]!++;
  }
  const total = a.length;
  let disagreement = 0;
  let chance = 0;
  for (let i = 0; i < CATEGORIES; i++) {
    for (let j = 0; j < CATEGORIES; j++) {
      const weight = (i - j) ** 2 / (CATEGORIES - 1) ** 2;
      disagreement += (weight * observed[i]![j]!) / total;
      chance += (weight * rowTotals[i]! * colTotals[j]!) / (total * total);
    }
  }
  return chance === 0 ? Number.NaN : 1 - disagreement / chance;
}

/** A seeded generator (mulberry32), so a report's intervals can be reproduced. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface Interval {
  value: number;
  low: number;
  high: number;
}

/** The statistic on the items, and its 95% percentile bootstrap interval (items resampled with replacement). */
export function bootstrap<T>(items: readonly T[], statistic: (sample: readonly T[]) => number, options: { rounds?: number; seed?: number } = {}): Interval {
  const rounds = options.rounds ?? 1_000;
  const random = seededRandom(options.seed ?? 1);
  const values: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const sample = Array.from({ length: items.length }, () => items[Math.floor(random() * items.length)]!);
    const value = statistic(sample);
    if (Number.isFinite(value)) values.push(value);
  }
  values.sort((x, y) => x - y);
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.floor(q * values.length)))] ?? Number.NaN;
  return { value: statistic(items), low: at(0.025), high: at(0.975) };
}
