import { Alert, Button, Group, List, Loader, Stack, Text, Textarea } from '@mantine/core';
import { useEffect, useState } from 'react';
import { ApiError, api, get, type Issue } from '../../api';
import { canAdmin, useSession } from '../../session';

interface PolicyView {
  policy: unknown;
  version: number;
  updated_at: string | null;
}

/** The line of the text where a JSON path's last key is written (1-based), when it can be found. */
export function lineOf(text: string, path: string): number | null {
  const keys = path.replace(/\[\d+\]/g, '').split('.').slice(1);
  let from = 0;
  for (const key of keys) {
    const at = text.indexOf(`"${key}"`, from);
    if (at < 0) return null;
    from = at;
  }
  return keys.length === 0 ? null : text.slice(0, from).split('\n').length;
}

export function PolicyTab() {
  const { session } = useSession();
  const admin = canAdmin(session);
  const [view, setView] = useState<PolicyView | null>(null);
  const [text, setText] = useState('');
  const [issues, setIssues] = useState<Issue[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    get<PolicyView>('/v1/policy').then(
      (v) => {
        setView(v);
        setText(JSON.stringify(v.policy, null, 2));
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, []);

  async function save() {
    setBusy(true);
    setIssues([]);
    setError(null);
    setSaved(null);
    try {
      const v = await api<PolicyView>('PUT', '/v1/policy', text);
      setView(v);
      setText(JSON.stringify(v.policy, null, 2));
      setSaved(`Saved as version ${v.version}. The tiers apply it within seconds.`);
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) setIssues(e.issues);
      else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  if (view === null && error === null) return <Loader aria-label="Loading the policy" />;
  const describedBy = issues.length > 0 ? 'policy-issues' : undefined;
  return (
    <Stack className="policy-editor">
      <Text size="sm">
        The evaluation policy of this organization as JSON: version {view?.version ?? '—'}
        {view?.updated_at ? `, saved ${new Date(view.updated_at).toLocaleString()}` : ' (the defaults: never saved)'}. Values left out keep their defaults.
      </Text>
      {!admin && (
        <Alert color="gray" role="status">
          Your role ({session?.role}) can read the policy; an admin can change it.
        </Alert>
      )}
      <Textarea
        label="Policy (JSON)"
        value={text}
        onChange={(e) => {
          setText(e.currentTarget.value);
          setSaved(null);
        }}
        autosize
        minRows={12}
        maxRows={30}
        readOnly={!admin}
        spellCheck={false}
        error={issues.length > 0 ? `${issues.length} problem${issues.length === 1 ? '' : 's'}: see below` : undefined}
        aria-describedby={describedBy}
      />
      {issues.length > 0 && (
        <Alert color="red" title="The policy is not valid; nothing was saved" id="policy-issues" role="alert" data-testid="policy-issues">
          <List size="sm">
            {issues.map((issue) => {
              const line = lineOf(text, issue.path);
              return (
                <List.Item key={issue.path + issue.message}>
                  {line !== null && <b>line {line} · </b>}
                  <code>{issue.path}</code>: {issue.message}
                </List.Item>
              );
            })}
          </List>
        </Alert>
      )}
      {error !== null && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      {saved !== null && (
        <Alert color="teal" role="status">
          {saved}
        </Alert>
      )}
      <Group>
        <Button onClick={() => void save()} loading={busy} disabled={!admin}>
          Save policy
        </Button>
      </Group>
    </Stack>
  );
}
