/**
 * A page of tabs whose current tab is in the URL (`/<base>/<tab>`): an unknown tab is the not-found
 * page, and switching tabs navigates, so each tab can be linked to and the back button works.
 * Settings and Alerts are built on it.
 */
import { Stack, Tabs, Title } from '@mantine/core';
import type { ComponentType } from 'react';
import { useNavigate, useParams } from 'react-router';
import { NotFound } from '../pages/NotFound';

export type TabSpec = readonly [id: string, label: string, Panel: ComponentType];

export function TabbedPage({ title, base, tabs }: { title: string; base: string; tabs: readonly TabSpec[] }) {
  const { tab = tabs[0]![0] } = useParams();
  const navigate = useNavigate();
  const current = tabs.find(([id]) => id === tab);
  if (current === undefined) return <NotFound />;
  const Panel = current[2];
  return (
    <Stack>
      <Title order={1} size="h2">
        {title}
      </Title>
      <Tabs value={tab} onChange={(value) => value !== null && navigate(`${base}/${value}`)} keepMounted={false}>
        <Tabs.List>
          {tabs.map(([id, label]) => (
            <Tabs.Tab key={id} value={id}>
              {label}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value={tab} pt="md">
          <Panel />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
