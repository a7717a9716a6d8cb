/**
 * Who is signed in: loaded from `GET /auth/session` once, kept in a context, refreshed after sign-in,
 * and cleared when any request finds the session ended (the router then shows the sign-in page).
 */
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, get, post, setCsrfToken, whenSignedOut } from './api';
import type { SessionView } from './types';

interface SessionContextValue {
  session: SessionView | null;
  loading: boolean;
  /** why the last session ended, for the sign-in page */
  ended: string | null;
  signedIn(session: SessionView): void;
  signOut(everywhere?: boolean): Promise<void>;
  endedBy(reason: string): void;
  /** the server says the session is over (a 401, the live channel closed with 4401); ignored while signing out */
  expired(): void;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionView | null>(null);
  const [loading, setLoading] = useState(true);
  const [ended, setEnded] = useState<string | null>(null);
  // While the user signs out, requests still in flight come back 401: that is the sign-out itself, not
  // a session that ended, and must not replace "You are signed out." with "Your session has ended".
  const signingOut = useRef(false);

  const signedIn = useCallback((s: SessionView) => {
    signingOut.current = false;
    setCsrfToken(s.csrf_token);
    setSession(s);
    setEnded(null);
  }, []);

  const endedBy = useCallback((reason: string) => {
    setCsrfToken(null);
    setSession(null);
    setEnded(reason);
  }, []);

  const expired = useCallback(() => {
    if (!signingOut.current) endedBy('Your session has ended. Sign in again to continue.');
  }, [endedBy]);

  useEffect(() => {
    whenSignedOut(expired);
    get<SessionView>('/auth/session')
      .then(signedIn, (error: unknown) => {
        if (!(error instanceof ApiError) || error.status !== 401) setEnded(error instanceof Error ? error.message : String(error));
      })
      .finally(() => setLoading(false));
  }, [signedIn, expired]);

  const signOut = useCallback(
    async (everywhere = false) => {
      signingOut.current = true;
      try {
        await post(everywhere ? '/auth/sign-out/everywhere' : '/auth/sign-out');
      } catch (error) {
        signingOut.current = false;
        throw error;
      }
      endedBy(everywhere ? 'You are signed out on every device.' : 'You are signed out.');
    },
    [endedBy],
  );

  return <SessionContext.Provider value={{ session, loading, ended, signedIn, signOut, endedBy, expired }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (value === null) throw new Error('useSession outside SessionProvider');
  return value;
}

export const canAdmin = (s: SessionView | null) => s?.scopes.includes('admin') === true;
