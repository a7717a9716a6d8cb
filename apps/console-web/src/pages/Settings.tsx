/**
 * Settings: the policy editor (validation errors shown where they are), API keys, members and
 * invitations, retention and rate limits, the audit log, and the account. Changes need the admin role;
 * other roles see the settings read-only where they may read them at all.
 */
import { Tabs, Title, Stack } from '@mantine/core';
import { useNavigate, useParams } from 'react-router';
import { NotFound } from './NotFound';
import { AccountTab } from './settings/Account';
import { AuditTab } from './settings/Audit';
import { KeysTab } from './settings/Keys';
import { MembersTab } from './settings/Members';
import { OrganizationTab } from './settings/Organization';
import { PolicyTab } from './settings/Policy';

const TABS = [
  ['policy', 'Policy', PolicyTab],
  ['keys', 'API keys', KeysTab],
  ['members', 'Members', MembersTab],
  ['organization', 'Retention & limits', OrganizationTab],
  ['audit', 'Audit log', AuditTab],
  ['account', 'Account', AccountTab],
] as const;

export function Settings() {
  const { tab = 'policy' } = useParams();
  const navigate = useNavigate();
  const current = TABS.find(([id]) => id === tab);
  if (current === undefined) return <NotFound />;
  const Panel = current[2];
  return (
    <Stack>
      <Title order={1} size="h2">
        Settings
      </Title>
      <Tabs value={tab} onChange={(value) => value !== null && navigate(`/settings/${value}`)} keepMounted={false}>
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
