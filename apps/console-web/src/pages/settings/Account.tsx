import { Alert, Button, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { ApiError, post } from '../../api';
import { useSession } from '../../session';
import type { SessionView } from '../../types';

export function AccountTab() {
  const { session, signedIn, signOut } = useSession();
  const [params] = useSearchParams();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const hasPassword = session?.user.has_password === true;

  async function change(event: FormEvent) {
    event.preventDefault();
    setIssues({});
    setMessage(null);
    try {
      signedIn(await post<SessionView>('/auth/password', { new_password: next, ...(hasPassword ? { current_password: current } : {}) }));
      setCurrent('');
      setNext('');
      setMessage({ ok: true, text: 'Password saved. Every other session of yours was signed out.' });
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) setIssues(Object.fromEntries(e.issues.map((i) => [i.path, i.message])));
      else setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  }

  return (
    <Stack maw={480}>
      {params.get('welcome') !== null && !hasPassword && (
        <Alert color="blue" title="Welcome to Metronis">
          You came in with a one-time link as {session?.user.email}. Choose a password so that you can sign in again without one.
        </Alert>
      )}
      <Text size="sm">
        Signed in as {session?.user.email} ({session?.role} of {session?.organization.name}).
      </Text>
      <Title order={2} size="h4">
        {hasPassword ? 'Change password' : 'Choose a password'}
      </Title>
      <form onSubmit={change} aria-label="Password">
        <Stack>
          {hasPassword && <PasswordInput label="Current password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.currentTarget.value)} error={issues['$.current_password']} />}
          <PasswordInput label="New password (10 characters or more)" autoComplete="new-password" value={next} onChange={(e) => setNext(e.currentTarget.value)} error={issues['$.new_password']} />
          <Button type="submit">Save password</Button>
        </Stack>
      </form>
      {message !== null && (
        <Alert color={message.ok ? 'teal' : 'red'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </Alert>
      )}
      <Title order={2} size="h4">
        Sessions
      </Title>
      <Button variant="default" onClick={() => void signOut(true)}>
        Sign out everywhere
      </Button>
    </Stack>
  );
}
