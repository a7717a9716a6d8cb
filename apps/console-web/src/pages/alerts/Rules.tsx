/**
 * The alert rules and channels, read-only: the console shows them; they are created and changed through
 * the alerts API (POST/PUT /v1/alerts/rules and /v1/alerts/channels, documented at /openapi.json).
 */
import { Alert, Anchor, Badge, Code, Stack, Table, Text, Title } from '@mantine/core';
import type { Channel, StoredRule } from '../../types';
import { useList } from './useList';

function conditions(when: Record<string, unknown>): string {
  const parts = Object.entries(when).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' | ') : String(v)}`);
  return parts.length === 0 ? 'every record' : parts.join(', ');
}

export function Rules() {
  const rules = useList<StoredRule>('/v1/alerts/rules', 'rules').list;
  const channels = useList<Channel>('/v1/alerts/channels', 'channels').list;
  return (
    <Stack gap="sm">
      <Alert color="blue" title="Read-only here">
        Rules and channels are created and changed through the alerts API (<Code>POST /v1/alerts/rules</Code>, <Code>PUT /v1/alerts/rules/&lt;id&gt;</Code>, <Code>/v1/alerts/channels</Code>
        ), described in the <Anchor href="/openapi.json">OpenAPI document</Anchor>.
      </Alert>
      <Title order={2} size="h4">
        Rules
      </Title>
      {rules.state === 'error' && (
        <Alert color="red" role="alert" title="Cannot list rules">
          {rules.message}
        </Alert>
      )}
      {rules.state === 'ok' && rules.items.length === 0 && <Text c="dimmed">No rules yet.</Text>}
      {rules.state === 'ok' && rules.items.length > 0 && (
        <div className="table-scroll" tabIndex={0} role="region" aria-label={`Rules: ${rules.items.length}`}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>When</Table.Th>
                <Table.Th>Channels</Table.Th>
                <Table.Th>Version</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rules.items.map(({ id, rule, version }) => (
                <Table.Tr key={id} data-rule-id={id}>
                  <Table.Td>
                    {rule.name}{' '}
                    {!rule.enabled && (
                      <Badge color="gray" variant="outline">
                        disabled
                      </Badge>
                    )}
                    <Text size="xs" c="dimmed">
                      {id}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    {rule.kind === 'aggregate' ? `${rule.measure} ${rule.op} ${rule.threshold} over ${rule.window}` : 'per event'}
                    {rule.severity !== undefined ? ` · ${rule.severity}` : ''}
                  </Table.Td>
                  <Table.Td>
                    {rule.source}: {conditions(rule.when)}
                  </Table.Td>
                  <Table.Td>{rule.channels.join(', ') || '— (routing only)'}</Table.Td>
                  <Table.Td>{version}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
      <Title order={2} size="h4">
        Channels
      </Title>
      {channels.state === 'error' && (
        <Alert color="red" role="alert" title="Cannot list channels">
          {channels.message}
        </Alert>
      )}
      {channels.state === 'ok' && channels.items.length === 0 && <Text c="dimmed">No channels yet.</Text>}
      {channels.state === 'ok' && channels.items.length > 0 && (
        <Table aria-label="Channels">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>State</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {channels.items.map((c) => (
              <Table.Tr key={c.id}>
                <Table.Td>
                  {c.name} <Text span size="xs" c="dimmed">{c.id}</Text>
                </Table.Td>
                <Table.Td>{c.type}</Table.Td>
                <Table.Td>{c.enabled ? 'enabled' : `disabled${c.disabled_reason !== null ? `: ${c.disabled_reason}` : ''}`}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
