/**
 * One session: its traces in time order (oldest first, as the conversation went), each with its
 * verdict and a preview, paged with "Load more"; the traces and verdicts that arrive while the page is
 * open join it through the live channel. An id with no trace in this organization (another
 * organization's looks the same) is not found.
 */
import { Alert, Anchor, Badge, Group, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { get } from '../api';
import { LoadMore } from '../components/LoadMore';
import { VerdictBadge } from '../components/SeverityBadge';
import { LiveClient } from '../live';
import { useSession } from '../session';
import { shortTime } from '../timeRange';
import type { TraceSummary } from '../types';
import { NotFound } from './NotFound';

type Page = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ok'; items: TraceSummary[]; next: string | null };
const oldestFirst = (a: TraceSummary, b: TraceSummary) => (a.timestamp ?? a.received_at ?? '').localeCompare(b.timestamp ?? b.received_at ?? '') || a.trace_id.localeCompare(b.trace_id);

export function SessionPage() {
  const { id = '' } = useParams();
  const [page, setPage] = useState<Page>({ state: 'loading' });
  const [live, setLive] = useState<Map<string, TraceSummary>>(new Map());
  const [moreError, setMoreError] = useState<string | null>(null);
  const { endedBy } = useSession();
  const path = `/v1/sessions/${encodeURIComponent(id)}?limit=100`;

  useEffect(() => {
    setPage({ state: 'loading' });
    setLive(new Map());
    get<{ items: TraceSummary[]; next_cursor: string | null }>(path).then(
      (answer) => setPage({ state: 'ok', items: answer.items, next: answer.next_cursor }),
      (e: unknown) => setPage({ state: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
    const client = new LiveClient(
      { session_id: id },
      {
        rows: (rows) =>
          setLive((old) => {
            const next = new Map(old);
            for (const row of rows) if (row.session_id === id) next.set(row.trace_id, { ...(old.get(row.trace_id) ?? {}), ...row, preview: row.preview ?? old.get(row.trace_id)?.preview ?? null });
            return next;
          }),
        state: () => undefined,
        signedOut: () => endedBy('Your session has ended. Sign in again to continue.'),
      },
      60_000,
    );
    return () => client.close();
  }, [id]); // eslint-disable-line react-hooks/exhaustive-deps

  const rows = useMemo(() => {
    if (page.state !== 'ok') return [];
    const byId = new Map(page.items.map((t) => [t.trace_id, t]));
    // While more pages remain, a live row belongs after the last one loaded: it waits for "Load more".
    const last = page.next !== null ? page.items.at(-1) : undefined;
    for (const [traceId, row] of live) {
      if (last !== undefined && !byId.has(traceId) && oldestFirst(row, last) > 0) continue;
      byId.set(traceId, { ...(byId.get(traceId) ?? {}), ...row, preview: row.preview ?? byId.get(traceId)?.preview ?? null });
    }
    return [...byId.values()].sort(oldestFirst);
  }, [page, live]);

  async function loadMore() {
    if (page.state !== 'ok' || page.next === null) return;
    setMoreError(null);
    try {
      const answer = await get<{ items: TraceSummary[]; next_cursor: string | null }>(`${path}&cursor=${encodeURIComponent(page.next)}`);
      setPage({ state: 'ok', items: [...page.items, ...answer.items], next: answer.next_cursor });
    } catch (e) {
      setMoreError(e instanceof Error ? e.message : String(e));
    }
  }

  if (page.state === 'loading') return <Loader aria-label="Loading the session" />;
  if (page.state === 'error')
    return (
      <Alert color="red" role="alert" title="Cannot load this session">
        {page.message}
      </Alert>
    );
  if (rows.length === 0) return <NotFound what="session" />;
  const failed = rows.filter((r) => r.passed === false).length;
  const pending = rows.filter((r) => r.passed === null).length;

  return (
    <Stack gap="sm">
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h3">
          Session {id}
        </Title>
        <Group gap="xs">
          <Badge variant="light">{rows.length} traces{page.next !== null ? ' so far' : ''}</Badge>
          {failed > 0 && <Badge color="red">{failed} failed</Badge>}
          {pending > 0 && (
            <Badge color="gray" variant="outline">
              {pending} pending
            </Badge>
          )}
        </Group>
      </Group>
      <Text size="sm" c="dimmed">
        From {shortTime(rows[0]!.timestamp)} to {shortTime(rows.at(-1)!.timestamp)}.{' '}
        <Anchor component={Link} to={`/traces?session_id=${encodeURIComponent(id)}`} underline="always">
          Search within this session
        </Anchor>
      </Text>
      <div className="table-scroll fit-phone" tabIndex={0} role="region" aria-label={`Traces of the session: ${rows.length}`}>
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th className="only-wide-cell">#</Table.Th>
              <Table.Th>Time</Table.Th>
              <Table.Th>Verdict</Table.Th>
              <Table.Th>Input → output</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row, i) => (
              <Table.Tr key={row.trace_id} data-trace-id={row.trace_id}>
                <Table.Td className="only-wide-cell">{i + 1}</Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/traces/${encodeURIComponent(row.trace_id)}`} aria-label={`${shortTime(row.timestamp ?? row.received_at)}, trace ${row.trace_id}`}>
                    {shortTime(row.timestamp ?? row.received_at)}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <VerdictBadge passed={row.passed} severity={row.severity} />
                </Table.Td>
                <Table.Td className="session-preview">{row.preview === null ? row.trace_id : `${row.preview.input} → ${row.preview.output}`}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </div>
      <LoadMore error={moreError} hasMore={page.next !== null} onLoad={() => void loadMore()} />
    </Stack>
  );
}
