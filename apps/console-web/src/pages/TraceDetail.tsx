/**
 * One trace: its input and output with every finding highlighted at its character offsets, each
 * module's result, the verdict, the tiers that ran and their latency, model, usage and cost, and
 * metadata; its session links to the session's page (its traces in order). The page listens on the
 * live channel for this trace, so its verdict appears when it arrives. Another organization's id is
 * simply not found.
 */
import { Alert, Badge, Code, Group, Loader, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError, get } from '../api';
import { Highlighted, type PlacedFinding } from '../components/Highlighted';
import { SeverityBadge, VerdictBadge } from '../components/SeverityBadge';
import { LiveClient } from '../live';
import type { TraceDetail } from '../types';
import { NotFound } from './NotFound';

const ms = (us: number) => `${(us / 1000).toFixed(us < 10_000 ? 2 : 0)} ms`;

function Section({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" aria-label={title}>
      <Title order={2} size="h4" mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

function KeyValues({ rows }: { rows: Array<[string, React.ReactNode]> }) {
  return (
    <Table>
      <Table.Tbody>
        {rows.map(([k, v]) => (
          <Table.Tr key={k}>
            <Table.Th w={200} scope="row">
              {k}
            </Table.Th>
            <Table.Td>{v ?? '—'}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function TraceDetailPage() {
  const { id = '' } = useParams();
  const [detail, setDetail] = useState<TraceDetail | null>(null);
  const [state, setState] = useState<'loading' | 'ok' | 'missing' | 'error'>('loading');
  const [error, setError] = useState('');

  // The live channel can announce a trace or its verdict before the store that GET reads has it: until
  // the page has what the channel announced, it asks again (up to 20 times, a little later each time).
  const announced = useRef<'nothing' | 'trace' | 'verdict'>('nothing');
  const retry = useRef<{ attempts: number; timer: ReturnType<typeof setTimeout> | null }>({ attempts: 0, timer: null });

  const load = useCallback(() => {
    const again = () => {
      if (retry.current.attempts >= 20) return;
      retry.current.attempts += 1;
      if (retry.current.timer !== null) clearTimeout(retry.current.timer);
      retry.current.timer = setTimeout(load, 250 * Math.min(retry.current.attempts, 8));
    };
    get<TraceDetail>(`/v1/traces/${encodeURIComponent(id)}`).then(
      (d) => {
        setDetail(d);
        setState('ok');
        if (announced.current === 'verdict' && d.verdict === null) again();
      },
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 404) {
          setState('missing');
          if (announced.current !== 'nothing') again();
        } else {
          setError(e instanceof Error ? e.message : String(e));
          setState('error');
        }
      },
    );
  }, [id]);

  useEffect(() => {
    setState('loading');
    announced.current = 'nothing';
    retry.current.attempts = 0;
    load();
    // The live channel tells us when this trace (or its verdict) arrives.
    const live = new LiveClient(
      { q: id },
      {
        rows: (rows) => {
          const mine = rows.filter((r) => r.trace_id === id);
          if (mine.length === 0) return;
          announced.current = announced.current === 'verdict' || mine.some((r) => r.passed !== null) ? 'verdict' : 'trace';
          retry.current.attempts = 0;
          load();
        },
        state: () => undefined,
      },
      60_000,
    );
    return () => {
      live.close();
      if (retry.current.timer !== null) clearTimeout(retry.current.timer);
    };
  }, [id, load]);

  const findings = useMemo(() => {
    const out: PlacedFinding[] = [];
    for (const tier of detail?.evaluations ?? []) for (const m of tier.modules) for (const f of m.findings) out.push({ ...f, module: m.module, severity: m.severity });
    return out;
  }, [detail]);

  if (state === 'loading') return <Loader aria-label="Loading the trace" />;
  if (state === 'missing') return <NotFound what="trace" />;
  if (state === 'error' || detail === null)
    return (
      <Alert color="red" role="alert" title="Cannot load this trace">
        {error}
      </Alert>
    );

  const { trace, verdict, evaluations } = detail;
  const inputFindings = findings.filter((f) => f.field === 'input');
  const outputFindings = findings.filter((f) => f.field === 'output');
  // The modules read chat input as the messages' contents joined by blank lines: offsets count in that text.
  let at = 0;
  const messages =
    typeof trace.input === 'string'
      ? null
      : trace.input.messages.map((m) => {
          const placed = { ...m, offset: at };
          at += m.content.length + 2;
          return placed;
        });

  return (
    <Stack gap="md">
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h3">
          Trace <Code>{trace.trace_id}</Code>
        </Title>
        <Group gap="xs" data-testid="verdict">
          <VerdictBadge passed={verdict?.passed ?? null} severity={verdict?.severity ?? null} />
          {verdict !== null && (
            <Text size="sm">
              score {verdict.score.toFixed(2)} · decided by tier {verdict.tier}
            </Text>
          )}
        </Group>
      </Group>
      {verdict === null && (
        <Alert color="gray" role="status">
          No verdict yet: it appears here as soon as the evaluation finishes.
        </Alert>
      )}
      <Section title="Input">
        {messages === null ? (
          <Highlighted text={trace.input as string} findings={inputFindings} />
        ) : (
          <Stack gap="xs">
            {messages.map((m, i) => (
              <div key={i}>
                <Badge variant="light" size="sm">
                  {m.role}
                </Badge>
                <Highlighted text={m.content} findings={inputFindings} offset={m.offset} />
              </div>
            ))}
          </Stack>
        )}
      </Section>
      <Section title="Output">
        <Highlighted text={trace.output.content} findings={outputFindings} />
        {trace.output.finish_reason !== null && (
          <Text size="xs" c="dimmed" mt="xs">
            finish reason: {trace.output.finish_reason}
          </Text>
        )}
      </Section>
      <Section title={`Findings (${findings.length})`}>
        {findings.length === 0 ? (
          <Text size="sm">No module found anything.</Text>
        ) : (
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Module</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Where</Table.Th>
                <Table.Th>Message</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {findings.map((f, i) => (
                <Table.Tr key={i}>
                  <Table.Td>{f.module}</Table.Td>
                  <Table.Td>
                    <Code>{f.kind}</Code>
                  </Table.Td>
                  <Table.Td>{f.start === null ? f.field : `${f.field} ${f.start}–${f.end}`}</Table.Td>
                  <Table.Td>{f.message}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Section>
      <Section title="Tiers and modules">
        {evaluations.length === 0 ? (
          <Text size="sm">No tier has reported on this trace yet.</Text>
        ) : (
          evaluations.map((tier) => (
            <Stack key={tier.evaluation_id} gap="xs" mb="sm">
              <Group gap="xs">
                <Text fw={600}>Tier {tier.tier}</Text>
                <VerdictBadge passed={tier.passed} severity={tier.severity} />
                <Text size="sm" c="dimmed">
                  score {tier.score.toFixed(2)} · {ms(tier.latency_us)} · {new Date(tier.evaluated_at).toLocaleString()}
                </Text>
              </Group>
              <div className="table-scroll" tabIndex={0} role="region" aria-label="Scrollable table">
                <Table>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Module</Table.Th>
                      <Table.Th>Result</Table.Th>
                      <Table.Th>Severity</Table.Th>
                      <Table.Th>Score</Table.Th>
                      <Table.Th>Labels</Table.Th>
                      <Table.Th>Latency</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {tier.modules.map((m) => (
                      <Table.Tr key={m.module}>
                        <Table.Td>
                          {m.module} <Text span size="xs" c="dimmed">{m.version}</Text>
                        </Table.Td>
                        <Table.Td>{m.passed ? 'passed' : 'failed'}</Table.Td>
                        <Table.Td>
                          <SeverityBadge severity={m.severity} />
                        </Table.Td>
                        <Table.Td>{m.score.toFixed(2)}</Table.Td>
                        <Table.Td>{m.labels.join(', ') || '—'}</Table.Td>
                        <Table.Td>{ms(m.latency_us)}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </div>
            </Stack>
          ))
        )}
      </Section>
      <Section title="Model, usage and cost">
        <KeyValues
          rows={[
            ['Model', trace.model === null ? null : [trace.model.provider, trace.model.name].filter(Boolean).join(' / ')],
            ['Input tokens', trace.usage?.input_tokens ?? null],
            ['Output tokens', trace.usage?.output_tokens ?? null],
            ['Cost (USD)', trace.usage?.cost_usd == null ? null : `$${trace.usage.cost_usd.toFixed(6)}`],
            ['Latency', trace.latency_ms === null ? null : `${trace.latency_ms} ms`],
          ]}
        />
      </Section>
      <Section title="Metadata">
        <KeyValues
          rows={[
            ['Application', trace.application],
            ['Environment', trace.environment],
            ['Timestamp', new Date(trace.timestamp).toLocaleString()],
            ['Received', new Date(trace.received_at).toLocaleString()],
            ['User', trace.user_id],
            [
              'Session',
              trace.session_id === null ? null : (
                <Link to={`/sessions/${encodeURIComponent(trace.session_id)}`} title="The session's traces in order">
                  {trace.session_id}
                </Link>
              ),
            ],
            ['Tags', trace.tags.length === 0 ? null : trace.tags.join(', ')],
            ['PII masked', trace.pii_masked ? 'yes, at the gateway' : 'no'],
            ...Object.entries(trace.metadata).map(([k, v]): [string, React.ReactNode] => [`metadata.${k}`, v]),
          ]}
        />
      </Section>
    </Stack>
  );
}
