import { Alert, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { ApiError, post } from '../api';
import { Centered } from '../components/Centered';
import { useSession } from '../session';
import type { SessionView } from '../types';

/** Only paths of this site, never another origin (an open redirect). */
export function safeNext(next: string | null): string {
  return next !== null && next.startsWith('/') && !next.startsWith('//') ? next : '/traces';
}

export function SignIn() {
  const { session, ended, signedIn } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get('next'));
  if (session !== null) return <Navigate to={next} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      signedIn(await post<SessionView>('/auth/sign-in', { email, password }));
      navigate(next, { replace: true });
    } catch (e) {
      setError(e instanceof ApiError && e.status === 429 ? `${e.message}${e.retryAfter !== null ? ` (in about ${Math.ceil(e.retryAfter / 60)} min)` : ''}` : e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Centered title="Sign in to Metronis">
      {ended !== null && (
        <Alert color="blue" role="status">
          {ended}
        </Alert>
      )}
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
          <PasswordInput label="Password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
          {error !== null && (
            <Alert color="red" role="alert" title="Cannot sign in">
              {error}
            </Alert>
          )}
          <Button type="submit" loading={busy}>
            Sign in
          </Button>
        </Stack>
      </form>
      <Text size="sm" c="dimmed">
        New here? An admin of your organization sends you an invitation link. Running Metronis yourself? <code>npm start</code> prints a one-time sign-in link.
      </Text>
    </Centered>
  );
}
