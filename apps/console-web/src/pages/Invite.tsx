import { Alert, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { ApiError, get, post } from '../api';
import { Centered } from '../components/Centered';
import { useSession } from '../session';
import type { SessionView } from '../types';

interface InvitationView {
  email: string;
  organization: { id: string; name: string };
  role: string;
  expires_at: string;
  existing_user: boolean;
}

/** `/invite#token=…`: join an organization by invitation (a new account sets its password here). */
export function Invite() {
  const { signedIn } = useSession();
  const navigate = useNavigate();
  const [token] = useState(() => new URLSearchParams(location.hash.slice(1)).get('token'));
  const [invitation, setInvitation] = useState<InvitationView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (token === null) {
      setError('This link has no invitation token; open the whole link you were sent.');
      return;
    }
    get<InvitationView>(`/auth/invitations/${encodeURIComponent(token)}`).then(setInvitation, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [token]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setIssues({});
    try {
      signedIn(await post<SessionView>('/auth/invitations/accept', { token, password, ...(invitation?.existing_user ? {} : { name }) }));
      navigate('/traces', { replace: true });
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) setIssues(Object.fromEntries(e.issues.map((i) => [i.path, i.message])));
      else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Centered title={invitation === null ? 'Invitation' : `Join ${invitation.organization.name}`}>
      {error !== null && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      {invitation !== null && (
        <form onSubmit={submit} noValidate>
          <Stack>
            <Text size="sm">
              {invitation.email} is invited as <b>{invitation.role}</b>.
            </Text>
            {!invitation.existing_user && <TextInput label="Your name" value={name} onChange={(e) => setName(e.currentTarget.value)} autoComplete="name" />}
            <PasswordInput
              label={invitation.existing_user ? 'Your password' : 'Choose a password (10 characters or more)'}
              autoComplete={invitation.existing_user ? 'current-password' : 'new-password'}
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              error={issues['$.password']}
              required
            />
            <Button type="submit" loading={busy}>
              Join
            </Button>
          </Stack>
        </form>
      )}
    </Centered>
  );
}
