/** The agreement statistics of `npm run eval:tier3` against published and hand-computed values. */
import { describe, expect, it } from 'vitest';
import { bootstrap, krippendorffAlpha, mae, seededRandom, weightedKappa } from '../src/agreement.js';

describe('agreement statistics', () => {
  it("Krippendorff's alpha (interval) on Krippendorff's own example: 4 observers, 12 units, missing values → 0.849", () => {
    const _ = null;
    const observers = [
      [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
      [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
      [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
      [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
    ];
    const units = observers[0]!.map((_v, u) => observers.map((o) => o[u]));
    expect(krippendorffAlpha(units)).toBeCloseTo(0.849, 3);
  });

  it('alpha is 1 for perfect agreement and NaN when nothing varies', () => {
    expect(krippendorffAlpha([[0, 0], [1, 1], [0.5, 0.5]])).toBe(1);
    expect(krippendorffAlpha([[1, 1], [1, 1]])).toBeNaN();
  });

  it('quadratic-weighted kappa: hand-computed two-category case, perfect agreement, and the weights', () => {
    expect(weightedKappa([0, 0, 1, 1], [0, 1, 1, 1])).toBeCloseTo(0.5, 10);
    expect(weightedKappa([0, 0.25, 0.5, 1], [0, 0.25, 0.5, 1])).toBe(1);
    // one step off counts less than four steps off
    expect(weightedKappa([0, 0.25, 0.75, 1], [0.25, 0.25, 0.75, 1])).toBeGreaterThan(weightedKappa([0, 0.25, 0.75, 1], [1, 0.25, 0.75, 1]));
  });

  it('mean absolute error, and a bootstrap interval that holds the estimate and is reproducible', () => {
    expect(mae([0, 0.5, 1], [0.25, 0.5, 0.5])).toBeCloseTo(0.25, 10);
    const random = seededRandom(3);
    const items = Array.from({ length: 200 }, () => random());
    const first = bootstrap(items, (s) => s.reduce((a, b) => a + b, 0) / s.length, { rounds: 500, seed: 9 });
    expect(first.low).toBeLessThan(first.value);
    expect(first.high).toBeGreaterThan(first.value);
    expect(bootstrap(items, (s) => s.reduce((a, b) => a + b, 0) / s.length, { rounds: 500, seed: 9 })).toEqual(first);
  });
});
