/**
 * What the alerts topology and the console need from the relational store (tables of migration
 * 0006). The store keeps documents as given: rules, routing and silences are validated by
 * topologies/alerts (zod) before they get here, and channel secrets arrive sealed (secrets.ts).
 *
 * - `forOrg(orgId)`: one organization's configuration and history; every change is audited in the
 *   same transaction (`alert_rule.*`, `alert_channel.*`, `alert_silence.*`, `alert_routing.changed`).
 * - The engine's state, across organizations: aggregate observations and series, the alert
 *   instances, aggregation groups, the notification log and the delivery queue. Each write that must
 *   happen once (an alert event, a flush, a claimed delivery) is a conditional statement or a
 *   transaction, so several workers and redelivered records do not double anything.
 */
import type { Alert } from '@metronis/schemas';
import type { Actor } from './tenancy.js';

export interface StoredDocument {
  id: string;
  document: unknown;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface StoredChannel {
  id: string;
  name: string;
  type: string;
  /** non-secret settings */
  settings: Record<string, unknown>;
  /** the secrets, sealed (never leaves the server) */
  secret: string;
  /** names of the secret fields that are set, for display */
  secret_fields: string[];
  version: number;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewChannel {
  id: string;
  name: string;
  type: string;
  settings: Record<string, unknown>;
  secret: string;
  secret_fields: string[];
}

export interface StoredSilence {
  id: string;
  matchers: unknown;
  starts_at: Date;
  ends_at: Date;
  comment: string;
  created_by: string;
  created_at: Date;
}

export interface AlertInstance {
  id: string;
  org_id: string;
  fingerprint: string;
  rule_id: string;
  kind: string;
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: 'firing' | 'resolved';
  starts_at: Date;
  ends_at: Date;
  last_seen_at: Date;
  resolved_at: Date | null;
  occurrences: number;
  trace_ids: string[];
  value: number | null;
  threshold: number | null;
  volume: number | null;
}

export interface AlertQuery {
  status?: 'firing' | 'resolved' | undefined;
  rule_id?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** alerts that started before this one in the listing order (the previous page's cursor) */
  before?: { starts_at: Date; id: string } | undefined;
  limit: number;
}

export type DeliveryStatus = 'pending' | 'sending' | 'retrying' | 'delivered' | 'failed' | 'abandoned';

export interface DeliveryAttempt {
  attempt: number;
  at: Date;
  /** delivered, retry, failed (refused for good) or abandoned */
  outcome: string;
  status_code: number | null;
  response: string | null;
  error: string | null;
  latency_ms: number;
}

export interface Delivery {
  id: number;
  org_id: string;
  notification_id: string;
  group_key: string | null;
  channel_id: string;
  channel_type: string;
  /** trigger, resolve or test */
  kind: string;
  dedup_key: string;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  created_at: Date;
  delivered_at: Date | null;
  last_error: string | null;
}

export interface DeliveryQuery {
  channel_id?: string | undefined;
  status?: DeliveryStatus | undefined;
  group_key?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  before_id?: number | undefined;
  limit: number;
}

/** One organization's alert configuration and history. */
export interface AlertOrgScope {
  listRules(): Promise<StoredDocument[]>;
  getRule(id: string): Promise<StoredDocument | null>;
  /** Creates the rule; null when the id is taken. Audits `alert_rule.created`. */
  createRule(id: string, document: unknown, actor: Actor): Promise<StoredDocument | null>;
  /** Replaces the rule (version + 1); null when there is none. Audits `alert_rule.changed`. */
  updateRule(id: string, document: unknown, actor: Actor): Promise<StoredDocument | null>;
  /** Deletes the rule with its aggregate state; false when there was none. Audits `alert_rule.deleted`. */
  deleteRule(id: string, actor: Actor): Promise<boolean>;

  listChannels(): Promise<StoredChannel[]>;
  getChannel(id: string): Promise<StoredChannel | null>;
  /** Null when the id is taken. Audits `alert_channel.created` (never with a secret). */
  createChannel(channel: NewChannel, actor: Actor): Promise<StoredChannel | null>;
  updateChannel(channel: NewChannel & { enabled: boolean }, actor: Actor): Promise<StoredChannel | null>;
  /** Deletes the channel; its undelivered deliveries are abandoned. Audits `alert_channel.deleted`. */
  deleteChannel(id: string, actor: Actor): Promise<boolean>;

  listSilences(options: { includeExpired: boolean; now: Date }): Promise<StoredSilence[]>;
  createSilence(silence: Omit<StoredSilence, 'created_at' | 'created_by'>, actor: Actor): Promise<StoredSilence>;
  /** Ends the silence now (kept for history); null when there is none. Audits `alert_silence.expired`. */
  expireSilence(id: string, now: Date, actor: Actor): Promise<StoredSilence | null>;

  getRouting(): Promise<{ document: unknown; version: number; updated_at: Date } | null>;
  putRouting(document: unknown, actor: Actor): Promise<{ version: number; updated_at: Date }>;

  listAlerts(query: AlertQuery): Promise<AlertInstance[]>;
  listDeliveries(query: DeliveryQuery): Promise<(Delivery & { attempt_log: DeliveryAttempt[] })[]>;
  getDelivery(id: number): Promise<(Delivery & { attempt_log: DeliveryAttempt[] }) | null>;
}

/** An observation of an aggregate rule: one record in one series' window. */
export interface Observation {
  org_id: string;
  rule_id: string;
  measure: string;
  series: string;
  record_id: string;
  at: Date;
  failing: boolean;
  score: number | null;
}

export interface WindowStats {
  volume: number;
  failing: number;
  /** mean of the scores observed (null without any) */
  mean_score: number | null;
}

export interface SeriesState {
  org_id: string;
  rule_id: string;
  series: string;
  labels: Record<string, string>;
  state: 'firing' | 'ok';
  since: Date;
  asserted_at: Date;
}

/** Where an alert event goes: one aggregation group per matching route (computed by the topology). */
export interface GroupAssignment {
  group_key: string;
  route_id: string;
  group_labels: Record<string, string>;
  channel_ids: string[];
  timing: { group_wait_ms: number; group_interval_ms: number; repeat_interval_ms: number; send_resolved: boolean };
}

export interface AlertEvent {
  alert: Alert;
  groups: GroupAssignment[];
}

/** One channel's entry in the notification log of a group. */
export interface NotificationLogEntry {
  channel_id: string;
  firing: string[];
  resolved: string[];
  sequence: number;
  notified_at: Date;
}

export interface GroupSnapshot {
  org_id: string;
  group_key: string;
  route_id: string;
  group_labels: Record<string, string>;
  channel_ids: string[];
  timing: GroupAssignment['timing'];
  created_at: Date;
  next_flush_at: Date;
  flushed_at: Date | null;
  members: AlertInstance[];
  log: NotificationLogEntry[];
}

export interface QueuedDelivery {
  notification_id: string;
  channel_id: string;
  channel_type: string;
  kind: 'trigger' | 'resolve' | 'test';
  dedup_key: string;
  payload: Record<string, unknown>;
}

/** What a flush decided, applied in the transaction that read the group. */
export interface FlushDecision {
  deliveries: QueuedDelivery[];
  log: NotificationLogEntry[];
  /** members to drop from the group (resolved and told) */
  remove: string[];
  /** delete the group (nothing left in it) */
  delete: boolean;
  next_flush_at: Date;
}

export interface AttemptResult {
  outcome: 'delivered' | 'retry' | 'failed' | 'abandoned';
  status_code: number | null;
  response: string | null;
  error: string | null;
  latency_ms: number;
  /** for `retry`: when to try again */
  next_attempt_at?: Date;
}

export interface AlertStore {
  forOrg(orgId: string): AlertOrgScope;
  /** Every rule of an organization (for the topology's cache). */
  rulesOf(orgId: string): Promise<StoredDocument[]>;
  routingOf(orgId: string): Promise<{ document: unknown; version: number } | null>;
  activeSilences(orgId: string, now: Date): Promise<StoredSilence[]>;
  channel(orgId: string, id: string): Promise<StoredChannel | null>;
  disableChannel(orgId: string, id: string, reason: string): Promise<void>;

  /** Inserts observations (a repeated record is ignored). */
  observe(rows: Observation[]): Promise<void>;
  /** The window of each series since `since`. */
  windowStats(keys: { org_id: string; rule_id: string; measure: string; series: string; since: Date }[]): Promise<WindowStats[]>;
  /** Deletes observations older than `before`; returns how many. */
  pruneObservations(before: Date): Promise<number>;
  series(keys: { org_id: string; rule_id: string; series: string }[]): Promise<(SeriesState | null)[]>;
  putSeries(states: SeriesState[]): Promise<void>;
  /** Series in state firing (for the ticker), at most `limit`. */
  firingSeries(limit: number): Promise<SeriesState[]>;

  /**
   * Applies alert events once each (by alert_id): opens or extends the alert instance of the
   * fingerprint (firing), or resolves it (resolved), and puts it in its groups (created with their
   * first flush at group_wait). Returns how many events were new.
   */
  applyEvents(events: AlertEvent[], now: Date): Promise<number>;
  /** Resolves firing instances whose ends_at has passed; returns them. */
  expireAlerts(now: Date): Promise<AlertInstance[]>;
  /** Groups due for a flush at `now`, oldest first. */
  dueGroups(now: Date, limit: number): Promise<{ org_id: string; group_key: string }[]>;
  /**
   * Flushes one group in a transaction with the group locked (false when another worker holds it or
   * it is no longer due): `decide` (synchronous: no I/O inside the transaction) sees the group and its
   * notification log and says what to send; the deliveries are queued in the same transaction.
   */
  flushGroup(orgId: string, groupKey: string, now: Date, decide: (group: GroupSnapshot) => FlushDecision): Promise<boolean>;
  /**
   * Queues a delivery outside any group (a channel test). With `leaseUntil` it is claimed by the caller
   * at once (attempt 1, status sending), to be attempted now and recorded with `recordAttempt`.
   */
  queueDelivery(orgId: string, delivery: QueuedDelivery, now: Date, leaseUntil?: Date): Promise<Delivery>;
  /**
   * Claims up to `limit` deliveries due at `now` (and those whose lease expired: a worker died while
   * sending), leasing them until `leaseUntil`, one at a time per group and channel, in order.
   */
  claimDeliveries(now: Date, leaseUntil: Date, limit: number): Promise<Delivery[]>;
  /**
   * Puts a claimed delivery back in the queue until `until` without counting an attempt (it was not
   * made: the far end's pace was used up). Only the holder of the lease can.
   */
  deferDelivery(delivery: Delivery, until: Date): Promise<void>;
  /** Records an attempt and its outcome. */
  recordAttempt(delivery: Delivery, result: AttemptResult, now: Date): Promise<void>;
  /** Deletes alert events (the dedup log) applied before `before`. */
  pruneEvents(before: Date): Promise<number>;
}
