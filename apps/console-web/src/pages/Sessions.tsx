/**
 * The sessions page: the organization's sessions (traces sent with a session_id), the most recently
 * active first, with how many traces each holds, how many failed or wait for a verdict, and the worst
 * severity; a time range and filters kept in the URL; keyset paging with "Load more". A session opens
 * its own page. The list reads GET /v1/sessions; a filter the API refuses shows its message.
 */
import { Alert, Anchor, Badge, Button, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { get } from '../api';
import { LoadMore } from '../components/LoadMore';
import { SeverityBadge } from '../components/SeverityBadge';
import { TimeRangeFields } from '../components/TimeRangeFields';
import { rangeOf, shortTime } from '../timeRange';
import type { SessionSummary } from '../types';

const FIELDS = ['range', 'from', 'to', 'application', 'environment', 'user_id', 'failed'] as const;
type Page = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ok'; items: SessionSummary[]; next: string | null };

export function Sessions() {
  const [params, setParams] = useSearchParams();
  const key = params.toString();
  const range = useMemo(() => rangeOf(params, '7d'), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [page, setPage] = useState<Page>({ state: 'loading' });
  const [moreError, setMoreError] = useState<string | null>(null);

  useEffect(() => {
    const d: Record<string, string> = {};
    for (const name of FIELDS) d[name] = params.get(name) ?? '';
    if (d.range === '' && d.from === '') d.range = '7d';
    setDraft(d);
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

  const query = useMemo(() => {
    const q = new URLSearchParams({ from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), limit: '50' });
    for (const name of ['application', 'environment', 'user_id', 'failed']) {
      const v = params.get(name);
      if (v !== null && v !== '') q.set(name, v);
    }
    return q;
  }, [range, key]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    setPage({ state: 'loading' });
    setMoreError(null);
    get<{ items: SessionSummary[]; next_cursor: string | null }>(`/v1/sessions?${query}`).then(
      (answer) => setPage({ state: 'ok', items: answer.items, next: answer.next_cursor }),
      (e: unknown) => setPage({ state: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  }, [query]);

  async function loadMore() {
    if (page.state !== 'ok' || page.next === null) return;
    setMoreError(null);
    try {
      const answer = await get<{ items: SessionSummary[]; next_cursor: string | null }>(`/v1/sessions?${query}&cursor=${encodeURIComponent(page.next)}`);
      setPage({ state: 'ok', items: [...page.items, ...answer.items], next: answer.next_cursor });
    } catch (e) {
      setMoreError(e instanceof Error ? e.message : String(e));
    }
  }

  function apply(event: FormEvent) {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(draft)) if (v !== '' && !(k === 'range' && (draft.from ?? '') !== '')) next.set(k, v);
    setParams(next);
  }

  const field = (name: string, label: string) => <TextInput label={label} size="xs" value={draft[name] ?? ''} onChange={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })} />;

  return (
    <Stack gap="sm">
      <Title order={1} size="h2">
        Sessions
      </Title>
      <form onSubmit={apply} aria-label="Filter sessions">
        <Group align="end" gap="xs">
          <TimeRangeFields draft={draft} setDraft={setDraft} shown={range} fallback="7d" width={150} />
          {field('application', 'Application')}
          {field('environment', 'Environment')}
          {field('user_id', 'User id')}
          <Select
            label="Failures"
            size="xs"
            w={160}
            clearable
            data={[
              { value: 'true', label: 'with a failure' },
              { value: 'false', label: 'without failures' },
            ]}
            value={draft.failed || null}
            onChange={(v) => setDraft({ ...draft, failed: v ?? '' })}
          />
          <Button type="submit" size="xs">
            Apply
          </Button>
        </Group>
      </form>
      {range.error !== null && (
        <Alert color="yellow" role="status">
          {range.error}
        </Alert>
      )}
      {page.state === 'error' && (
        <Alert color="red" title="Cannot list sessions" role="alert" data-testid="sessions-error">
          {page.message}
        </Alert>
      )}
      {page.state === 'loading' && <Text c="dimmed">Loading…</Text>}
      {page.state === 'ok' && page.items.length === 0 && (
        <Text c="dimmed" data-testid="sessions-empty">
          No session in this range. Traces sent with a session_id make one.
        </Text>
      )}
      {page.state === 'ok' && page.items.length > 0 && (
        <div className="table-scroll" tabIndex={0} role="region" aria-label={`Sessions: ${page.items.length}`}>
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Session</Table.Th>
                <Table.Th>Last trace</Table.Th>
                <Table.Th>Traces</Table.Th>
                <Table.Th>Failed</Table.Th>
                <Table.Th>Worst</Table.Th>
                <Table.Th className="only-wide-cell">Applications</Table.Th>
                <Table.Th className="only-wide-cell">Users</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((s) => (
                <Table.Tr key={s.session_id} data-session-id={s.session_id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/sessions/${encodeURIComponent(s.session_id)}`}>
                      {s.session_id}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{shortTime(s.last_at)}</Table.Td>
                  <Table.Td>
                    {s.traces}
                    {s.pending > 0 && (
                      <Text span size="xs" c="dimmed">
                        {' '}
                        ({s.pending} pending)
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{s.failed > 0 ? <Badge color="red">{s.failed} failed</Badge> : '0'}</Table.Td>
                  <Table.Td>{s.worst_severity === null ? '—' : <SeverityBadge severity={s.worst_severity} />}</Table.Td>
                  <Table.Td className="only-wide-cell">{s.applications.join(', ') || '—'}</Table.Td>
                  <Table.Td className="only-wide-cell">{s.user_ids.join(', ') || '—'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
      <LoadMore error={moreError} hasMore={page.state === 'ok' && page.next !== null} onLoad={() => void loadMore()} />
    </Stack>
  );
}
