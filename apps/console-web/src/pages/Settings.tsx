/**
 * Settings: the policy editor (validation errors shown where they are), API keys, members and
 * invitations, retention and rate limits, the audit log, and the account. Changes need the admin role;
 * other roles see the settings read-only where they may read them at all.
 */
import { TabbedPage, type TabSpec } from '../components/TabbedPage';
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
] as const satisfies readonly TabSpec[];

export function Settings() {
  return <TabbedPage title="Settings" base="/settings" tabs={TABS} />;
}
