/**
 * Silences: the active and pending ones (and the expired, on request), a form that creates one from
 * matchers (label, operator, value; regular expressions in RE2 syntax, as Alertmanager's) and an
 * expiry (a duration or an end), each problem the API finds shown at its field; and expiring one now.
 * Creating and expiring need the admin role; other roles read.
 */
import { Alert, Badge, Button, Checkbox, Code, Group, Modal, Paper, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { ApiError, del, post } from '../../api';
import { canAdmin, useSession } from '../../session';
import { fromLocalInput, shortTime } from '../../timeRange';
import type { Matcher, Silence } from '../../types';
import { useList } from './useList';

const OPS = [
  { value: '=', label: '= equals' },
  { value: '!=', label: '!= differs' },
  { value: '=~', label: '=~ matches' },
  { value: '!~', label: '!~ does not match' },
];
const DURATIONS = [
  { value: '1h', label: '1 hour' },
  { value: '4h', label: '4 hours' },
  { value: '1d', label: '1 day' },
  { value: '7d', label: '7 days' },
  { value: 'until', label: 'Until a date…' },
];
const STATE_COLORS: Record<string, string> = { active: 'teal', pending: 'blue', expired: 'gray' };
const describe = (m: Matcher) => `${m.label}${m.op}${JSON.stringify(m.value)}`;

function CreateSilence({ created }: { created: () => void }) {
  const [matchers, setMatchers] = useState<Matcher[]>([{ label: 'alertname', op: '=', value: '' }]);
  const [duration, setDuration] = useState('1h');
  const [until, setUntil] = useState('');
  const [comment, setComment] = useState('');
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const set = (i: number, change: Partial<Matcher>) => setMatchers(matchers.map((m, j) => (j === i ? { ...m, ...change } : m)));

  async function submit(event: FormEvent) {
    event.preventDefault();
    setIssues({});
    setError(null);
    setBusy(true);
    try {
      await post('/v1/alerts/silences', { matchers, comment, ...(duration === 'until' ? { ends_at: fromLocalInput(until) || until } : { duration }) });
      setMatchers([{ label: 'alertname', op: '=', value: '' }]);
      setComment('');
      created();
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) {
        setIssues(Object.fromEntries(e.issues.map((i) => [i.path, i.message])));
        setError('The silence was not created: see the fields marked below.');
      } else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Paper withBorder p="md" component="form" onSubmit={submit} aria-label="New silence">
      <Stack gap="xs">
        <Title order={2} size="h5">
          New silence
        </Title>
        <Text size="sm" c="dimmed">
          Alerts whose labels match every matcher are not notified while the silence lasts (they still show here).
        </Text>
        {matchers.map((m, i) => (
          <Group key={i} align="end" gap="xs" wrap="wrap">
            <TextInput label={`Matcher ${i + 1} label`} size="xs" value={m.label} onChange={(e) => set(i, { label: e.currentTarget.value })} error={issues[`$.matchers[${i}].label`]} />
            <Select label={`Matcher ${i + 1} operator`} size="xs" w={170} data={OPS} value={m.op} allowDeselect={false} onChange={(v) => set(i, { op: (v ?? '=') as Matcher['op'] })} />
            <TextInput label={`Matcher ${i + 1} value`} size="xs" value={m.value} onChange={(e) => set(i, { value: e.currentTarget.value })} error={issues[`$.matchers[${i}].value`]} />
            {matchers.length > 1 && (
              <Button size="xs" variant="subtle" color="red" onClick={() => setMatchers(matchers.filter((_, j) => j !== i))} aria-label={`Remove matcher ${i + 1}`}>
                Remove
              </Button>
            )}
          </Group>
        ))}
        {issues['$.matchers'] !== undefined && (
          <Text size="sm" c="red">
            {issues['$.matchers']}
          </Text>
        )}
        <Group gap="xs" align="end">
          <Button size="xs" variant="default" onClick={() => setMatchers([...matchers, { label: '', op: '=', value: '' }])} disabled={matchers.length >= 20}>
            Add matcher
          </Button>
          <Select label="Lasts" size="xs" w={150} data={DURATIONS} value={duration} allowDeselect={false} onChange={(v) => setDuration(v ?? '1h')} error={issues['$.duration']} />
          {duration === 'until' && <TextInput label="Ends at" type="datetime-local" size="xs" value={until} onChange={(e) => setUntil(e.currentTarget.value)} error={issues['$.ends_at']} />}
          <TextInput label="Comment" size="xs" w={260} value={comment} onChange={(e) => setComment(e.currentTarget.value)} error={issues['$.comment']} />
          <Button type="submit" size="xs" loading={busy}>
            Create silence
          </Button>
        </Group>
        {duration !== 'until' && issues['$.ends_at'] !== undefined && (
          <Text size="sm" c="red">
            {issues['$.ends_at']}
          </Text>
        )}
        {error !== null && (
          <Alert color="red" role="alert" data-testid="silence-error">
            {error}
          </Alert>
        )}
      </Stack>
    </Paper>
  );
}

export function Silences() {
  const { session } = useSession();
  const [expired, setExpired] = useState(false);
  const { list, reload } = useList<Silence>(`/v1/alerts/silences${expired ? '?include_expired=true' : ''}`, 'silences');
  const [expiring, setExpiring] = useState<Silence | null>(null);
  const [expireError, setExpireError] = useState<string | null>(null);
  const admin = canAdmin(session);

  async function expire() {
    if (expiring === null) return;
    setExpireError(null);
    try {
      await del(`/v1/alerts/silences/${encodeURIComponent(expiring.id)}`);
      setExpiring(null);
      reload();
    } catch (e) {
      setExpireError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <Stack gap="sm">
      {admin ? <CreateSilence created={reload} /> : <Alert color="gray">Silences are created and expired by admins; your role is {session?.role}.</Alert>}
      <Checkbox label="Show expired silences" checked={expired} onChange={(e) => setExpired(e.currentTarget.checked)} />
      {list.state === 'error' && (
        <Alert color="red" role="alert" title="Cannot list silences">
          {list.message}
        </Alert>
      )}
      {list.state === 'ok' && list.items.length === 0 && <Text c="dimmed">No {expired ? '' : 'active or pending '}silences.</Text>}
      {list.state === 'ok' && list.items.length > 0 && (
        <div className="table-scroll badges-whole" tabIndex={0} role="region" aria-label={`Silences: ${list.items.length}`}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>State</Table.Th>
                <Table.Th>Matchers</Table.Th>
                <Table.Th>Starts</Table.Th>
                <Table.Th>Ends</Table.Th>
                <Table.Th>Comment</Table.Th>
                <Table.Th>By</Table.Th>
                {admin && <Table.Th>Action</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.items.map((s) => (
                <Table.Tr key={s.id} data-silence-id={s.id}>
                  <Table.Td>
                    <Badge color={STATE_COLORS[s.state] ?? 'gray'} variant="light">
                      {s.state}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {s.matchers.map((m, i) => (
                        <Code key={i}>{describe(m)}</Code>
                      ))}
                    </Group>
                  </Table.Td>
                  <Table.Td>{shortTime(s.starts_at)}</Table.Td>
                  <Table.Td>{shortTime(s.ends_at)}</Table.Td>
                  <Table.Td>{s.comment || '—'}</Table.Td>
                  <Table.Td>{s.created_by}</Table.Td>
                  {admin && (
                    <Table.Td>
                      {s.state !== 'expired' && (
                        <Button size="compact-xs" variant="light" color="red" onClick={() => setExpiring(s)} aria-label={`Expire silence ${s.matchers.map(describe).join(' ')}`}>
                          Expire
                        </Button>
                      )}
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
      <Modal opened={expiring !== null} onClose={() => setExpiring(null)} title="Expire this silence now?" lockScroll={false} closeButtonProps={{ 'aria-label': 'Close' }}>
        <Stack>
          <Text size="sm">Alerts it matches are notified again from now on.</Text>
          {expireError !== null && (
            <Alert color="red" role="alert">
              {expireError}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setExpiring(null)}>
              Keep it
            </Button>
            <Button color="red" onClick={() => void expire()}>
              Expire silence
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
