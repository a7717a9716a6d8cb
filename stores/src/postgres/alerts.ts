/**
 * The AlertStore (../alerts.ts) on any drizzle Postgres database (PostgreSQL or PGlite), in plain SQL
 * over the tables of migration 0006. Configuration changes append their audit entry in the same
 * transaction. Engine writes that must happen once are conditional: an alert event is applied only
 * when its id is new (`alert_events`), a group is flushed under `FOR UPDATE SKIP LOCKED`, a delivery
 * is claimed with a lease, so concurrent workers and redelivered records neither lose nor double.
 */
import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type {
  AlertEvent,
  GroupAssignment,
  AlertInstance,
  AlertOrgScope,
  AlertStore,
  Delivery,
  DeliveryAttempt,
  GroupSnapshot,
  NotificationLogEntry,
  SeriesState,
  StoredChannel,
  StoredDocument,
  StoredSilence,
} from '../alerts.js';
import { InvalidRecordError, storeError } from '../errors.js';
import type { Actor, AuditAction } from '../tenancy.js';
import type { RelationalStore } from '../types.js';
import { encodeRecord } from './nul.js';
import type { AnyPgDatabase } from './relational-store.js';

type Row = Record<string, unknown>;

function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}

const json = (value: unknown): SQL => sql`${JSON.stringify(encodeRecord(value).record)}::jsonb`;
const textArray = (values: readonly string[]): SQL => sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))::text[]`;
const ts = (date: Date): SQL => sql`${date.toISOString()}::timestamptz`;
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const obj = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

function toDocument(r: Row): StoredDocument {
  return { id: String(r.id), document: obj(r.document), version: num(r.version), created_at: date(r.created_at), updated_at: date(r.updated_at) };
}

function toChannel(r: Row): StoredChannel {
  return {
    id: String(r.id),
    name: String(r.name),
    type: String(r.type),
    settings: obj(r.settings),
    secret: String(r.secret),
    secret_fields: (r.secret_fields as string[]) ?? [],
    version: num(r.version),
    disabled_at: dateOrNull(r.disabled_at),
    disabled_reason: (r.disabled_reason as string | null) ?? null,
    created_at: date(r.created_at),
    updated_at: date(r.updated_at),
  };
}

function toSilence(r: Row): StoredSilence {
  return { id: String(r.id), matchers: obj(r.matchers), starts_at: date(r.starts_at), ends_at: date(r.ends_at), comment: String(r.comment), created_by: String(r.created_by), created_at: date(r.created_at) };
}

function toAlert(r: Row): AlertInstance {
  return {
    id: String(r.id),
    org_id: String(r.org_id),
    fingerprint: String(r.fingerprint),
    rule_id: String(r.rule_id),
    kind: String(r.kind),
    severity: String(r.severity),
    labels: obj(r.labels),
    annotations: obj(r.annotations),
    status: r.status as AlertInstance['status'],
    starts_at: date(r.starts_at),
    ends_at: date(r.ends_at),
    last_seen_at: date(r.last_seen_at),
    resolved_at: dateOrNull(r.resolved_at),
    occurrences: num(r.occurrences),
    trace_ids: (r.trace_ids as string[]) ?? [],
    value: numOrNull(r.value),
    threshold: numOrNull(r.threshold),
    volume: numOrNull(r.volume),
  };
}

function toDelivery(r: Row): Delivery {
  return {
    id: num(r.id),
    org_id: String(r.org_id),
    notification_id: String(r.notification_id),
    group_key: (r.group_key as string | null) ?? null,
    channel_id: String(r.channel_id),
    channel_type: String(r.channel_type),
    kind: String(r.kind),
    dedup_key: String(r.dedup_key),
    payload: obj(r.payload),
    status: r.status as Delivery['status'],
    attempts: num(r.attempts),
    next_attempt_at: date(r.next_attempt_at),
    created_at: date(r.created_at),
    delivered_at: dateOrNull(r.delivered_at),
    last_error: (r.last_error as string | null) ?? null,
  };
}

function toAttempt(r: Row): DeliveryAttempt {
  return {
    attempt: num(r.attempt),
    at: date(r.at),
    outcome: String(r.outcome),
    status_code: numOrNull(r.status_code),
    response: (r.response as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    latency_ms: num(r.latency_ms),
  };
}

function toSeries(r: Row): SeriesState {
  return { org_id: String(r.org_id), rule_id: String(r.rule_id), series: String(r.series), labels: obj(r.labels), state: r.state as SeriesState['state'], since: date(r.since), asserted_at: date(r.asserted_at) };
}

/** Keeps a far end's answer short enough to store and list. */
const clip = (text: string | null, max = 2000): string | null => (text === null ? null : text.length > max ? `${text.slice(0, max)}…` : text);

/** Postgres text cannot hold U+0000: ids and labels from records are stored with U+FFFD instead. */
const clean = (text: string): string => (text.includes('\u0000') ? text.replace(/\u0000/g, '\uFFFD') : text);

export function createAlertStore(kind: RelationalStore['kind'], db: AnyPgDatabase): AlertStore {
  async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (error instanceof InvalidRecordError) throw error;
      throw storeError(`${kind} alerts.${operation}`, error);
    }
  }
  const exec = async (q: AnyPgDatabase, query: SQL): Promise<Row[]> => rowsOf(await q.execute(query));
  const transaction = <T>(body: (tx: AnyPgDatabase) => Promise<T>): Promise<T> => db.transaction((tx) => body(tx as unknown as AnyPgDatabase));

  function checkId(operation: string, what: string, value: unknown): asserts value is string {
    if (typeof value !== 'string' || value.length === 0 || value.length > 200 || value.includes('\u0000')) {
      throw new InvalidRecordError(`${kind} alerts.${operation}`, `${what} must be a string of 1 to 200 characters without U+0000`);
    }
  }

  async function audit(tx: AnyPgDatabase, orgId: string, action: AuditAction, target: string, details: Record<string, unknown>, actor: Actor): Promise<void> {
    await exec(tx, sql`INSERT INTO audit_log (org_id, actor, action, target, request_id, details) VALUES (${orgId}, ${actor.keyId}, ${action}, ${target}, ${actor.requestId ?? null}, ${json(details)})`);
  }

  function scope(orgId: string): AlertOrgScope {
    checkId('forOrg', 'organization id', orgId);
    return {
      listRules: () => run('listRules', async () => (await exec(db, sql`SELECT * FROM alert_rules WHERE org_id = ${orgId} ORDER BY created_at, id`)).map(toDocument)),

      async getRule(id) {
        if (id.includes('\u0000')) return null;
        const [row] = await run('getRule', () => exec(db, sql`SELECT * FROM alert_rules WHERE org_id = ${orgId} AND id = ${id}`));
        return row === undefined ? null : toDocument(row);
      },

      createRule: (id, document, actor) =>
        run('createRule', () =>
          transaction(async (tx) => {
            checkId('createRule', 'rule id', id);
            const [row] = await exec(tx, sql`INSERT INTO alert_rules (org_id, id, document) VALUES (${orgId}, ${id}, ${json(document)}) ON CONFLICT DO NOTHING RETURNING *`);
            if (row === undefined) return null;
            await audit(tx, orgId, 'alert_rule.created', id, { version: 1, name: (document as { name?: unknown }).name ?? null }, actor);
            return toDocument(row);
          }),
        ),

      updateRule: (id, document, actor) =>
        run('updateRule', () =>
          transaction(async (tx) => {
            const [row] = await exec(tx, sql`UPDATE alert_rules SET document = ${json(document)}, version = version + 1, updated_at = now() WHERE org_id = ${orgId} AND id = ${id} RETURNING *`);
            if (row === undefined) return null;
            await audit(tx, orgId, 'alert_rule.changed', id, { version: num(row.version) }, actor);
            return toDocument(row);
          }),
        ),

      deleteRule: (id, actor) =>
        run('deleteRule', () =>
          transaction(async (tx) => {
            const deleted = await exec(tx, sql`DELETE FROM alert_rules WHERE org_id = ${orgId} AND id = ${id} RETURNING id`);
            if (deleted.length === 0) return false;
            await exec(tx, sql`DELETE FROM alert_observations WHERE org_id = ${orgId} AND rule_id = ${id}`);
            await exec(tx, sql`DELETE FROM alert_series WHERE org_id = ${orgId} AND rule_id = ${id}`);
            await audit(tx, orgId, 'alert_rule.deleted', id, {}, actor);
            return true;
          }),
        ),

      listChannels: () => run('listChannels', async () => (await exec(db, sql`SELECT * FROM alert_channels WHERE org_id = ${orgId} ORDER BY created_at, id`)).map(toChannel)),

      async getChannel(id) {
        if (id.includes('\u0000')) return null;
        const [row] = await run('getChannel', () => exec(db, sql`SELECT * FROM alert_channels WHERE org_id = ${orgId} AND id = ${id}`));
        return row === undefined ? null : toChannel(row);
      },

      createChannel: (channel, actor) =>
        run('createChannel', () =>
          transaction(async (tx) => {
            checkId('createChannel', 'channel id', channel.id);
            const [row] = await exec(
              tx,
              sql`INSERT INTO alert_channels (org_id, id, name, type, settings, secret, secret_fields)
                  VALUES (${orgId}, ${channel.id}, ${channel.name}, ${channel.type}, ${json(channel.settings)}, ${channel.secret}, ${textArray(channel.secret_fields)})
                  ON CONFLICT DO NOTHING RETURNING *`,
            );
            if (row === undefined) return null;
            await audit(tx, orgId, 'alert_channel.created', channel.id, { name: channel.name, type: channel.type, secret_fields: channel.secret_fields }, actor);
            return toChannel(row);
          }),
        ),

      updateChannel: (channel, actor) =>
        run('updateChannel', () =>
          transaction(async (tx) => {
            const [row] = await exec(
              tx,
              sql`UPDATE alert_channels SET name = ${channel.name}, type = ${channel.type}, settings = ${json(channel.settings)}, secret = ${channel.secret},
                    secret_fields = ${textArray(channel.secret_fields)}, version = version + 1, updated_at = now(),
                    disabled_at = CASE WHEN ${channel.enabled} THEN NULL ELSE coalesce(disabled_at, now()) END,
                    disabled_reason = CASE WHEN ${channel.enabled} THEN NULL ELSE coalesce(disabled_reason, 'disabled by an admin') END
                  WHERE org_id = ${orgId} AND id = ${channel.id} RETURNING *`,
            );
            if (row === undefined) return null;
            await audit(tx, orgId, 'alert_channel.changed', channel.id, { name: channel.name, type: channel.type, enabled: channel.enabled, secret_fields: channel.secret_fields, version: num(row.version) }, actor);
            return toChannel(row);
          }),
        ),

      deleteChannel: (id, actor) =>
        run('deleteChannel', () =>
          transaction(async (tx) => {
            const deleted = await exec(tx, sql`DELETE FROM alert_channels WHERE org_id = ${orgId} AND id = ${id} RETURNING id`);
            if (deleted.length === 0) return false;
            await exec(
              tx,
              sql`UPDATE alert_deliveries SET status = 'abandoned', last_error = 'the channel was deleted', updated_at = now(), lease_until = NULL
                  WHERE org_id = ${orgId} AND channel_id = ${id} AND status IN ('pending', 'retrying', 'sending')`,
            );
            await audit(tx, orgId, 'alert_channel.deleted', id, {}, actor);
            return true;
          }),
        ),

      listSilences: ({ includeExpired, now }) =>
        run('listSilences', async () =>
          (await exec(db, includeExpired ? sql`SELECT * FROM alert_silences WHERE org_id = ${orgId} ORDER BY created_at DESC, id` : sql`SELECT * FROM alert_silences WHERE org_id = ${orgId} AND ends_at > ${ts(now)} ORDER BY created_at DESC, id`)).map(toSilence),
        ),

      createSilence: (silence, actor) =>
        run('createSilence', () =>
          transaction(async (tx) => {
            checkId('createSilence', 'silence id', silence.id);
            const [row] = await exec(
              tx,
              sql`INSERT INTO alert_silences (org_id, id, matchers, starts_at, ends_at, comment, created_by)
                  VALUES (${orgId}, ${silence.id}, ${json(silence.matchers)}, ${ts(silence.starts_at)}, ${ts(silence.ends_at)}, ${silence.comment}, ${actor.keyId}) RETURNING *`,
            );
            await audit(tx, orgId, 'alert_silence.created', silence.id, { matchers: silence.matchers, starts_at: silence.starts_at.toISOString(), ends_at: silence.ends_at.toISOString() }, actor);
            return toSilence(row!);
          }),
        ),

      expireSilence: (id, now, actor) =>
        run('expireSilence', () =>
          transaction(async (tx) => {
            if (id.includes('\u0000')) return null;
            const [row] = await exec(tx, sql`UPDATE alert_silences SET ends_at = least(ends_at, ${ts(now)}) WHERE org_id = ${orgId} AND id = ${id} RETURNING *`);
            if (row === undefined) return null;
            await audit(tx, orgId, 'alert_silence.expired', id, {}, actor);
            return toSilence(row);
          }),
        ),

      async getRouting() {
        const [row] = await run('getRouting', () => exec(db, sql`SELECT * FROM alert_routing WHERE org_id = ${orgId}`));
        return row === undefined ? null : { document: obj(row.document), version: num(row.version), updated_at: date(row.updated_at) };
      },

      putRouting: (document, actor) =>
        run('putRouting', () =>
          transaction(async (tx) => {
            const [row] = await exec(
              tx,
              sql`INSERT INTO alert_routing (org_id, document) VALUES (${orgId}, ${json(document)})
                  ON CONFLICT (org_id) DO UPDATE SET document = excluded.document, version = alert_routing.version + 1, updated_at = now() RETURNING version, updated_at`,
            );
            await audit(tx, orgId, 'alert_routing.changed', orgId, { version: num(row!.version) }, actor);
            return { version: num(row!.version), updated_at: date(row!.updated_at) };
          }),
        ),

      listAlerts: (q) =>
        run('listAlerts', async () => {
          const where: SQL[] = [sql`org_id = ${orgId}`];
          if (q.status !== undefined) where.push(sql`status = ${q.status}`);
          if (q.rule_id !== undefined) where.push(sql`rule_id = ${clean(q.rule_id)}`);
          if (q.since !== undefined) where.push(sql`coalesce(resolved_at, 'infinity'::timestamptz) >= ${ts(q.since)}`);
          if (q.until !== undefined) where.push(sql`starts_at <= ${ts(q.until)}`);
          if (q.before !== undefined) where.push(sql`(starts_at, id) < (${ts(q.before.starts_at)}, ${q.before.id})`);
          return (await exec(db, sql`SELECT * FROM alerts WHERE ${sql.join(where, sql` AND `)} ORDER BY starts_at DESC, id DESC LIMIT ${q.limit}`)).map(toAlert);
        }),

      listDeliveries: (q) =>
        run('listDeliveries', async () => {
          const where: SQL[] = [sql`org_id = ${orgId}`];
          if (q.channel_id !== undefined) where.push(sql`channel_id = ${clean(q.channel_id)}`);
          if (q.status !== undefined) where.push(sql`status = ${q.status}`);
          if (q.group_key !== undefined) where.push(sql`group_key = ${clean(q.group_key)}`);
          if (q.since !== undefined) where.push(sql`created_at >= ${ts(q.since)}`);
          if (q.until !== undefined) where.push(sql`created_at <= ${ts(q.until)}`);
          if (q.before_id !== undefined) where.push(sql`id < ${q.before_id}`);
          const deliveries = (await exec(db, sql`SELECT * FROM alert_deliveries WHERE ${sql.join(where, sql` AND `)} ORDER BY id DESC LIMIT ${q.limit}`)).map(toDelivery);
          return withAttempts(deliveries);
        }),

      async getDelivery(id) {
        const [row] = await run('getDelivery', () => exec(db, sql`SELECT * FROM alert_deliveries WHERE org_id = ${orgId} AND id = ${id}`));
        if (row === undefined) return null;
        return (await withAttempts([toDelivery(row)]))[0]!;
      },
    };

    async function withAttempts(deliveries: Delivery[]) {
      if (deliveries.length === 0) return [];
      const ids = JSON.stringify(deliveries.map((d) => d.id));
      const attempts = await exec(db, sql`SELECT * FROM alert_delivery_attempts WHERE org_id = ${orgId} AND delivery_id IN (SELECT jsonb_array_elements_text(${ids}::jsonb)::bigint) ORDER BY delivery_id, attempt`);
      const byId = new Map<number, DeliveryAttempt[]>();
      for (const a of attempts) {
        const list = byId.get(num(a.delivery_id)) ?? [];
        list.push(toAttempt(a));
        byId.set(num(a.delivery_id), list);
      }
      return deliveries.map((d) => ({ ...d, attempt_log: byId.get(d.id) ?? [] }));
    }
  }

  async function groupSnapshot(tx: AnyPgDatabase, g: Row): Promise<GroupSnapshot> {
    const orgId = String(g.org_id);
    const key = String(g.group_key);
    const members = (await exec(tx, sql`SELECT a.* FROM alerts a JOIN alert_group_members m ON m.alert_id = a.id WHERE m.org_id = ${orgId} AND m.group_key = ${key} ORDER BY a.starts_at, a.id`)).map(toAlert);
    const log = (await exec(tx, sql`SELECT * FROM alert_notification_log WHERE org_id = ${orgId} AND group_key = ${key}`)).map(
      (r): NotificationLogEntry => ({ channel_id: String(r.channel_id), firing: (r.firing as string[]) ?? [], resolved: (r.resolved as string[]) ?? [], sequence: num(r.sequence), notified_at: date(r.notified_at) }),
    );
    return {
      org_id: orgId,
      group_key: key,
      route_id: String(g.route_id),
      group_labels: obj(g.group_labels),
      channel_ids: (g.channel_ids as string[]) ?? [],
      timing: obj(g.timing),
      created_at: date(g.created_at),
      next_flush_at: date(g.next_flush_at),
      flushed_at: dateOrNull(g.flushed_at),
      members,
      log,
    };
  }

  /**
   * The events of one fingerprint, in order, folded in memory and written once: extend the open
   * instance, open a new one, or resolve it (several instances when it resolved and fired again).
   */
  async function applyFingerprint(tx: AnyPgDatabase, list: AlertEvent[], now: Date): Promise<void> {
    const first = list[0]!.alert;
    const [open] = await exec(tx, sql`SELECT * FROM alerts WHERE org_id = ${first.org_id} AND fingerprint = ${first.fingerprint} AND status = 'firing' FOR UPDATE`);
    interface Pending {
      id: string;
      existing: boolean;
      base: AlertEvent['alert'];
      occurrences: number;
      last_seen: number;
      ends_at: number;
      trace_ids: string[];
      annotations: Record<string, string>;
      value: number | null;
      threshold: number | null;
      volume: number | null;
      resolved_at: number | null;
      groups: Map<string, GroupAssignment>;
    }
    const done: Pending[] = [];
    let cur: Pending | null =
      open === undefined
        ? null
        : {
            id: String(open.id),
            existing: true,
            base: first,
            occurrences: 0,
            last_seen: date(open.last_seen_at).getTime(),
            ends_at: date(open.ends_at).getTime(),
            trace_ids: [],
            annotations: obj(open.annotations),
            value: null,
            threshold: null,
            volume: null,
            resolved_at: null,
            groups: new Map(),
          };
    for (const { alert, groups } of list) {
      if (alert.status === 'resolved') {
        if (cur === null) continue;
        cur.resolved_at = alert.ends_at;
        cur.ends_at = alert.ends_at;
        if (alert.value !== null) cur.value = alert.value;
        if (alert.volume !== null) cur.volume = alert.volume;
        for (const g of groups) cur.groups.set(g.group_key, g);
        done.push(cur);
        cur = null;
        continue;
      }
      if (cur === null) {
        // An event already over when applied (a late redelivery, a replay) opens nothing.
        if (alert.ends_at <= now.getTime()) continue;
        cur = { id: randomUUID(), existing: false, base: alert, occurrences: 0, last_seen: alert.starts_at, ends_at: alert.ends_at, trace_ids: [], annotations: alert.annotations, value: null, threshold: null, volume: null, resolved_at: null, groups: new Map() };
      }
      cur.occurrences++;
      cur.last_seen = Math.max(cur.last_seen, alert.starts_at);
      cur.ends_at = Math.max(cur.ends_at, alert.ends_at);
      if (alert.trace_id !== null) cur.trace_ids.unshift(clean(alert.trace_id));
      cur.annotations = alert.annotations;
      if (alert.value !== null) cur.value = alert.value;
      if (alert.threshold !== null) cur.threshold = alert.threshold;
      if (alert.volume !== null) cur.volume = alert.volume;
      for (const g of groups) cur.groups.set(g.group_key, g);
    }
    if (cur !== null) done.push(cur);
    for (const p of done) {
      const status = p.resolved_at === null ? 'firing' : 'resolved';
      const resolvedAt = p.resolved_at === null ? sql`NULL` : ts(new Date(p.resolved_at));
      if (p.existing) {
        await exec(
          tx,
          sql`UPDATE alerts SET status = ${status}, resolved_at = ${resolvedAt}, occurrences = occurrences + ${p.occurrences},
                last_seen_at = greatest(last_seen_at, ${ts(new Date(p.last_seen))}), ends_at = ${p.resolved_at === null ? sql`greatest(ends_at, ${ts(new Date(p.ends_at))})` : ts(new Date(p.ends_at))},
                trace_ids = (${textArray(p.trace_ids.slice(0, 20))} || trace_ids)[1:20], annotations = ${json(p.annotations)},
                value = coalesce(${p.value}, value), threshold = coalesce(${p.threshold}, threshold), volume = coalesce(${p.volume}, volume), updated_at = now()
              WHERE id = ${p.id}`,
        );
      } else {
        const a = p.base;
        await exec(
          tx,
          sql`INSERT INTO alerts (id, org_id, fingerprint, rule_id, kind, severity, labels, annotations, status, starts_at, ends_at, last_seen_at, resolved_at, occurrences, trace_ids, value, threshold, volume)
              VALUES (${p.id}, ${a.org_id}, ${a.fingerprint}, ${a.rule_id}, ${a.kind}, ${a.severity}, ${json(a.labels)}, ${json(p.annotations)}, ${status},
                ${ts(new Date(a.starts_at))}, ${ts(new Date(p.ends_at))}, ${ts(new Date(p.last_seen))}, ${resolvedAt}, ${p.occurrences}, ${textArray(p.trace_ids.slice(0, 20))}, ${p.value}, ${p.threshold}, ${p.volume})`,
        );
      }
      for (const g of p.groups.values()) {
        await exec(
          tx,
          sql`INSERT INTO alert_groups (org_id, group_key, route_id, group_labels, channel_ids, timing, next_flush_at)
              VALUES (${first.org_id}, ${g.group_key}, ${g.route_id}, ${json(g.group_labels)}, ${textArray(g.channel_ids)}, ${json(g.timing)}, ${ts(new Date(now.getTime() + g.timing.group_wait_ms))})
              ON CONFLICT (org_id, group_key) DO UPDATE SET channel_ids = excluded.channel_ids, timing = excluded.timing`,
        );
        await exec(tx, sql`INSERT INTO alert_group_members (org_id, group_key, alert_id) VALUES (${first.org_id}, ${g.group_key}, ${p.id}) ON CONFLICT DO NOTHING`);
      }
    }
  }

  return {
    forOrg: scope,
    rulesOf: (orgId) => scope(orgId).listRules(),
    routingOf: (orgId) => scope(orgId).getRouting(),
    activeSilences: (orgId, now) =>
      run('activeSilences', async () => (await exec(db, sql`SELECT * FROM alert_silences WHERE org_id = ${orgId} AND starts_at <= ${ts(now)} AND ends_at > ${ts(now)}`)).map(toSilence)),
    channel: (orgId, id) => scope(orgId).getChannel(id),
    disableChannel: (orgId, id, reason) =>
      run('disableChannel', async () => {
        await exec(db, sql`UPDATE alert_channels SET disabled_at = coalesce(disabled_at, now()), disabled_reason = ${reason}, updated_at = now() WHERE org_id = ${orgId} AND id = ${id}`);
      }),

    observe: (rows) =>
      run('observe', async () => {
        if (rows.length === 0) return;
        const data = JSON.stringify(rows.map((r) => ({ o: r.org_id, r: r.rule_id, m: r.measure, s: clean(r.series), i: clean(r.record_id), a: r.at.toISOString(), f: r.failing, c: r.score })));
        await exec(
          db,
          sql`INSERT INTO alert_observations (org_id, rule_id, measure, series, record_id, at, failing, score)
              SELECT o, r, m, s, i, a, f, c FROM jsonb_to_recordset(${data}::jsonb) AS x(o text, r text, m text, s text, i text, a timestamptz, f boolean, c double precision)
              ON CONFLICT DO NOTHING`,
        );
      }),

    windowStats: (keys) =>
      run('windowStats', async () => {
        if (keys.length === 0) return [];
        const data = JSON.stringify(keys.map((k, n) => ({ n, o: k.org_id, r: k.rule_id, m: k.measure, s: clean(k.series), a: k.since.toISOString() })));
        const rows = await exec(
          db,
          sql`SELECT k.n, count(o.record_id) AS volume, count(o.record_id) FILTER (WHERE o.failing) AS failing, avg(o.score) AS mean_score
              FROM jsonb_to_recordset(${data}::jsonb) AS k(n int, o text, r text, m text, s text, a timestamptz)
              LEFT JOIN alert_observations o ON o.org_id = k.o AND o.rule_id = k.r AND o.measure = k.m AND o.series = k.s AND o.at >= k.a
              GROUP BY k.n`,
        );
        const byN = new Map(rows.map((r) => [num(r.n), r]));
        return keys.map((_, n) => {
          const r = byN.get(n);
          return { volume: num(r?.volume ?? 0), failing: num(r?.failing ?? 0), mean_score: numOrNull(r?.mean_score) };
        });
      }),

    pruneObservations: (before) =>
      run('pruneObservations', async () => (await exec(db, sql`WITH d AS (DELETE FROM alert_observations WHERE at < ${ts(before)} RETURNING 1) SELECT count(*) AS n FROM d`)).map((r) => num(r.n))[0] ?? 0),

    series: (keys) =>
      run('series', async () => {
        if (keys.length === 0) return [];
        const data = JSON.stringify(keys.map((k, n) => ({ n, o: k.org_id, r: k.rule_id, s: clean(k.series) })));
        const rows = await exec(db, sql`SELECT k.n, s.* FROM jsonb_to_recordset(${data}::jsonb) AS k(n int, o text, r text, s text) JOIN alert_series s ON s.org_id = k.o AND s.rule_id = k.r AND s.series = k.s`);
        const byN = new Map(rows.map((r) => [num(r.n), toSeries(r)]));
        return keys.map((_, n) => byN.get(n) ?? null);
      }),

    putSeries: (states) =>
      run('putSeries', async () => {
        if (states.length === 0) return;
        const data = JSON.stringify(states.map((s) => ({ o: s.org_id, r: s.rule_id, s: clean(s.series), l: encodeRecord(s.labels).record, t: s.state, a: s.since.toISOString(), x: s.asserted_at.toISOString() })));
        await exec(
          db,
          sql`INSERT INTO alert_series (org_id, rule_id, series, labels, state, since, asserted_at)
              SELECT o, r, s, l, t, a, x FROM jsonb_to_recordset(${data}::jsonb) AS k(o text, r text, s text, l jsonb, t text, a timestamptz, x timestamptz)
              ON CONFLICT (org_id, rule_id, series) DO UPDATE SET labels = excluded.labels, state = excluded.state, since = excluded.since, asserted_at = excluded.asserted_at`,
        );
      }),

    firingSeries: (limit) => run('firingSeries', async () => (await exec(db, sql`SELECT * FROM alert_series WHERE state = 'firing' ORDER BY asserted_at LIMIT ${limit}`)).map(toSeries)),

    applyEvents: (events, now) =>
      run('applyEvents', () =>
        transaction(async (tx) => {
          if (events.length === 0) return 0;
          // Which events are new (one statement for the batch); a redelivered one is skipped.
          const ids = JSON.stringify(events.map((e) => ({ o: e.alert.org_id, a: clean(e.alert.alert_id) })));
          const fresh = new Set(
            (await exec(tx, sql`INSERT INTO alert_events (org_id, alert_id) SELECT o, a FROM jsonb_to_recordset(${ids}::jsonb) AS x(o text, a text) ON CONFLICT DO NOTHING RETURNING org_id, alert_id`)).map(
              (r) => `${String(r.org_id)}\u0000${String(r.alert_id)}`,
            ),
          );
          const byFingerprint = new Map<string, AlertEvent[]>();
          for (const e of events) {
            const id = `${e.alert.org_id}\u0000${clean(e.alert.alert_id)}`;
            if (!fresh.delete(id)) continue; // seen before, or twice in this batch
            const key = `${e.alert.org_id}\u0000${e.alert.fingerprint}`;
            byFingerprint.set(key, [...(byFingerprint.get(key) ?? []), e]);
          }
          let applied = 0;
          for (const list of byFingerprint.values()) {
            applied += list.length;
            await applyFingerprint(tx, list, now);
          }
          return applied;
        }),
      ),

    expireAlerts: (now) =>
      run('expireAlerts', async () =>
        (await exec(db, sql`UPDATE alerts SET status = 'resolved', resolved_at = ends_at, updated_at = now() WHERE status = 'firing' AND ends_at <= ${ts(now)} RETURNING *`)).map(toAlert),
      ),

    dueGroups: (now, limit) =>
      run('dueGroups', async () =>
        (await exec(db, sql`SELECT org_id, group_key FROM alert_groups WHERE next_flush_at <= ${ts(now)} ORDER BY next_flush_at LIMIT ${limit}`)).map((r) => ({ org_id: String(r.org_id), group_key: String(r.group_key) })),
      ),

    flushGroup: (orgId, groupKey, now, decide) =>
      run('flushGroup', () =>
        transaction(async (tx) => {
          const [g] = await exec(tx, sql`SELECT * FROM alert_groups WHERE org_id = ${orgId} AND group_key = ${groupKey} AND next_flush_at <= ${ts(now)} FOR UPDATE SKIP LOCKED`);
          if (g === undefined) return false;
          const snapshot = await groupSnapshot(tx, g);
          const decision = decide(snapshot);
          for (const delivery of decision.deliveries) {
            await exec(
              tx,
              sql`INSERT INTO alert_deliveries (org_id, notification_id, group_key, channel_id, channel_type, kind, dedup_key, payload, status, next_attempt_at)
                  VALUES (${orgId}, ${delivery.notification_id}, ${groupKey}, ${delivery.channel_id}, ${delivery.channel_type}, ${delivery.kind}, ${delivery.dedup_key}, ${json(delivery.payload)}, 'pending', ${ts(now)})
                  ON CONFLICT (org_id, notification_id) DO NOTHING`,
            );
          }
          for (const entry of decision.log) {
            await exec(
              tx,
              sql`INSERT INTO alert_notification_log (org_id, group_key, channel_id, firing, resolved, sequence, notified_at)
                  VALUES (${orgId}, ${groupKey}, ${entry.channel_id}, ${textArray(entry.firing)}, ${textArray(entry.resolved)}, ${entry.sequence}, ${ts(entry.notified_at)})
                  ON CONFLICT (org_id, group_key, channel_id) DO UPDATE SET firing = excluded.firing, resolved = excluded.resolved, sequence = excluded.sequence, notified_at = excluded.notified_at`,
            );
          }
          if (decision.delete) {
            await exec(tx, sql`DELETE FROM alert_group_members WHERE org_id = ${orgId} AND group_key = ${groupKey}`);
            await exec(tx, sql`DELETE FROM alert_notification_log WHERE org_id = ${orgId} AND group_key = ${groupKey}`);
            await exec(tx, sql`DELETE FROM alert_groups WHERE org_id = ${orgId} AND group_key = ${groupKey}`);
          } else {
            if (decision.remove.length > 0) {
              await exec(tx, sql`DELETE FROM alert_group_members WHERE org_id = ${orgId} AND group_key = ${groupKey} AND alert_id = ANY(${textArray(decision.remove)})`);
            }
            await exec(tx, sql`UPDATE alert_groups SET next_flush_at = ${ts(decision.next_flush_at)}, flushed_at = ${ts(now)} WHERE org_id = ${orgId} AND group_key = ${groupKey}`);
          }
          return true;
        }),
      ),

    queueDelivery: (orgId, delivery, now, leaseUntil) =>
      run('queueDelivery', async () => {
        const [row] = await exec(
          db,
          leaseUntil === undefined
            ? sql`INSERT INTO alert_deliveries (org_id, notification_id, group_key, channel_id, channel_type, kind, dedup_key, payload, status, next_attempt_at)
                  VALUES (${orgId}, ${delivery.notification_id}, NULL, ${delivery.channel_id}, ${delivery.channel_type}, ${delivery.kind}, ${delivery.dedup_key}, ${json(delivery.payload)}, 'pending', ${ts(now)})
                  RETURNING *`
            : sql`INSERT INTO alert_deliveries (org_id, notification_id, group_key, channel_id, channel_type, kind, dedup_key, payload, status, next_attempt_at, lease_until, attempts)
                  VALUES (${orgId}, ${delivery.notification_id}, NULL, ${delivery.channel_id}, ${delivery.channel_type}, ${delivery.kind}, ${delivery.dedup_key}, ${json(delivery.payload)}, 'sending', ${ts(now)}, ${ts(leaseUntil)}, 1)
                  RETURNING *`,
        );
        return toDelivery(row!);
      }),

    claimDeliveries: (now, leaseUntil, limit) =>
      run('claimDeliveries', async () =>
        (
          await exec(
            db,
            sql`UPDATE alert_deliveries d SET status = 'sending', lease_until = ${ts(leaseUntil)}, attempts = d.attempts + 1, updated_at = now()
                WHERE d.id IN (
                  SELECT c.id FROM alert_deliveries c
                  WHERE ((c.status IN ('pending', 'retrying') AND c.next_attempt_at <= ${ts(now)}) OR (c.status = 'sending' AND c.lease_until < ${ts(now)}))
                    AND NOT EXISTS (
                      SELECT 1 FROM alert_deliveries e WHERE e.org_id = c.org_id AND e.channel_id = c.channel_id AND e.group_key = c.group_key
                        AND e.id < c.id AND e.status IN ('pending', 'retrying', 'sending'))
                  ORDER BY c.next_attempt_at, c.id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
                RETURNING d.*`,
          )
        ).map(toDelivery),
      ),

    deferDelivery: (delivery, until) =>
      run('deferDelivery', async () => {
        await exec(
          db,
          sql`UPDATE alert_deliveries SET status = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END, attempts = attempts - 1, next_attempt_at = ${ts(until)}, lease_until = NULL, updated_at = now()
              WHERE id = ${delivery.id} AND attempts = ${delivery.attempts} AND status = 'sending'`,
        );
      }),

    recordAttempt: (delivery, result, now) =>
      run('recordAttempt', () =>
        transaction(async (tx) => {
          const status = result.outcome === 'delivered' ? 'delivered' : result.outcome === 'retry' ? 'retrying' : result.outcome;
          const next = result.next_attempt_at ?? now;
          // Only the holder of the lease records (a worker whose lease expired and was re-claimed does not).
          const updated = await exec(
            tx,
            sql`UPDATE alert_deliveries SET status = ${status}, next_attempt_at = ${ts(next)}, lease_until = NULL, updated_at = now(),
                  delivered_at = CASE WHEN ${status} = 'delivered' THEN ${ts(now)} ELSE delivered_at END,
                  last_error = ${clip(result.error ?? (result.outcome === 'delivered' ? null : result.response), 500)}
                WHERE id = ${delivery.id} AND attempts = ${delivery.attempts} AND status = 'sending' RETURNING id`,
          );
          if (updated.length === 0) return;
          await exec(
            tx,
            sql`INSERT INTO alert_delivery_attempts (delivery_id, attempt, org_id, at, outcome, status_code, response, error, latency_ms)
                VALUES (${delivery.id}, ${delivery.attempts}, ${delivery.org_id}, ${ts(now)}, ${result.outcome}, ${result.status_code}, ${clip(result.response)}, ${clip(result.error)}, ${result.latency_ms})
                ON CONFLICT DO NOTHING`,
          );
        }),
      ),

    pruneEvents: (before) =>
      run('pruneEvents', async () => (await exec(db, sql`WITH d AS (DELETE FROM alert_events WHERE applied_at < ${ts(before)} RETURNING 1) SELECT count(*) AS n FROM d`)).map((r) => num(r.n))[0] ?? 0),
  };
}
