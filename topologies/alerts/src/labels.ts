/**
 * Labels, fingerprints and matchers: an alert's identity is its label set (Alertmanager's), hashed
 * with its organization into a fingerprint; routes, silences and inhibition rules select alerts by
 * matchers over the labels. A label that is absent matches as the empty string, as in Alertmanager.
 */
import { createHash } from 'node:crypto';
import type { Matcher } from './documents.js';
import { RE2JS } from 're2js';

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

/**
 * A matcher's regular expression, anchored at both ends, with RE2 semantics (re2js): matching time is
 * linear in the label value whatever pattern an organization saved, so a pattern such as `(a+)+$`
 * cannot stall the alerts worker. Alertmanager's matchers are RE2 (Go's regexp) too. Throws for a
 * pattern RE2 cannot express (backreferences, lookaround).
 */
export function compileMatcherRegex(source: string): RE2JS {
  return RE2JS.compile(`^(?:${source})$`);
}

const regexes = new Map<string, RE2JS>();
function regexOf(source: string): RE2JS {
  let re = regexes.get(source);
  if (re === undefined) {
    re = compileMatcherRegex(source);
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
