import { Select, TextInput } from '@mantine/core';
import { fromLocalInput, RANGES, toLocalInput, type Range } from '../timeRange';

type Draft = Record<string, string>;

/**
 * A filter form's time range: a preset, or "Between dates…" with From and To (before) fields, kept in
 * the draft as `range` or as `from`/`to`. Choosing "Between dates…" starts from the range shown now.
 */
export function TimeRangeFields({ draft, setDraft, shown, fallback, width }: { draft: Draft; setDraft: (next: Draft) => void; shown: Range; fallback: string; width: number }) {
  const explicit = (draft.from ?? '') !== '';
  return (
    <>
      <Select
        label="Time range"
        size="xs"
        w={width}
        allowDeselect={false}
        data={[...RANGES.map((r) => ({ value: r.value, label: r.label })), { value: 'between', label: 'Between dates…' }]}
        value={explicit ? 'between' : draft.range || fallback}
        onChange={(v) =>
          setDraft(v === 'between' ? { ...draft, range: '', from: new Date(shown.from).toISOString(), to: new Date(shown.to).toISOString() } : { ...draft, range: v ?? fallback, from: '', to: '' })
        }
      />
      {explicit && (
        <>
          <TextInput label="From" type="datetime-local" size="xs" value={toLocalInput(draft.from)} onChange={(e) => setDraft({ ...draft, from: fromLocalInput(e.currentTarget.value) })} />
          <TextInput label="To (before)" type="datetime-local" size="xs" value={toLocalInput(draft.to)} onChange={(e) => setDraft({ ...draft, to: fromLocalInput(e.currentTarget.value) })} />
        </>
      )}
    </>
  );
}
