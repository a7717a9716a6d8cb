/**
 * Alerts (loaded on first visit): firing and resolved alerts, the deliveries of their notifications
 * with every attempt, silences (list, create with matchers and an expiry, expire) and the rules and
 * channels (read here; they are changed through the alerts API). One tab per view, in the URL.
 */
import { TabbedPage, type TabSpec } from '../components/TabbedPage';
import { AlertList } from './alerts/AlertList';
import { Deliveries } from './alerts/Deliveries';
import { Rules } from './alerts/Rules';
import { Silences } from './alerts/Silences';

const TABS = [
  ['alerts', 'Alerts', AlertList],
  ['deliveries', 'Deliveries', Deliveries],
  ['silences', 'Silences', Silences],
  ['rules', 'Rules & channels', Rules],
] as const satisfies readonly TabSpec[];

export default function Alerts() {
  return <TabbedPage title="Alerts" base="/alerts" tabs={TABS} />;
}
