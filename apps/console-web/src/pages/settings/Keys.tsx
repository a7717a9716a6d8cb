import { Alert, Badge, Button, Checkbox, Code, CopyButton, Group, Modal, Stack, Table, Text, TextInput } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, del, get, post } from '../../api';
import { canAdmin, useSession } from '../../session';
import type { ApiKey } from '../../types';

const SCOPES = ['ingest', 'read', 'admin'] as const;

export function KeysTab() {
  const { session } = useSession();
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['ingest']);
  const [expires, setExpires] = useState('');
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [created, setCreated] = useState<(ApiKey & { key: string }) | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const load = useCallback(() => get<{ keys: ApiKey[] }>('/v1/keys').then((r) => setKeys(r.keys), (e: unknown) => setError(e instanceof Error ? e.message : String(e))), []);
  useEffect(() => void load(), [load]);

  if (!canAdmin(session)) return <Alert color="gray">API keys are managed by admins; your role is {session?.role}.</Alert>;

  async function create(event: FormEvent) {
    event.preventDefault();
    setIssues({});
    setError(null);
    try {
      const key = await post<ApiKey & { key: string }>('/v1/keys', { name, scopes, ...(expires === '' ? {} : { expires_at: new Date(expires).toISOString() }) });
      setCreated(key);
      setName('');
      await load();
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) setIssues(Object.fromEntries(e.issues.map((i) => [i.path.replace(/\[\d+\]$/, ''), i.message])));
      else setError(e instanceof Error ? e.message : String(e));
    }
  }

  async function revoke(key: ApiKey) {
    setRevoking(null);
    try {
      await del(`/v1/keys/${encodeURIComponent(key.id)}`);
      await load();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <Stack>
      {created !== null && (
        <Alert color="teal" title={`Key "${created.name}" created: copy it now, it is not shown again`} data-testid="new-key">
          <Group gap="xs" wrap="nowrap">
            <Code data-testid="new-key-value">{created.key}</Code>
            <CopyButton value={created.key}>{({ copied, copy }) => <Button size="xs" variant="light" onClick={copy}>{copied ? 'Copied' : 'Copy'}</Button>}</CopyButton>
          </Group>
        </Alert>
      )}
      <form onSubmit={create} aria-label="Create an API key">
        <Group align="end">
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} error={issues['$.name']} required />
          <Checkbox.Group label="Scopes" value={scopes} onChange={setScopes} error={issues['$.scopes']}>
            <Group gap="xs" mt={6}>
              {SCOPES.map((s) => (
                <Checkbox key={s} value={s} label={s} />
              ))}
            </Group>
          </Checkbox.Group>
          <TextInput label="Expires (optional)" type="datetime-local" value={expires} onChange={(e) => setExpires(e.currentTarget.value)} error={issues['$.expires_at']} />
          <Button type="submit">Create key</Button>
        </Group>
      </form>
      {error !== null && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Scrollable table">
        <Table aria-label="API keys">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Key</Table.Th>
              <Table.Th>Scopes</Table.Th>
              <Table.Th>Created</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>
                <span className="visually-hidden">Actions</span>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(keys ?? []).map((k) => {
              const expired = k.expires_at !== null && new Date(k.expires_at).getTime() <= Date.now();
              return (
                <Table.Tr key={k.id} data-key-name={k.name}>
                  <Table.Td>{k.name || <Text c="dimmed">unnamed</Text>}</Table.Td>
                  <Table.Td>
                    <Code>{k.prefix}…</Code>
                  </Table.Td>
                  <Table.Td>{k.scopes.join(', ')}</Table.Td>
                  <Table.Td>{new Date(k.created_at).toLocaleDateString()}</Table.Td>
                  <Table.Td>{k.revoked_at !== null ? <Badge color="gray">revoked</Badge> : expired ? <Badge color="orange">expired</Badge> : <Badge color="teal">active</Badge>}</Table.Td>
                  <Table.Td>
                    {k.revoked_at === null && (
                      <Button size="xs" color="red" variant="light" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name || k.prefix}`}>
                        Revoke
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </div>
      <Modal opened={revoking !== null} onClose={() => setRevoking(null)} title="Revoke this key?" lockScroll={false} closeButtonProps={{ 'aria-label': 'Close' }}>
        <Stack>
          <Text size="sm">Programs using “{revoking?.name || revoking?.prefix}” are refused from now on (within 2 seconds on every instance). This cannot be undone.</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRevoking(null)}>
              Cancel
            </Button>
            <Button color="red" onClick={() => revoking !== null && void revoke(revoking)}>
              Revoke key
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
