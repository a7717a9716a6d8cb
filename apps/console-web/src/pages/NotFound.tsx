import { Anchor, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router';

/** Nothing here: an unknown page, or an id that this organization does not have (another org's looks the same). */
export function NotFound({ what = 'page' }: { what?: string }) {
  return (
    <Stack gap="sm" data-testid="not-found">
      <Title order={1} size="h2">
        Not found
      </Title>
      <Text>There is no such {what} in this organization.</Text>
      <Anchor component={Link} to="/traces">
        Back to traces
      </Anchor>
    </Stack>
  );
}
