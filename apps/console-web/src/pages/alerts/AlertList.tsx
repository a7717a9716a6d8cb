/**
 * Alerts, newest first: firing or resolved (a filter), their labels, value, the traces that fired them,
 * and the notifications sent for each (from the latest 200 deliveries; each opens with its attempts).
 */
import { Alert, Anchor, Badge, Code, Group, SegmentedControl, Stack, Table, Text } from '@mantine/core';
import { Link, useSearchParams } from 'react-router';
import { LoadMore } from '../../components/LoadMore';
import { shortTime } from '../../timeRange';
import type { AlertInstance, Delivery } from '../../types';
import { useList } from './useList';

const STATUS_COLORS: Record<string, string> = { firing: 'red', resolved: 'teal' };

export function AlertList() {
  const [params, setParams] = useSearchParams();
  const status = params.get('status') ?? 'all';
  const { list, loadMore } = useList<AlertInstance>(`/v1/alerts?limit=50${status === 'all' ? '' : `&status=${encodeURIComponent(status)}`}`, 'alerts');
  const deliveries = useList<Delivery>('/v1/alerts/deliveries?limit=200', 'deliveries').list;
  const sentFor = (fingerprint: string) => (deliveries.state === 'ok' ? deliveries.items.filter((d) => d.alert_fingerprints.includes(fingerprint)) : []);
  return (
    <Stack gap="sm">
      <SegmentedControl
        aria-label="Which alerts"
        w="fit-content"
        value={status}
        onChange={(v) => setParams(v === 'all' ? {} : { status: v })}
        data={[
          { value: 'all', label: 'All' },
          { value: 'firing', label: 'Firing' },
          { value: 'resolved', label: 'Resolved' },
        ]}
      />
      {list.state === 'error' && (
        <Alert color="red" role="alert" title="Cannot list alerts" data-testid="alerts-error">
          {list.message}
        </Alert>
      )}
      {list.state === 'loading' && <Text c="dimmed">Loading…</Text>}
      {list.state === 'ok' && list.items.length === 0 && <Text c="dimmed">No {status === 'all' ? '' : `${status} `}alerts. Rules (see their tab) raise them from verdicts and evaluations.</Text>}
      {list.state === 'ok' && list.items.length > 0 && (
        <div className="table-scroll badges-whole" tabIndex={0} role="region" aria-label={`Alerts: ${list.items.length}`}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Status</Table.Th>
                <Table.Th>Rule</Table.Th>
                <Table.Th>Severity</Table.Th>
                <Table.Th>Started</Table.Th>
                <Table.Th>Resolved</Table.Th>
                <Table.Th>Seen</Table.Th>
                <Table.Th>Labels</Table.Th>
                <Table.Th>Traces</Table.Th>
                <Table.Th>Notified</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.items.map((a) => (
                <Table.Tr key={a.id} data-alert-id={a.id}>
                  <Table.Td>
                    <Badge color={STATUS_COLORS[a.status] ?? 'gray'} variant={a.status === 'firing' ? 'filled' : 'light'}>
                      {a.status}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    {a.labels.alertname ?? a.rule_id}
                    {a.value !== null && (
                      <Text size="xs" c="dimmed">
                        value {a.value.toFixed(3)}
                        {a.threshold !== null ? ` vs ${a.threshold}` : ''}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{a.severity}</Table.Td>
                  <Table.Td>{shortTime(a.starts_at)}</Table.Td>
                  <Table.Td>{a.resolved_at === null ? '—' : shortTime(a.resolved_at)}</Table.Td>
                  <Table.Td>{a.occurrences}×</Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {Object.entries(a.labels)
                        .filter(([k]) => k !== 'alertname')
                        .map(([k, v]) => (
                          <Code key={k}>
                            {k}={v}
                          </Code>
                        ))}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {a.trace_ids.slice(0, 3).map((id) => (
                        <Anchor key={id} component={Link} to={`/traces/${encodeURIComponent(id)}`} size="sm">
                          {id}
                        </Anchor>
                      ))}
                      {a.trace_ids.length > 3 && <Text size="xs">+{a.trace_ids.length - 3}</Text>}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Stack gap={2}>
                      {sentFor(a.fingerprint).map((d) => (
                        <Anchor key={d.id} component={Link} to={`/alerts/deliveries?delivery=${d.id}`} size="sm" data-delivery-link={d.id}>
                          {d.channel_id} · {d.kind} · {d.status} · {d.attempts.length} {d.attempts.length === 1 ? 'attempt' : 'attempts'}
                        </Anchor>
                      ))}
                      {deliveries.state === 'ok' && sentFor(a.fingerprint).length === 0 && <Text size="sm">—</Text>}
                    </Stack>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
      <LoadMore error={list.state === 'ok' ? list.moreError : null} hasMore={list.state === 'ok' && list.next !== null} onLoad={() => void loadMore()} />
    </Stack>
  );
}
