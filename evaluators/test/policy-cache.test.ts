import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, PolicyError } from '../src/policy.js';
import { createPolicyCache } from '../src/policy-cache.js';

/** A store of policy documents the test controls: counts loads, can fail, can hold a load open. */
function documents(initial: Record<string, unknown> = {}) {
  const docs = new Map<string, unknown>(Object.entries(initial));
  const loads: string[] = [];
  let failures = 0;
  let gate: Promise<void> | null = null;
  return {
    docs,
    loads,
    failNext(n: number) {
      failures = n;
    },
    hold() {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = null;
        release();
      };
    },
    async load(orgId: string): Promise<unknown | null> {
      loads.push(orgId);
      if (gate) await gate;
      if (failures > 0) {
        failures--;
        throw new Error('connection refused');
      }
      return docs.get(orgId) ?? null;
    },
  };
}

function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('policy cache', () => {
  it('parses the stored document and gives the default policy to an org without one', async () => {
    const store = documents({ acme: { mask_pii_before_storage: true, modules: { pii: { enabled: false } } } });
    const cache = createPolicyCache({ load: (o) => store.load(o) });
    const acme = await cache.get('acme');
    expect(acme.mask_pii_before_storage).toBe(true);
    expect(acme.modules.pii.enabled).toBe(false);
    expect(acme.modules.quality.enabled).toBe(true);
    expect(await cache.get('other')).toEqual(DEFAULT_POLICY);
  });

  it('accepts a document given as JSON text', async () => {
    const cache = createPolicyCache({ load: async () => '{"fail_at":"high"}' });
    expect((await cache.get('acme')).fail_at).toBe('high');
  });

  it('serves from memory within the TTL and loads again after it', async () => {
    const clock = manualClock();
    const store = documents({ acme: { fail_at: 'high' } });
    const cache = createPolicyCache({ load: (o) => store.load(o), ttlMs: 2000, clock });
    expect((await cache.get('acme')).fail_at).toBe('high');
    store.docs.set('acme', { fail_at: 'low' });
    clock.advance(1999);
    expect((await cache.get('acme')).fail_at).toBe('high');
    expect(store.loads).toEqual(['acme']);
    clock.advance(1);
    expect((await cache.get('acme')).fail_at).toBe('low');
    expect(store.loads).toEqual(['acme', 'acme']);
  });

  it('loads again at once after invalidate', async () => {
    const store = documents({ acme: { fail_at: 'high' } });
    const cache = createPolicyCache({ load: (o) => store.load(o), clock: manualClock() });
    await cache.get('acme');
    store.docs.set('acme', { fail_at: 'critical' });
    cache.invalidate('acme');
    expect((await cache.get('acme')).fail_at).toBe('critical');
  });

  it('shares one load between concurrent gets of the same org, and loads each org separately', async () => {
    const store = documents({ a: { fail_at: 'high' }, b: { fail_at: 'low' } });
    const release = store.hold();
    const cache = createPolicyCache({ load: (o) => store.load(o), clock: manualClock() });
    const pending = [cache.get('a'), cache.get('a'), cache.get('b'), cache.get('a')];
    release();
    const got = await Promise.all(pending);
    expect(got.map((p) => p.fail_at)).toEqual(['high', 'high', 'low', 'high']);
    expect(store.loads.sort()).toEqual(['a', 'b']);
  });

  it('keeps serving the last good policy while loads fail, reports each failure, and recovers', async () => {
    const clock = manualClock();
    const store = documents({ acme: { fail_at: 'high' } });
    const errors: [string, string][] = [];
    const cache = createPolicyCache({ load: (o) => store.load(o), clock, onError: (e, org) => errors.push([org, e.message]) });
    expect((await cache.get('acme')).fail_at).toBe('high');

    store.docs.set('acme', { fail_at: 'low' });
    store.failNext(2);
    clock.advance(2000);
    expect((await cache.get('acme')).fail_at).toBe('high');
    // a failed load is not retried on every get: the next try waits another TTL
    expect((await cache.get('acme')).fail_at).toBe('high');
    expect(store.loads).toHaveLength(2);
    clock.advance(2000);
    expect((await cache.get('acme')).fail_at).toBe('high');
    expect(errors).toEqual([
      ['acme', 'connection refused'],
      ['acme', 'connection refused'],
    ]);
    clock.advance(2000);
    expect((await cache.get('acme')).fail_at).toBe('low');
  });

  it('serves the default policy when the first load fails, then the stored one once loads work', async () => {
    const clock = manualClock();
    const store = documents({ acme: { fail_at: 'critical' } });
    const errors: string[] = [];
    const cache = createPolicyCache({ load: (o) => store.load(o), clock, onError: (e) => errors.push(e.message) });
    store.failNext(1);
    expect(await cache.get('acme')).toEqual(DEFAULT_POLICY);
    expect(errors).toEqual(['connection refused']);
    clock.advance(2000);
    expect((await cache.get('acme')).fail_at).toBe('critical');
  });

  it('with failClosed, rejects while an org never loaded, then serves the last good policy through failures', async () => {
    const clock = manualClock();
    const store = documents({ acme: { mask_pii_before_storage: true } });
    const errors: string[] = [];
    const cache = createPolicyCache({ load: (o) => store.load(o), clock, failClosed: true, onError: (e) => errors.push(e.message) });
    store.failNext(1);
    await expect(cache.get('acme')).rejects.toThrow(/the policy of "acme" cannot be loaded: connection refused/);
    expect(errors).toEqual(['connection refused']);
    // no waiting for the TTL: the next get tries again
    expect((await cache.get('acme')).mask_pii_before_storage).toBe(true);
    store.failNext(1);
    clock.advance(2000);
    expect((await cache.get('acme')).mask_pii_before_storage).toBe(true);
    expect(errors).toHaveLength(2);
  });

  it('reports a stored document that no longer parses and keeps the last good policy', async () => {
    const clock = manualClock();
    const store = documents({ acme: { fail_at: 'high' } });
    const errors: Error[] = [];
    const cache = createPolicyCache({ load: (o) => store.load(o), clock, onError: (e) => errors.push(e) });
    await cache.get('acme');
    store.docs.set('acme', { fail_at: 'sometimes' });
    clock.advance(2000);
    expect((await cache.get('acme')).fail_at).toBe('high');
    expect(errors[0]).toBeInstanceOf(PolicyError);
    expect(errors[0]!.message).toMatch(/fail_at/);
  });

  it('does not let a failing onError break get', async () => {
    const cache = createPolicyCache({
      load: async () => {
        throw new Error('down');
      },
      onError: () => {
        throw new Error('reporter broke');
      },
    });
    expect(await cache.get('acme')).toEqual(DEFAULT_POLICY);
  });

  it('does not let a load that was in flight during invalidate overwrite the newer policy', async () => {
    let finishOld!: (doc: unknown) => void;
    const answers: Promise<unknown>[] = [new Promise((resolve) => (finishOld = resolve)), Promise.resolve({ fail_at: 'low' })];
    let loads = 0;
    const cache = createPolicyCache({ load: () => answers[loads++]!, clock: manualClock() });
    const old = cache.get('acme'); // reads the document before the change, answers late
    cache.invalidate('acme');
    expect((await cache.get('acme')).fail_at).toBe('low');
    finishOld({ fail_at: 'high' });
    expect((await old).fail_at).toBe('high'); // its own caller gets what it loaded
    expect((await cache.get('acme')).fail_at).toBe('low');
    expect(loads).toBe(2);
  });

  it('keeps at most maxOrgs orgs, dropping the least recently used', async () => {
    const store = documents();
    const cache = createPolicyCache({ load: (o) => store.load(o), maxOrgs: 2, clock: manualClock() });
    await cache.get('a');
    await cache.get('b');
    await cache.get('a'); // a is now the most recent
    await cache.get('c'); // drops b
    expect(store.loads).toEqual(['a', 'b', 'c']);
    await cache.get('a');
    expect(store.loads).toEqual(['a', 'b', 'c']);
    await cache.get('b');
    expect(store.loads).toEqual(['a', 'b', 'c', 'b']);
  });

  it('refuses bad options and a bad org id with clear errors', async () => {
    const load = async () => null;
    expect(() => createPolicyCache({ load, ttlMs: -1 })).toThrow(/ttlMs must be a finite number >= 0, got -1/);
    expect(() => createPolicyCache({ load, maxOrgs: 0 })).toThrow(/maxOrgs must be a positive integer, got 0/);
    expect(() => createPolicyCache({} as never)).toThrow(/load must be a function/);
    await expect(createPolicyCache({ load }).get('')).rejects.toThrow(/orgId must be a non-empty string, got ""/);
  });
});
