/** The console UI: routes, the session, and Mantine (its CSS from files only: no injected styles, for the CSP). */
import '@mantine/core/styles.css';
import './app.css';
import { MantineProvider, createTheme } from '@mantine/core';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import { Layout } from './components/Layout';
import { Centered } from './components/Centered';
import { Invite } from './pages/Invite';
import { LinkSignIn } from './pages/LinkSignIn';
import { NotFound } from './pages/NotFound';
import { Pending } from './pages/Pending';
import { Settings } from './pages/Settings';
import { SignIn } from './pages/SignIn';
import { TraceDetailPage } from './pages/TraceDetail';
import { Traces } from './pages/Traces';
import { SessionProvider, useSession } from './session';

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
        <Route path="/sessions" element={<Pending title="Sessions" needs="a list of sessions, which the API does not offer yet (GET /v1/sessions/:id reads one session: open it from a trace, whose session links to its traces)" />} />
        <Route path="/analytics" element={<Pending title="Analytics" needs="charts over the analytics API (GET /v1/analytics/*), which the console does not draw yet" />} />
        <Route path="/alerts" element={<Pending title="Alerts" needs="its views of the alerts API (GET /v1/alerts, rules, channels), which the console does not draw yet" />} />
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
