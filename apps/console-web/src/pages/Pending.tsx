import { Alert, Stack, Title } from '@mantine/core';

/** A page whose API is not built yet: says so instead of showing anything made up. */
export function Pending({ title, needs }: { title: string; needs: string }) {
  return (
    <Stack>
      <Title order={1} size="h2">
        {title}
      </Title>
      <Alert color="gray" title="Not available yet">
        This page needs {needs}. It will show real data once that lands; nothing here is made up meanwhile.
      </Alert>
    </Stack>
  );
}
