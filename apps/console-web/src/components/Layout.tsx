/**
 * The frame of every signed-in page: the header (organization, who, sign out) and the navigation.
 * Laid out by app.css, not Mantine's AppShell, which sets its sizes through an inline <style> that the
 * console's CSP refuses.
 */
import { Badge, Burger, Button, Group, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { Link, useLocation } from 'react-router';
import { useSession } from '../session';

const NAV = [
  { to: '/traces', label: 'Traces' },
  { to: '/sessions', label: 'Sessions' },
  { to: '/analytics', label: 'Analytics' },
  { to: '/alerts', label: 'Alerts' },
  { to: '/settings/policy', label: 'Settings' },
];

export function Layout({ children }: { children: ReactNode }) {
  const [opened, { toggle, close }] = useDisclosure(false);
  const { session, signOut } = useSession();
  const location = useLocation();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="shell-header">
        <Group gap="sm" wrap="nowrap">
          <Burger className="only-narrow" opened={opened} onClick={toggle} size="sm" aria-label="Toggle navigation" aria-expanded={opened} aria-controls="main-nav" />
          <Title order={2} size="h4">
            Metronis
          </Title>
          <Text size="sm" c="dimmed" className="only-wide">
            {session?.organization.name}
          </Text>
        </Group>
        <Group gap="sm" wrap="nowrap">
          <Text size="sm" className="only-wide">
            {session?.user.email}
          </Text>
          <Badge variant="outline" aria-label={`role: ${session?.role}`}>
            {session?.role}
          </Badge>
          <Button size="xs" variant="default" onClick={() => void signOut()}>
            Sign out
          </Button>
        </Group>
      </header>
      <nav id="main-nav" className="shell-nav" data-open={opened} aria-label="Main">
        {NAV.map((item) => (
          <NavLink key={item.to} component={Link} to={item.to} label={item.label} active={location.pathname.startsWith(item.to.split('/').slice(0, 2).join('/'))} onClick={close} />
        ))}
      </nav>
      <main id="main" className="shell-main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
