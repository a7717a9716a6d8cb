import { Alert, Button, Code, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, del, get, post, put } from '../../api';
import { canAdmin, useSession } from '../../session';
import type { Invitation, Member, Role } from '../../types';

const ROLES: Array<{ value: Role; label: string }> = [
  { value: 'viewer', label: 'viewer (read)' },
  { value: 'member', label: 'member (read, ingest)' },
  { value: 'admin', label: 'admin (everything)' },
];

export function MembersTab() {
  const { session } = useSession();
  const admin = canAdmin(session);
  const [members, setMembers] = useState<Member[]>([]);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [link, setLink] = useState<{ link: string; email: string; delivery: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [issues, setIssues] = useState<Record<string, string>>({});

  const load = useCallback(async () => {
    try {
      setMembers((await get<{ members: Member[] }>('/v1/members')).members);
      if (admin) setInvitations((await get<{ invitations: Invitation[] }>('/v1/invitations')).invitations);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [admin]);
  useEffect(() => void load(), [load]);

  async function act(work: () => Promise<unknown>) {
    setError(null);
    try {
      await work();
      await load();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  async function invite(event: FormEvent) {
    event.preventDefault();
    setIssues({});
    try {
      const r = await post<{ link: string; delivery: { status: string; reason?: string } }>('/v1/invitations', { email, role });
      setLink({ link: r.link, email, delivery: r.delivery.reason ?? r.delivery.status });
      setEmail('');
      await load();
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) setIssues(Object.fromEntries(e.issues.map((i) => [i.path, i.message])));
      else setError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <Stack>
      {error !== null && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Scrollable table">
        <Table aria-label="Members">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Email</Table.Th>
              <Table.Th>Name</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>
                <span className="visually-hidden">Actions</span>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {members.map((m) => (
              <Table.Tr key={m.id}>
                <Table.Td>{m.email}</Table.Td>
                <Table.Td>{m.name || '—'}</Table.Td>
                <Table.Td>
                  {admin ? (
                    <Select aria-label={`Role of ${m.email}`} size="xs" w={200} data={ROLES} value={m.role} allowDeselect={false} onChange={(v) => v !== null && void act(() => put(`/v1/members/${m.id}`, { role: v }))} />
                  ) : (
                    m.role
                  )}
                </Table.Td>
                <Table.Td>
                  {admin && m.id !== session?.user.id && (
                    <Button size="xs" color="red" variant="subtle" onClick={() => void act(() => del(`/v1/members/${m.id}`))}>
                      Remove
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </div>
      {admin && (
        <>
          <Title order={2} size="h4">
            Invite someone
          </Title>
          <form onSubmit={invite} aria-label="Invite a member">
            <Group align="end">
              <TextInput label="Email" type="email" value={email} onChange={(e) => setEmail(e.currentTarget.value)} error={issues['$.email']} required />
              <Select label="Role" data={ROLES} value={role} onChange={(v) => v !== null && setRole(v as Role)} allowDeselect={false} />
              <Button type="submit">Create invitation</Button>
            </Group>
          </form>
          {link !== null && (
            <Alert color="teal" title={`Invitation for ${link.email}: this link is shown once`}>
              <Stack gap={4}>
                <Code block>{link.link}</Code>
                <Text size="xs">{link.delivery}</Text>
              </Stack>
            </Alert>
          )}
          {invitations.filter((i) => i.accepted_at === null && i.revoked_at === null && new Date(i.expires_at).getTime() > Date.now()).length > 0 && (
            <Table aria-label="Pending invitations">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Invited</Table.Th>
                  <Table.Th>Role</Table.Th>
                  <Table.Th>Expires</Table.Th>
                  <Table.Th>
                    <span className="visually-hidden">Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {invitations
                  .filter((i) => i.accepted_at === null && i.revoked_at === null && new Date(i.expires_at).getTime() > Date.now())
                  .map((i) => (
                    <Table.Tr key={i.id}>
                      <Table.Td>{i.email}</Table.Td>
                      <Table.Td>{i.role}</Table.Td>
                      <Table.Td>{new Date(i.expires_at).toLocaleDateString()}</Table.Td>
                      <Table.Td>
                        <Button size="xs" variant="subtle" color="red" onClick={() => void act(() => del(`/v1/invitations/${i.id}`))}>
                          Revoke
                        </Button>
                      </Table.Td>
                    </Table.Tr>
                  ))}
              </Table.Tbody>
            </Table>
          )}
        </>
      )}
    </Stack>
  );
}
