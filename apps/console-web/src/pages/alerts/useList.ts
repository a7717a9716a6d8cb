/** A list read from the API with "Load more" by cursor: its state, its error, and a reload. */
import { useCallback, useEffect, useState } from 'react';
import { get } from '../../api';

export type ListState<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ok'; items: T[]; next: string | null; moreError: string | null };

/** `path` answers `{ [field]: T[], next_cursor? }`; `cursor=` is appended for the next page. */
export function useList<T>(path: string, field: string) {
  const [list, setList] = useState<ListState<T>>({ state: 'loading' });
  const read = useCallback(async (cursor: string | null) => {
    const answer = await get<Record<string, unknown>>(cursor === null ? path : `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`);
    return { items: (answer[field] as T[]) ?? [], next: (answer.next_cursor as string | null | undefined) ?? null };
  }, [path, field]);

  const reload = useCallback(() => {
    read(null).then(
      (page) => setList({ state: 'ok', ...page, moreError: null }),
      (e: unknown) => setList({ state: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  }, [read]);

  useEffect(() => {
    setList({ state: 'loading' });
    reload();
  }, [reload]);

  const loadMore = useCallback(async () => {
    if (list.state !== 'ok' || list.next === null) return;
    try {
      const page = await read(list.next);
      setList({ state: 'ok', items: [...list.items, ...page.items], next: page.next, moreError: null });
    } catch (e) {
      setList({ ...list, moreError: e instanceof Error ? e.message : String(e) });
    }
  }, [list, read]);

  return { list, reload, loadMore };
}
