/**
 * What tier 3 (the LLM judge) and the console need from the relational store (tables of migration
 * 0008): each org's judge provider with its API key sealed (secrets.ts; the store never sees the
 * plaintext), the org's spend per UTC day, the judgment cache and the judgments pending after
 * transient provider failures.
 *
 * - `reserve` is one conditional statement: it adds a call's most tokens and cost to the day only when
 *   the sum stays within the limits, so concurrent workers never pass the budget together.
 * - `claimPending` leases due rows (`FOR UPDATE SKIP LOCKED`): two workers sweeping at once take
 *   different rows, and a row whose worker died is taken again when its lease ends.
 */
import type { Actor } from './tenancy.js';

export interface StoredJudgeProvider {
  org_id: string;
  /** the validated configuration without the key */
  settings: Record<string, unknown>;
  /** the API key, sealed (never leaves the server) */
  secret: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface JudgeLimits {
  daily_tokens: number | null;
  daily_usd: number | null;
}

export interface JudgeUsage {
  day: string;
  tokens: number;
  cost_usd: number;
  calls: number;
}

export interface PendingJudgment {
  org_id: string;
  trace_id: string;
  escalation: unknown;
  attempts: number;
  last_error: string;
  next_attempt_at: Date;
  created_at: Date;
}

export interface JudgeStore {
  getProvider(orgId: string): Promise<StoredJudgeProvider | null>;
  /** Saves the org's provider (audited `judge.configured`); `secret: null` keeps the stored key, and answers null when there is none. */
  putProvider(orgId: string, settings: Record<string, unknown>, secret: string | null, actor: Actor): Promise<StoredJudgeProvider | null>;
  /** Removes the org's provider (audited `judge.removed`); false when there was none. */
  deleteProvider(orgId: string, actor: Actor): Promise<boolean>;

  /** Adds a call's tokens and cost to the org's day when the totals stay within the limits; false (and nothing added) otherwise. */
  reserve(orgId: string, day: string, tokens: number, costUsd: number, limits: JudgeLimits): Promise<boolean>;
  /** Corrects the day's totals (a negative amount gives back what a reservation did not use). */
  settle(orgId: string, day: string, tokens: number, costUsd: number): Promise<void>;
  usage(orgId: string, day: string): Promise<JudgeUsage>;

  cacheGet(orgId: string, key: string, notBefore: Date): Promise<unknown | null>;
  cachePut(orgId: string, key: string, judgment: unknown): Promise<void>;
  /** Removes cached judgments older than `before`; returns how many. */
  cacheSweep(before: Date): Promise<number>;

  /** Records (or re-records) a pending judgment, due at `nextAttemptAt`. */
  addPending(orgId: string, traceId: string, escalation: unknown, error: string, nextAttemptAt: Date): Promise<void>;
  /** Leases up to `limit` due rows for `leaseMs`. */
  claimPending(now: Date, limit: number, leaseMs: number): Promise<PendingJudgment[]>;
  /** Gives a claimed row back, due again at `nextAttemptAt`, one attempt more. */
  reschedulePending(orgId: string, traceId: string, error: string, nextAttemptAt: Date): Promise<void>;
  removePending(orgId: string, traceId: string): Promise<void>;
  countPending(orgId: string): Promise<number>;
}
