/**
 * The live hub of one console instance: rows built from the records of the log (a trace, then its
 * verdict: rows.ts) go to the subscribers of the row's organization whose filter matches, coalesced
 * and rate-limited on the server so that a browser stays responsive at thousands of traces a second:
 *
 * - Coalesced: a subscriber's pending rows are keyed by trace id, so a trace and its verdict arriving
 *   within one interval are one update; pending rows go out every `flushEveryMs` (default 250 ms), at
 *   most `maxRowsPerMessage` (200) at a time.
 * - Bounded: past `maxPending` (2,000) pending rows the oldest are dropped and counted; the next
 *   message says how many (`dropped`), so the page can say that the live view skipped rows.
 * - Slow clients are shed: a subscriber whose socket holds more than `maxBufferedBytes` (1 MiB) unsent
 *   is disconnected (it reconnects and catches up), never allowed to grow this process's memory.
 * - Catch-up: the last `replayEntries` (10,000) row updates are kept with the log time of the record;
 *   a subscriber that says `since` (the newest time it saw) first gets the updates after it.
 *
 * @example
 *   const hub = createLiveHub();
 *   const sub = hub.subscribe({ orgId, filter: {}, send: (text) => ws.send(text), bufferedAmount: () => ws.bufferedAmount, shed: () => ws.close(1013) });
 *   hub.publishTrace(trace, record.timestamp);
 */
import type { Trace, Verdict } from '@metronis/schemas';
import { matches, rowOfTrace, withVerdict, type LiveFilter, type TraceSummary } from './rows.js';

export interface LiveHubOptions {
  flushEveryMs?: number;
  maxRowsPerMessage?: number;
  maxPending?: number;
  maxBufferedBytes?: number;
  /** Rows remembered to merge a verdict into its trace's row. Default 20,000. */
  recentRows?: number;
  /** Row updates kept for catch-up. Default 10,000. */
  replayEntries?: number;
  /** Most rows sent for a catch-up. Default 1,000. */
  maxReplayRows?: number;
}

export interface SubscriberSocket {
  orgId: string;
  filter: LiveFilter;
  send(text: string): void;
  bufferedAmount(): number;
  /** Disconnects the subscriber (it was too slow). */
  shed(reason: string): void;
}

export interface Subscription {
  /** Changes the filter; with `since`, first sends the remembered updates after it that match. */
  update(filter: LiveFilter, since?: number): void;
  close(): void;
}

export interface LiveHub {
  publishTrace(trace: Trace, at: number): void;
  publishVerdict(verdict: Verdict, at: number): void;
  subscribe(socket: SubscriberSocket, since?: number): Subscription;
  /** Subscribers now (for tests and metrics). */
  size(): number;
  close(): void;
}

/** What a subscriber is sent. `at` is the newest log time among the rows (for `since` on reconnect). */
export type LiveMessage = { type: 'rows'; rows: TraceSummary[]; at: number; dropped: number; replay?: boolean };

interface Entry {
  at: number;
  orgId: string;
  row: TraceSummary;
}

interface Subscriber {
  socket: SubscriberSocket;
  pending: Map<string, Entry>;
  dropped: number;
}

export function createLiveHub(options: LiveHubOptions = {}): LiveHub {
  const flushEveryMs = options.flushEveryMs ?? 250;
  const maxRowsPerMessage = options.maxRowsPerMessage ?? 200;
  const maxPending = options.maxPending ?? 2_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const recentRows = options.recentRows ?? 20_000;
  const replayEntries = options.replayEntries ?? 10_000;
  const maxReplayRows = options.maxReplayRows ?? 1_000;

  const subscribers = new Set<Subscriber>();
  /** org \u0000 trace id → its row, oldest first (a Map keeps insertion order: an LRU by re-insertion). */
  const recent = new Map<string, TraceSummary>();
  const replay: Entry[] = [];
  let replayStart = 0;

  function remember(key: string, row: TraceSummary): void {
    recent.delete(key);
    recent.set(key, row);
    if (recent.size > recentRows) recent.delete(recent.keys().next().value!);
  }

  function publish(orgId: string, row: TraceSummary, at: number): void {
    const entry: Entry = { at, orgId, row };
    if (replay.length < replayEntries) replay.push(entry);
    else {
      replay[replayStart] = entry;
      replayStart = (replayStart + 1) % replayEntries;
    }
    for (const s of subscribers) if (s.socket.orgId === orgId && matches(row, s.socket.filter)) enqueue(s, entry);
  }

  function enqueue(s: Subscriber, entry: Entry): void {
    s.pending.delete(entry.row.trace_id);
    s.pending.set(entry.row.trace_id, entry);
    if (s.pending.size > maxPending) {
      s.pending.delete(s.pending.keys().next().value!);
      s.dropped += 1;
    }
  }

  function send(s: Subscriber, entries: Entry[], replayed: boolean): void {
    const message: LiveMessage = { type: 'rows', rows: entries.map((e) => e.row), at: Math.max(0, ...entries.map((e) => e.at)), dropped: s.dropped, ...(replayed ? { replay: true } : {}) };
    s.dropped = 0;
    s.socket.send(JSON.stringify(message));
  }

  function flush(): void {
    for (const s of subscribers) {
      if (s.pending.size === 0 && s.dropped === 0) continue;
      if (s.socket.bufferedAmount() > maxBufferedBytes) {
        subscribers.delete(s);
        s.socket.shed(`more than ${maxBufferedBytes} bytes waiting to be sent: reconnect to catch up`);
        continue;
      }
      const batch: Entry[] = [];
      for (const [id, entry] of s.pending) {
        batch.push(entry);
        s.pending.delete(id);
        if (batch.length >= maxRowsPerMessage) break;
      }
      send(s, batch, false);
    }
  }

  const timer = setInterval(flush, flushEveryMs);
  timer.unref();

  function catchUp(s: Subscriber, since: number): void {
    const latest = new Map<string, Entry>();
    const ordered = replay.length < replayEntries ? replay : [...replay.slice(replayStart), ...replay.slice(0, replayStart)];
    for (const e of ordered) {
      if (e.at <= since || e.orgId !== s.socket.orgId || !matches(e.row, s.socket.filter)) continue;
      latest.delete(e.row.trace_id);
      latest.set(e.row.trace_id, e);
    }
    const entries = [...latest.values()];
    const kept = entries.slice(Math.max(0, entries.length - maxReplayRows));
    s.dropped += entries.length - kept.length;
    for (let i = 0; i < kept.length; i += maxRowsPerMessage) send(s, kept.slice(i, i + maxRowsPerMessage), true);
    if (kept.length === 0) send(s, [], true);
  }

  return {
    publishTrace(trace, at) {
      const key = `${trace.org_id}\u0000${trace.trace_id}`;
      const known = recent.get(key);
      // A verdict that came first keeps its fields; the trace adds what only it has.
      const row = known !== undefined && known.decided_by_tier !== null ? { ...rowOfTrace(trace), severity: known.severity, passed: known.passed, score: known.score, finding_kinds: known.finding_kinds, failed_modules: known.failed_modules, decided_by_tier: known.decided_by_tier } : rowOfTrace(trace);
      remember(key, row);
      publish(trace.org_id, row, at);
    },
    publishVerdict(verdict, at) {
      const key = `${verdict.org_id}\u0000${verdict.trace_id}`;
      const row = withVerdict(recent.get(key) ?? null, verdict);
      remember(key, row);
      publish(verdict.org_id, row, at);
    },
    subscribe(socket, since) {
      const s: Subscriber = { socket, pending: new Map(), dropped: 0 };
      subscribers.add(s);
      if (since !== undefined) catchUp(s, since);
      return {
        update(filter, updatedSince) {
          s.socket.filter = filter;
          s.pending.clear();
          if (updatedSince !== undefined) catchUp(s, updatedSince);
        },
        close() {
          subscribers.delete(s);
        },
      };
    },
    size: () => subscribers.size,
    close() {
      clearInterval(timer);
      subscribers.clear();
    },
  };
}
