import { Alert, Anchor, Loader } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { post } from '../api';
import { Centered } from '../components/Centered';
import { useSession } from '../session';
import type { SessionView } from '../types';

/** `/sign-in/link#token=…`: the one-time link `npm start` prints; the token stays in the fragment (never sent in a URL). */
export function LinkSignIn() {
  const { signedIn } = useSession();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const used = useRef(false);
  useEffect(() => {
    if (used.current) return;
    used.current = true;
    const token = new URLSearchParams(location.hash.slice(1)).get('token');
    history.replaceState(null, '', location.pathname);
    if (token === null) {
      setError('This link has no token. Copy the whole link that the server printed.');
      return;
    }
    post<SessionView>('/auth/sign-in/link', { token }).then(
      (session) => {
        signedIn(session);
        navigate(session.user.has_password ? '/traces' : '/settings/account?welcome=1', { replace: true });
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [navigate, signedIn]);
  return (
    <Centered title="Signing you in">
      {error === null ? (
        <Loader aria-label="Signing in" />
      ) : (
        <>
          <Alert color="red" role="alert" title="This link does not work">
            {error}
          </Alert>
          <Anchor component={Link} to="/sign-in">
            Sign in with a password
          </Anchor>
        </>
      )}
    </Centered>
  );
}
