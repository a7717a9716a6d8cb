/**
 * The traces page: the search API's filters (kept in the URL), a virtualized list, keyset paging with
 * "Load more", and live rows pushed by the live channel as traces and verdicts arrive, merged by trace
 * id in the search API's order (newest trace time first; while more pages remain, live rows older than
 * the last loaded one wait for "Load more"). The time range applies to live rows here in
 * the page (the live channel has no time range). A filter the search API refuses shows its message
 * instead of the list. Until the server offers the search API (GET /v1/traces), the page says so and
 * shows live rows only.
 */
import { Alert, Button, Collapse, Group, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ApiError, get } from '../api';
import { LoadMore } from '../components/LoadMore';
import { VerdictBadge } from '../components/SeverityBadge';
import { LiveBadge } from '../components/LiveBadge';
import { LiveClient, type LiveState } from '../live';
import { useSession } from '../session';
import { fromLocalInput, shortTime, toLocalInput } from '../timeRange';
import { SEVERITIES, type TraceSummary } from '../types';

const FILTERS = ['q', 'from', 'to', 'application', 'environment', 'severity_at_least', 'passed', 'model_provider', 'model_name', 'user_id', 'session_id', 'tag', 'finding_kind', 'failed_module'] as const;
const MORE: Array<[string, string]> = [
  ['model_provider', 'Model provider'],
  ['model_name', 'Model name'],
  ['user_id', 'User id'],
  ['session_id', 'Session id'],
  ['tag', 'Tag'],
  ['finding_kind', 'Finding kind'],
  ['failed_module', 'Failed module'],
];

/** The live channel's filter: the page's, without the time range (applied to live rows in `inRange`). */
const liveFilterOf = ({ from: _from, to: _to, ...rest }: Record<string, string>) => rest;

function inRange(row: TraceSummary, filter: Record<string, string>): boolean {
  if (filter.from === undefined && filter.to === undefined) return true;
  const at = Date.parse(row.timestamp ?? row.received_at ?? '');
  if (Number.isNaN(at)) return false;
  return (filter.from === undefined || at >= Date.parse(filter.from)) && (filter.to === undefined || at < Date.parse(filter.to));
}


type Search = { state: 'loading' } | { state: 'unavailable'; reason: string } | { state: 'error'; message: string } | { state: 'ok'; items: TraceSummary[]; next: string | null };

function filterOf(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value !== null && value !== '') out[name] = value;
  }
  return out;
}

const ROW_HEIGHT = 44;
/** The search API's default order: newest trace time first (arrival time when a live row has no trace yet). */
const newestFirst = (a: TraceSummary, b: TraceSummary) => (b.timestamp ?? b.received_at ?? '').localeCompare(a.timestamp ?? a.received_at ?? '') || (a.trace_id < b.trace_id ? 1 : a.trace_id > b.trace_id ? -1 : 0);

export function Traces() {
  const [params, setParams] = useSearchParams();
  const filter = useMemo(() => filterOf(params), [params]);
  const filterKey = JSON.stringify(filter);
  const [draft, setDraft] = useState<Record<string, string>>(filter);
  const [more, setMore] = useState(MORE.some(([k]) => filter[k] !== undefined));
  const [search, setSearch] = useState<Search>({ state: 'loading' });
  const [live, setLive] = useState<Map<string, TraceSummary>>(new Map());
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [liveState, setLiveState] = useState<LiveState>('connecting');
  const [dropped, setDropped] = useState(0);
  const [moreError, setMoreError] = useState<string | null>(null);
  const client = useRef<LiveClient | null>(null);
  const { expired } = useSession();

  useEffect(() => setDraft(filter), [filterKey]); // eslint-disable-line react-hooks/exhaustive-deps

  // The search API: the first page for this filter.
  useEffect(() => {
    setSearch({ state: 'loading' });
    setMoreError(null);
    const query = new URLSearchParams({ ...filter, limit: '100' });
    get<{ items: TraceSummary[]; next_cursor: string | null }>(`/v1/traces?${query}`).then(
      (page) => setSearch({ state: 'ok', items: page.items, next: page.next_cursor }),
      (e: unknown) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501) && (e.status !== 404 || /no route/i.test(e.message))) {
          setSearch({ state: 'unavailable', reason: `GET /v1/traces answered ${e.status}` });
        } else setSearch({ state: 'error', message: e instanceof Error ? e.message : String(e) });
      },
    );
  }, [filterKey]); // eslint-disable-line react-hooks/exhaustive-deps

  // The live channel: rows matching the filter, as they arrive.
  useEffect(() => {
    setLive(new Map());
    setDropped(0);
    const c = new LiveClient(liveFilterOf(filter), {
      rows: (rows, info) => {
        setLive((old) => {
          const next = new Map(old);
          for (const row of rows) next.set(row.trace_id, { ...(old.get(row.trace_id) ?? {}), ...row, preview: row.preview ?? old.get(row.trace_id)?.preview ?? null });
          return next;
        });
        if (!info.replay) setFresh(new Set(rows.map((r) => r.trace_id)));
        if (info.dropped > 0) setDropped((d) => d + info.dropped);
      },
      state: setLiveState,
      signedOut: expired,
    });
    client.current = c;
    return () => c.close();
  }, [filterKey]); // eslint-disable-line react-hooks/exhaustive-deps

  const rows = useMemo(() => {
    const byId = new Map<string, TraceSummary>();
    if (search.state === 'ok') for (const item of search.items) byId.set(item.trace_id, item);
    // While more pages remain, the list is the newest traces down to the last loaded one: a live row
    // (the channel replays recent ones) that sorts below it belongs to a page not loaded yet.
    const last = search.state === 'ok' && search.next !== null ? search.items.at(-1) : undefined;
    for (const [id, row] of live) {
      if (!inRange(row, filter) || (last !== undefined && !byId.has(id) && newestFirst(row, last) > 0)) continue;
      byId.set(id, { ...(byId.get(id) ?? {}), ...row, preview: row.preview ?? byId.get(id)?.preview ?? null });
    }
    return [...byId.values()].sort(newestFirst);
  }, [search, live, filterKey]); // eslint-disable-line react-hooks/exhaustive-deps

  const scroller = useRef<HTMLElement>(null);
  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 10 });

  function apply(event: FormEvent) {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(draft)) if (v !== '') next.set(k, v);
    setParams(next);
  }

  async function loadMore() {
    if (search.state !== 'ok' || search.next === null) return;
    const query = new URLSearchParams({ ...filter, limit: '100', cursor: search.next });
    setMoreError(null);
    try {
      const page = await get<{ items: TraceSummary[]; next_cursor: string | null }>(`/v1/traces?${query}`);
      setSearch({ state: 'ok', items: [...search.items, ...page.items], next: page.next_cursor });
    } catch (e) {
      setMoreError(e instanceof Error ? e.message : String(e));
    }
  }

  const timeField = (name: 'from' | 'to', label: string) => (
    <TextInput label={label} type="datetime-local" size="xs" value={toLocalInput(draft[name])} onChange={(e) => setDraft({ ...draft, [name]: fromLocalInput(e.currentTarget.value) })} />
  );
  const field = (name: string, label: string) => <TextInput key={name} label={label} value={draft[name] ?? ''} onChange={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })} size="xs" />;

  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Title order={1} size="h2">
          Traces
        </Title>
        <LiveBadge state={liveState} />
      </Group>
      <form onSubmit={apply} aria-label="Filter traces">
        <Group align="end" gap="xs">
          {field('q', 'Search text')}
          {field('application', 'Application')}
          {field('environment', 'Environment')}
          {timeField('from', 'From')}
          {timeField('to', 'To (before)')}
          <Select
            label="Severity at least"
            size="xs"
            w={140}
            clearable
            data={SEVERITIES.map((s) => ({ value: s, label: s }))}
            value={draft.severity_at_least ?? null}
            onChange={(v) => setDraft({ ...draft, severity_at_least: v ?? '' })}
          />
          <Select
            label="Verdict"
            size="xs"
            w={120}
            clearable
            data={[
              { value: 'false', label: 'failed' },
              { value: 'true', label: 'passed' },
            ]}
            value={draft.passed ?? null}
            onChange={(v) => setDraft({ ...draft, passed: v ?? '' })}
          />
          <Button type="submit" size="xs">
            Apply
          </Button>
          <Button variant="subtle" size="xs" onClick={() => setMore((m) => !m)} aria-expanded={more}>
            {more ? 'Fewer filters' : 'More filters'}
          </Button>
        </Group>
        <Collapse in={more}>
          <Group align="end" gap="xs" mt="xs">
            {MORE.map(([name, label]) => field(name, label))}
          </Group>
        </Collapse>
      </form>
      {search.state === 'unavailable' && (
        <Alert color="yellow" title="Search is unavailable" data-testid="search-unavailable">
          This server does not offer trace search yet ({search.reason}), so older traces cannot be listed or searched here. New traces and verdicts that match the filter appear below as they arrive (the live
          channel also replays the last 10 minutes). Open any trace by its id: /traces/&lt;id&gt;.
        </Alert>
      )}
      {search.state === 'error' && (
        <Alert color="red" title="Search failed" role="alert" data-testid="search-error">
          {search.message}
        </Alert>
      )}
      {dropped > 0 && (
        <Alert color="blue" role="status">
          Traces are arriving faster than this page shows them: {dropped} updates were skipped by the live view. {search.state === 'ok' ? 'Search shows every trace.' : ''}
        </Alert>
      )}
      {search.state !== 'error' && (
        <section className="trace-list" ref={scroller} aria-label={`Traces: ${rows.length}`} tabIndex={-1}>
          <div className="trace-row trace-row-head" aria-hidden="true">
            <span className="time">Time</span>
            <span>Verdict</span>
            <span className="preview">Input → output</span>
            <span className="wide">Application · model</span>
            <span className="wide">Tier</span>
          </div>
          {rows.length === 0 ? (
            <Text p="md" c="dimmed">
              {search.state === 'loading' ? 'Loading…' : 'No traces match yet. Send one to POST /v1/traces and it appears here with its verdict.'}
            </Text>
          ) : (
            <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
              {virtual.getVirtualItems().map((item) => {
                const row = rows[item.index]!;
                return (
                  <Link
                    key={row.trace_id}
                    to={`/traces/${encodeURIComponent(row.trace_id)}`}
                    className={`trace-row${fresh.has(row.trace_id) ? ' fresh' : ''}`}
                    data-trace-id={row.trace_id}
                    style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${item.start}px)` }}
                  >
                    <span className="muted time">
                      {shortTime(row.timestamp ?? row.received_at)}
                    </span>
                    <span>
                      <VerdictBadge passed={row.passed} severity={row.severity} />
                    </span>
                    <span className="preview">
                      {row.preview === null ? <i>{row.trace_id}</i> : `${row.preview.input} → ${row.preview.output}`}
                    </span>
                    <span className="muted wide">
                      {[row.application, row.model?.name].filter(Boolean).join(' · ') || '—'}
                    </span>
                    <span className="muted wide">
                      {row.decided_by_tier === null ? '' : `tier ${row.decided_by_tier}`}
                    </span>
                  </Link>
                );
              })}
            </div>
          )}
        </section>
      )}
      <LoadMore error={moreError} hasMore={search.state === 'ok' && search.next !== null} onLoad={() => void loadMore()} />
    </Stack>
  );
}
