import { Center, Paper, Stack, Title } from '@mantine/core';
import type { ReactNode } from 'react';

/** A card in the middle of the page (sign-in, invitations, loading). */
export function Centered({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={420}>
        <Stack>
          <Title order={1} size="h3">
            {title}
          </Title>
          {children}
        </Stack>
      </Paper>
    </Center>
  );
}
