/**
 * Alerts (loaded on first visit): firing and resolved alerts, the deliveries of their notifications
 * with every attempt, silences (list, create with matchers and an expiry, expire) and the rules and
 * channels (read here; they are changed through the alerts API). One tab per view, in the URL.
 */
import { Stack, Tabs, Title } from '@mantine/core';
import { useNavigate, useParams } from 'react-router';
import { AlertList } from './alerts/AlertList';
import { Deliveries } from './alerts/Deliveries';
import { Rules } from './alerts/Rules';
import { Silences } from './alerts/Silences';
import { NotFound } from './NotFound';

const TABS = [
  ['alerts', 'Alerts', AlertList],
  ['deliveries', 'Deliveries', Deliveries],
  ['silences', 'Silences', Silences],
  ['rules', 'Rules & channels', Rules],
] as const;

export default function Alerts() {
  const { tab = 'alerts' } = useParams();
  const navigate = useNavigate();
  const current = TABS.find(([id]) => id === tab);
  if (current === undefined) return <NotFound />;
  const Panel = current[2];
  return (
    <Stack>
      <Title order={1} size="h2">
        Alerts
      </Title>
      <Tabs value={tab} onChange={(value) => value !== null && navigate(`/alerts/${value}`)} keepMounted={false}>
        <Tabs.List>
          {TABS.map(([id, label]) => (
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
