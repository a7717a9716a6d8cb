/**
 * The notifications sent for alerts, newest first, each with every attempt: when, what the far end
 * answered, how long it took. `?delivery=<id>` (the alerts tab links so) opens that one's attempts.
 */
import { Alert, Badge, Button, Code, Stack, Table, Text } from '@mantine/core';
import { Fragment, useState } from 'react';
import { useSearchParams } from 'react-router';
import { LoadMore } from '../../components/LoadMore';
import { shortTime } from '../../timeRange';
import type { Delivery } from '../../types';
import { useList } from './useList';

const COLORS: Record<string, string> = { delivered: 'teal', failed: 'red', abandoned: 'red', retrying: 'orange', pending: 'gray', sending: 'blue' };

export function Deliveries() {
  const { list, loadMore } = useList<Delivery>('/v1/alerts/deliveries?limit=50', 'deliveries');
  const [params] = useSearchParams();
  const [open, setOpen] = useState<Set<number>>(() => new Set(params.has('delivery') ? [Number(params.get('delivery'))] : []));
  const toggle = (id: number) => setOpen((o) => (o.has(id) ? new Set([...o].filter((x) => x !== id)) : new Set([...o, id])));
  return (
    <Stack gap="sm">
      {list.state === 'error' && (
        <Alert color="red" role="alert" title="Cannot list deliveries">
          {list.message}
        </Alert>
      )}
      {list.state === 'loading' && <Text c="dimmed">Loading…</Text>}
      {list.state === 'ok' && list.items.length === 0 && <Text c="dimmed">Nothing was sent yet: deliveries appear when a rule with channels fires.</Text>}
      {list.state === 'ok' && list.items.length > 0 && (
        <div className="table-scroll badges-whole" tabIndex={0} role="region" aria-label={`Deliveries: ${list.items.length}`}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Created</Table.Th>
                <Table.Th>Channel</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Attempts</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.items.map((d) => (
                <Fragment key={d.id}>
                  <Table.Tr data-delivery-id={d.id}>
                    <Table.Td>{shortTime(d.created_at)}</Table.Td>
                    <Table.Td>
                      {d.channel_id} <Text span size="xs" c="dimmed">({d.channel_type})</Text>
                    </Table.Td>
                    <Table.Td>
                      {d.kind}
                      {d.status_summary !== null ? ` · ${d.status_summary}` : ''}
                    </Table.Td>
                    <Table.Td>
                      <Badge color={COLORS[d.status] ?? 'gray'} variant="light">
                        {d.status}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Button size="compact-xs" variant="subtle" onClick={() => toggle(d.id)} aria-expanded={open.has(d.id)} aria-label={`${open.has(d.id) ? 'Hide' : 'Show'} the ${d.attempts.length} attempts of delivery ${d.id}`}>
                        {d.attempts.length} {open.has(d.id) ? '▲' : '▼'}
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                  {open.has(d.id) && (
                    <Table.Tr>
                      <Table.Td colSpan={5}>
                        {d.attempts.length === 0 ? (
                          <Text size="sm">No attempt yet{d.last_error !== null ? `: ${d.last_error}` : ''}.</Text>
                        ) : (
                          <Table withTableBorder aria-label={`Attempts of delivery ${d.id}`}>
                            <Table.Thead>
                              <Table.Tr>
                                <Table.Th>#</Table.Th>
                                <Table.Th>At</Table.Th>
                                <Table.Th>Outcome</Table.Th>
                                <Table.Th>HTTP</Table.Th>
                                <Table.Th>Latency</Table.Th>
                                <Table.Th>Answer or error</Table.Th>
                              </Table.Tr>
                            </Table.Thead>
                            <Table.Tbody>
                              {d.attempts.map((a) => (
                                <Table.Tr key={a.attempt}>
                                  <Table.Td>{a.attempt}</Table.Td>
                                  <Table.Td>{shortTime(a.at)}</Table.Td>
                                  <Table.Td>{a.outcome}</Table.Td>
                                  <Table.Td>{a.status_code ?? '—'}</Table.Td>
                                  <Table.Td>{a.latency_ms} ms</Table.Td>
                                  <Table.Td>
                                    <Code>{(a.error ?? a.response ?? '').slice(0, 200) || '—'}</Code>
                                  </Table.Td>
                                </Table.Tr>
                              ))}
                            </Table.Tbody>
                          </Table>
                        )}
                      </Table.Td>
                    </Table.Tr>
                  )}
                </Fragment>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
      <LoadMore error={list.state === 'ok' ? list.moreError : null} hasMore={list.state === 'ok' && list.next !== null} onLoad={() => void loadMore()} />
    </Stack>
  );
}
