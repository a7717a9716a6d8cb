/**
 * Labels, fingerprints and matchers: an alert's identity is its label set (Alertmanager's), hashed
 * with its organization into a fingerprint; routes, silences and inhibition rules select alerts by
 * matchers over the labels. A label that is absent matches as the empty string, as in Alertmanager.
 */
import { createHash } from 'node:crypto';
import type { Matcher } from './documents.js';

export type Labels = Record<string, string>;

/** Labels sorted by name, without empty values, U+0000 replaced (stored as text). */
export function normalizeLabels(labels: Record<string, string | null | undefined>): Labels {
  const out: Labels = {};
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key];
    if (value === null || value === undefined || value === '') continue;
    out[key] = value.includes('\u0000') ? value.replace(/\u0000/g, '\uFFFD') : value;
  }
  return out;
}

export function hashOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** The alert's identity: its organization and labels. */
export function fingerprintOf(orgId: string, labels: Labels): string {
  return hashOf(orgId, normalizeLabels(labels)).slice(0, 32);
}

const regexes = new Map<string, RegExp>();
function regexOf(source: string): RegExp {
  let re = regexes.get(source);
  if (re === undefined) {
    re = new RegExp(`^(?:${source})$`);
    if (regexes.size > 10_000) regexes.clear();
    regexes.set(source, re);
  }
  return re;
}

export function matches(matcher: Matcher, labels: Labels): boolean {
  const value = labels[matcher.label] ?? '';
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return regexOf(matcher.value).test(value);
    case '!~':
      return !regexOf(matcher.value).test(value);
  }
}

export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  return matchers.every((m) => matches(m, labels));
}

/** The values of `names` in `labels` (absent ones left out). */
export function pick(labels: Labels, names: readonly string[]): Labels {
  const out: Labels = {};
  for (const name of [...names].sort()) if (labels[name] !== undefined) out[name] = labels[name]!;
  return out;
}
