/** The console UI: routes, the session, and Mantine (its CSS from files only: no injected styles, for the CSP). */
import '@mantine/core/styles.css';
import './app.css';
import { Loader, MantineProvider, createTheme } from '@mantine/core';
import { lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import { Layout } from './components/Layout';
import { Centered } from './components/Centered';
import { Invite } from './pages/Invite';
import { LinkSignIn } from './pages/LinkSignIn';
import { NotFound } from './pages/NotFound';
import { SessionPage } from './pages/Session';
import { Sessions } from './pages/Sessions';
import { Settings } from './pages/Settings';
import { SignIn } from './pages/SignIn';
import { TraceDetailPage } from './pages/TraceDetail';
import { Traces } from './pages/Traces';
import { SessionProvider, useSession } from './session';

// The charts (recharts) are most of the console's weight: analytics and alerts load on first visit, not with the first page.
const Analytics = lazy(() => import('./pages/Analytics'));
const Alerts = lazy(() => import('./pages/Alerts'));
const pageLoading = <Loader aria-label="Loading the page" />;

const theme = createTheme({ primaryColor: 'blue', defaultRadius: 'sm', fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' });

function SignedIn() {
  const { session, loading } = useSession();
  const location = useLocation();
  if (loading) return <Centered title="Loading…" />;
  if (session === null) return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return (
    <Layout>
      <Routes>
        <Route path="/" element={<Navigate to="/traces" replace />} />
        <Route path="/traces" element={<Traces />} />
        <Route path="/traces/:id" element={<TraceDetailPage />} />
        <Route path="/sessions" element={<Sessions />} />
        <Route path="/sessions/:id" element={<SessionPage />} />
        <Route path="/analytics" element={<Suspense fallback={pageLoading}><Analytics /></Suspense>} />
        <Route path="/alerts" element={<Navigate to="/alerts/alerts" replace />} />
        <Route path="/alerts/:tab" element={<Suspense fallback={pageLoading}><Alerts /></Suspense>} />
        <Route path="/settings" element={<Navigate to="/settings/policy" replace />} />
        <Route path="/settings/:tab" element={<Settings />} />
        <Route path="*" element={<NotFound />} />
      </Routes>
    </Layout>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} withCssVariables={false} withGlobalClasses={false} forceColorScheme="light">
      <SessionProvider>
        <BrowserRouter>
          <Routes>
            <Route path="/sign-in" element={<SignIn />} />
            <Route path="/sign-in/link" element={<LinkSignIn />} />
            <Route path="/invite" element={<Invite />} />
            <Route path="*" element={<SignedIn />} />
          </Routes>
        </BrowserRouter>
      </SessionProvider>
    </MantineProvider>
  </StrictMode>,
);
