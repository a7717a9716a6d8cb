/**
 * Analytics (loaded on first visit: the charts are most of the console's weight): volume, failure rate
 * and the severity mix over time, latency, token and cost percentiles by model, and the top finding
 * kinds, over a time range and filters kept in the URL. The charts advance live: new verdicts on the
 * live channel (matching the filters) are coalesced into one refetch a couple of seconds later, and
 * again a little later while the facts store has not caught up with what the channel announced.
 * A console without a facts store (501) says so instead of drawing empty charts. The grids are
 * app.css classes: Mantine's responsive props (SimpleGrid cols by breakpoint) inject a <style> element,
 * which the console's CSP refuses.
 */
import '@mantine/charts/styles.css';
import { BarChart, LineChart } from '@mantine/charts';
import { Alert, Button, Group, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { ApiError, get } from '../api';
import { LiveBadge } from '../components/LiveBadge';
import { TimeRangeFields } from '../components/TimeRangeFields';
import { LiveClient, type LiveState } from '../live';
import { useSession } from '../session';
import { rangeOf } from '../timeRange';
import { SEVERITIES, type FindingKinds, type ModelsTable, type TracesSeries } from '../types';

const FILTERS = ['application', 'environment', 'model_provider', 'model_name'] as const;
const BUCKET_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const SEVERITY_COLORS: Record<string, string> = { none: 'gray.5', low: 'yellow.6', medium: 'orange.7', high: 'red.7', critical: 'grape.8' };
/** How long a burst of live verdicts is gathered before one refetch, and how often to try again while the facts lag. */
const COALESCE_MS = 1_500;
const CATCH_UP_TRIES = 6;

type Data = { state: 'loading' } | { state: 'unavailable'; message: string } | { state: 'error'; message: string } | { state: 'ok'; traces: TracesSeries; kinds: FindingKinds; models: ModelsTable; at: number };

/** The bucket for a range: about 60 to 170 points. */
function bucketFor(ms: number): keyof typeof BUCKET_MS {
  return ms <= 3 * 3_600_000 ? 'minute' : ms <= 7 * 86_400_000 ? 'hour' : 'day';
}

/** The series with a point for every bucket of the range (the API leaves out the empty ones). */
function filled(series: TracesSeries, from: number, to: number, bucket: keyof typeof BUCKET_MS) {
  const step = BUCKET_MS[bucket];
  const start = bucket === 'day' ? Date.UTC(new Date(from).getUTCFullYear(), new Date(from).getUTCMonth(), new Date(from).getUTCDate()) : Math.floor(from / step) * step;
  const byTime = new Map(series.items.map((item) => [Date.parse(item.time ?? ''), item]));
  const label = (ms: number) => new Date(ms).toLocaleString(undefined, bucket === 'day' ? { month: 'short', day: 'numeric' } : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  const points = [];
  for (let t = start; t < to; t += step) {
    const item = byTime.get(t);
    points.push({
      time: label(t),
      passed: (item?.evaluated ?? 0) - (item?.failed ?? 0),
      failed: item?.failed ?? 0,
      'no verdict': (item?.traces ?? 0) - (item?.evaluated ?? 0),
      'failure rate %': item?.failure_rate == null ? null : Math.round(item.failure_rate * 1000) / 10,
      ...Object.fromEntries(SEVERITIES.map((s) => [s, item?.severity[s] ?? 0])),
    });
  }
  return points;
}

function Panel({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  return (
    <Paper withBorder p="md" component="section" aria-label={title} data-testid={testId}>
      <Title order={2} size="h5" mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

const fmt = (v: number | null, digits = 0) => (v === null ? '—' : v.toLocaleString(undefined, { maximumFractionDigits: digits }));
const usd = (v: number | null) => (v === null ? '—' : `$${v.toFixed(v < 0.01 ? 5 : 2)}`);
const modelName = (m: { provider: string | null; name: string | null }) => [m.provider, m.name].filter(Boolean).join(' / ') || '(no model)';

export default function Analytics() {
  const [params, setParams] = useSearchParams();
  const key = params.toString();
  const [tick, setTick] = useState(0);
  const range = useMemo(() => rangeOf(params, '24h'), [key, tick]); // eslint-disable-line react-hooks/exhaustive-deps
  const bucket = bucketFor(range.to - range.from);
  const filters = useMemo(() => {
    const out: Record<string, string> = {};
    for (const name of FILTERS) {
      const v = params.get(name);
      if (v !== null && v !== '') out[name] = v;
    }
    return out;
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [data, setData] = useState<Data>({ state: 'loading' });
  const [liveState, setLiveState] = useState<LiveState>('connecting');
  const { endedBy } = useSession();
  // Live verdicts seen since the last answer, and the evaluated count that answer had: while the next
  // answer has fewer than both together, the facts have not caught up yet and we ask again.
  const pending = useRef({ seen: 0, baseline: 0, tries: 0, timer: null as ReturnType<typeof setTimeout> | null, ids: new Set<string>() });

  useEffect(() => {
    const d: Record<string, string> = { range: params.get('range') ?? (params.get('from') === null ? '24h' : ''), from: params.get('from') ?? '', to: params.get('to') ?? '' };
    for (const name of FILTERS) d[name] = params.get(name) ?? '';
    setDraft(d);
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

  // The three reads, for the range and filters.
  useEffect(() => {
    let cancelled = false;
    const query = new URLSearchParams({ from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), ...filters });
    Promise.all([
      get<TracesSeries>(`/v1/analytics/traces?${query}&bucket=${bucket}`),
      get<FindingKinds>(`/v1/analytics/finding-kinds?${query}&limit=10`),
      get<ModelsTable>(`/v1/analytics/models?${query}`),
    ]).then(
      ([traces, kinds, models]) => {
        if (cancelled) return;
        const evaluated = traces.items.reduce((n, i) => n + i.evaluated, 0);
        const p = pending.current;
        if (p.seen > 0 && evaluated < p.baseline + p.seen && p.tries < CATCH_UP_TRIES) {
          p.tries += 1;
          p.timer = setTimeout(() => setTick((t) => t + 1), 1_000 * p.tries);
        } else {
          p.seen = 0;
          p.tries = 0;
          p.baseline = evaluated;
        }
        setData({ state: 'ok', traces, kinds, models, at: Date.now() });
      },
      (e: unknown) => {
        if (cancelled) return;
        if (e instanceof ApiError && e.status === 501) setData({ state: 'unavailable', message: e.message });
        else setData({ state: 'error', message: e instanceof Error ? e.message : String(e) });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [range, filters, bucket]);

  // New verdicts matching the filters: coalesced into one refetch (a preset range also moves to now).
  useEffect(() => {
    const p = pending.current;
    p.seen = 0;
    p.tries = 0;
    p.ids = new Set();
    const client = new LiveClient(
      filters,
      {
        rows: (rows, info) => {
          if (info.replay) return;
          let fresh = 0;
          for (const row of rows) {
            if (row.passed === null || p.ids.has(row.trace_id)) continue;
            const at = Date.parse(row.timestamp ?? row.received_at ?? '');
            if (range.preset === null && !(at >= range.from && at < range.to)) continue;
            p.ids.add(row.trace_id);
            fresh += 1;
          }
          if (fresh === 0) return;
          p.seen += fresh;
          p.tries = 0;
          if (p.timer === null)
            p.timer = setTimeout(() => {
              p.timer = null;
              setTick((t) => t + 1);
            }, COALESCE_MS);
        },
        state: setLiveState,
        signedOut: () => endedBy('Your session has ended. Sign in again to continue.'),
      },
      0,
    );
    return () => {
      client.close();
      if (p.timer !== null) clearTimeout(p.timer);
      p.timer = null;
    };
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

  function apply(event: FormEvent) {
    event.preventDefault();
    const next = new URLSearchParams();
    const explicit = (draft.from ?? '') !== '';
    for (const [k, v] of Object.entries(draft)) if (v !== '' && !(k === 'range' && explicit) && !((k === 'from' || k === 'to') && !explicit)) next.set(k, v);
    setParams(next);
  }

  const points = useMemo(() => (data.state === 'ok' ? filled(data.traces, range.from, range.to, bucket) : []), [data]); // eslint-disable-line react-hooks/exhaustive-deps
  const totals = useMemo(() => {
    const items = data.state === 'ok' ? data.traces.items : [];
    const sum = (f: (i: TracesSeries['items'][number]) => number) => items.reduce((n, i) => n + f(i), 0);
    const evaluated = sum((i) => i.evaluated);
    const failed = sum((i) => i.failed);
    return { traces: sum((i) => i.traces), evaluated, failed, rate: evaluated === 0 ? null : failed / evaluated };
  }, [data]);

  const field = (name: string, label: string) => <TextInput key={name} label={label} size="xs" w={150} value={draft[name] ?? ''} onChange={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })} />;

  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Title order={1} size="h2">
          Analytics
        </Title>
        <LiveBadge state={liveState} />
      </Group>
      <form onSubmit={apply} aria-label="Time range and filters">
        <Group align="end" gap="xs">
          <TimeRangeFields draft={draft} setDraft={setDraft} shown={range} fallback="24h" width={160} />
          {field('application', 'Application')}
          {field('environment', 'Environment')}
          {field('model_provider', 'Model provider')}
          {field('model_name', 'Model name')}
          <Button type="submit" size="xs">
            Apply
          </Button>
        </Group>
      </form>
      {range.error !== null && (
        <Alert color="yellow" role="status" data-testid="range-error">
          {range.error}
        </Alert>
      )}
      {data.state === 'loading' && <Text c="dimmed">Loading…</Text>}
      {data.state === 'unavailable' && (
        <Alert color="yellow" title="Analytics is unavailable" data-testid="analytics-unavailable">
          {data.message}
        </Alert>
      )}
      {data.state === 'error' && (
        <Alert color="red" title="Cannot load analytics" role="alert" data-testid="analytics-error">
          {data.message}
        </Alert>
      )}
      {data.state === 'ok' && (
        <>
          <div className="grid-totals" data-testid="totals">
            {[
              ['Traces', fmt(totals.traces)],
              ['Evaluated', fmt(totals.evaluated)],
              ['Failed', fmt(totals.failed)],
              ['Failure rate', totals.rate === null ? '—' : `${(totals.rate * 100).toFixed(1)}%`],
            ].map(([label, value]) => (
              <Paper withBorder p="xs" key={label} aria-label={`${label}: ${value}`} role="group">
                <Text size="xs" c="dimmed">
                  {label}
                </Text>
                <Text fw={700} size="lg" data-testid={`total-${label!.toLowerCase().replace(' ', '-')}`}>
                  {value}
                </Text>
              </Paper>
            ))}
          </div>
          <div className="grid-charts">
            <Panel title={`Traces per ${bucket}, by verdict`}>
              <BarChart
                h={220}
                data={points}
                dataKey="time"
                type="stacked"
                series={[
                  { name: 'passed', color: 'teal.7' },
                  { name: 'failed', color: 'red.7' },
                  { name: 'no verdict', color: 'gray.5' },
                ]}
                withLegend
              />
            </Panel>
            <Panel title="Failure rate (%)">
              <LineChart h={220} data={points} dataKey="time" series={[{ name: 'failure rate %', color: 'red.7' }]} curveType="linear" connectNulls yAxisProps={{ domain: [0, 100] }} />
            </Panel>
            <Panel title="Severity mix of evaluated traces">
              <BarChart h={220} data={points} dataKey="time" type="stacked" series={SEVERITIES.map((s) => ({ name: s, color: SEVERITY_COLORS[s]! }))} withLegend />
            </Panel>
            <Panel title="Top finding kinds (traces)" testId="finding-kinds">
              {data.kinds.items.length === 0 ? (
                <Text size="sm">No findings in this range.</Text>
              ) : (
                <BarChart h={220} data={data.kinds.items.map((k) => ({ kind: k.finding_kind, traces: k.traces }))} dataKey="kind" orientation="vertical" yAxisProps={{ width: 130 }} series={[{ name: 'traces', color: 'orange.7' }]} />
              )}
            </Panel>
          </div>
          <Panel title="Latency, tokens and cost by model" testId="models">
            {data.models.items.length === 0 ? (
              <Text size="sm">No traces in this range.</Text>
            ) : (
              <Stack gap="sm">
                <BarChart
                  h={200}
                  data={data.models.items.map((m) => ({ model: modelName(m.model), 'p50 ms': m.latency_ms.p50 ?? 0, 'p95 ms': m.latency_ms.p95 ?? 0 }))}
                  dataKey="model"
                  series={[{ name: 'p50 ms', color: 'blue.7' }, { name: 'p95 ms', color: 'indigo.9' }]}
                  withLegend
                />
                <div className="table-scroll" tabIndex={0} role="region" aria-label="Percentiles by model">
                  <Table>
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>Model</Table.Th>
                        <Table.Th>Traces</Table.Th>
                        <Table.Th>Latency p50 / p95 / p99</Table.Th>
                        <Table.Th>Input tokens p50 / p95</Table.Th>
                        <Table.Th>Output tokens p50 / p95</Table.Th>
                        <Table.Th>Cost p50 / p95 / total</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {data.models.items.map((m) => (
                        <Table.Tr key={modelName(m.model)}>
                          <Table.Td>{modelName(m.model)}</Table.Td>
                          <Table.Td>{fmt(m.traces)}</Table.Td>
                          <Table.Td>
                            {fmt(m.latency_ms.p50)} / {fmt(m.latency_ms.p95)} / {fmt(m.latency_ms.p99)} ms
                          </Table.Td>
                          <Table.Td>
                            {fmt(m.input_tokens.p50)} / {fmt(m.input_tokens.p95)}
                          </Table.Td>
                          <Table.Td>
                            {fmt(m.output_tokens.p50)} / {fmt(m.output_tokens.p95)}
                          </Table.Td>
                          <Table.Td>
                            {usd(m.cost_usd.p50)} / {usd(m.cost_usd.p95)} / {usd(m.cost_usd.total)}
                          </Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </div>
              </Stack>
            )}
          </Panel>
          <Text size="xs" c="dimmed" data-testid="updated-at">
            Updated {new Date(data.at).toLocaleTimeString()} · per {bucket} · from the facts store
          </Text>
        </>
      )}
    </Stack>
  );
}
