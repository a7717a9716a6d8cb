import { Alert, Button } from '@mantine/core';

/** The foot of a paged list: why the last "Load more" failed, if it did, and the button while a next page exists. */
export function LoadMore({ error, hasMore, onLoad }: { error: string | null; hasMore: boolean; onLoad: () => void }) {
  return (
    <>
      {error !== null && (
        <Alert color="red" title="Loading more failed" role="alert">
          {error}
        </Alert>
      )}
      {hasMore && (
        <Button variant="default" onClick={onLoad}>
          Load more
        </Button>
      )}
    </>
  );
}
