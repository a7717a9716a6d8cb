import { Alert, Button, Code, Stack, Table } from '@mantine/core';
import { useEffect, useState } from 'react';
import { get } from '../../api';
import { canAdmin, useSession } from '../../session';
import type { AuditEntry } from '../../types';

export function AuditTab() {
  const { session } = useSession();
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const admin = canAdmin(session);

  async function load(cursor: string | null) {
    try {
      const page = await get<{ entries: AuditEntry[]; next_cursor: string | null }>(`/v1/audit?limit=50${cursor === null ? '' : `&cursor=${cursor}`}`);
      setEntries((old) => (cursor === null ? page.entries : [...old, ...page.entries]));
      setNext(page.next_cursor);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }
  useEffect(() => {
    if (admin) void load(null);
  }, [admin]);

  if (!admin) return <Alert color="gray">The audit log is for admins; your role is {session?.role}.</Alert>;
  return (
    <Stack>
      {error !== null && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Scrollable table">
        <Table aria-label="Audit log">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Who</Table.Th>
              <Table.Th>Action</Table.Th>
              <Table.Th>Target</Table.Th>
              <Table.Th>Details</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {entries.map((e) => (
              <Table.Tr key={e.id}>
                <Table.Td>{new Date(e.at).toLocaleString()}</Table.Td>
                <Table.Td>
                  <Code>{e.actor}</Code>
                </Table.Td>
                <Table.Td>{e.action}</Table.Td>
                <Table.Td>{e.target}</Table.Td>
                <Table.Td>
                  <Code>{JSON.stringify(e.details)}</Code>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </div>
      {next !== null && (
        <Button variant="default" onClick={() => void load(next)}>
          Older entries
        </Button>
      )}
    </Stack>
  );
}
