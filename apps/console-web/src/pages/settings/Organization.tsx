import { Alert, Button, Group, NumberInput, Stack, Text, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { ApiError, del, get, put } from '../../api';
import { canAdmin, useSession } from '../../session';
import type { Organization } from '../../types';

const LIMITS = [
  ['requests_per_second', 'Requests per second'],
  ['requests_burst', 'Requests burst'],
  ['traces_per_second', 'Traces per second'],
  ['traces_burst', 'Traces burst'],
] as const;

export function OrganizationTab() {
  const { session } = useSession();
  const admin = canAdmin(session);
  const [org, setOrg] = useState<Organization | null>(null);
  const [days, setDays] = useState<number | string>('');
  const [limits, setLimits] = useState<Record<string, number | string>>({});
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [issues, setIssues] = useState<Record<string, string>>({});

  const show = (o: Organization) => {
    setOrg(o);
    setDays(o.retention_days);
    setLimits(o.rate_limits ?? {});
  };
  useEffect(() => void get<Organization>('/v1/org').then(show, (e: unknown) => setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) })), []);

  async function act(work: () => Promise<Organization>, done: string) {
    setMessage(null);
    setIssues({});
    try {
      show(await work());
      setMessage({ ok: true, text: done });
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) setIssues(Object.fromEntries(e.issues.map((i) => [i.path, i.message])));
      setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  }

  const given = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== '' && v !== undefined).map(([k, v]) => [k, Number(v)]));
  return (
    <Stack maw={640}>
      {message !== null && (
        <Alert color={message.ok ? 'teal' : 'red'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </Alert>
      )}
      <Title order={2} size="h4">
        Retention
      </Title>
      <Text size="sm">Traces, verdicts, evaluations and facts older than this are deleted.</Text>
      <Group align="end">
        <NumberInput label="Days to keep" min={1} max={3650} value={days} onChange={setDays} disabled={!admin} error={issues['$.days']} />
        <Button disabled={!admin || org === null} onClick={() => void act(() => put<Organization>('/v1/org/retention', { days: Number(days) }), `Retention set to ${days} days.`)}>
          Save retention
        </Button>
      </Group>
      <Title order={2} size="h4">
        Rate limits
      </Title>
      <Text size="sm">{org?.rate_limits === null ? "This organization uses the deployment's defaults." : 'This organization has its own limits.'} Leave a field empty to keep the default for it.</Text>
      <Group align="end">
        {LIMITS.map(([key, label]) => (
          <NumberInput key={key} label={label} min={1} w={150} value={limits[key] ?? ''} onChange={(v) => setLimits({ ...limits, [key]: v })} disabled={!admin} error={issues[`$.${key}`]} />
        ))}
      </Group>
      <Group>
        <Button disabled={!admin} onClick={() => void act(() => put<Organization>('/v1/org/rate-limits', given), 'Rate limits saved.')}>
          Save rate limits
        </Button>
        <Button variant="default" disabled={!admin || org?.rate_limits === null} onClick={() => void act(() => del<Organization>('/v1/org/rate-limits'), 'Back to the defaults.')}>
          Use the defaults
        </Button>
      </Group>
    </Stack>
  );
}
