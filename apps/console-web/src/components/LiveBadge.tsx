import { Badge } from '@mantine/core';
import type { LiveState } from '../live';

const LABELS: Record<LiveState, string> = { live: 'live', 'signed-out': 'not signed in', connecting: 'connecting…', reconnecting: 'reconnecting…' };

/** Whether the page's live channel is pushing: announced to screen readers as it changes. */
export function LiveBadge({ state }: { state: LiveState }) {
  return (
    <Badge color={state === 'live' ? 'teal' : state === 'signed-out' ? 'gray' : 'yellow'} variant="dot" size="lg" role="status" aria-live="polite">
      {LABELS[state]}
    </Badge>
  );
}
