import { RANGES, toLocalInput, windowOf } from '../lib/time';
import { Field, Select } from './ui';

/** A window choice: a preset id, or `custom` with explicit bounds (ISO instants). */
export interface RangeValue {
  range: string;
  from?: string | undefined;
  to?: string | undefined;
}

/** The `start`/`end` of a window choice, computed now. */
export function resolveRange(v: RangeValue): { start: string; end: string | undefined } {
  if (v.range === 'custom') return { start: v.from ?? windowOf('24h').start, end: v.to };
  return { ...windowOf(v.range), end: undefined };
}

/** A preset window picker that can switch to explicit from/to bounds. */
export function RangePicker({ value, onChange }: { value: RangeValue; onChange: (v: RangeValue) => void }) {
  const options = [
    ...RANGES.map((r) => ({ value: r.id, label: r.label })),
    { value: 'custom', label: 'Custom…' },
  ];
  const pick = (range: string) => {
    if (range !== 'custom') return onChange({ range });
    const w = windowOf(value.range === 'custom' ? '24h' : value.range);
    onChange({ range, from: w.start, to: w.end });
  };
  const local = (iso: string | undefined) => (iso ? toLocalInput(iso) : '');
  const parse = (s: string) => (s ? new Date(s).toISOString() : undefined);
  return (
    <>
      <Field label="Time range">
        <Select value={value.range} onChange={pick} options={options} name="range" />
      </Field>
      {value.range === 'custom' && (
        <>
          <Field label="From">
            <input
              type="datetime-local"
              value={local(value.from)}
              onChange={(e) => onChange({ ...value, from: parse(e.currentTarget.value) })}
            />
          </Field>
          <Field label="To">
            <input
              type="datetime-local"
              value={local(value.to)}
              onChange={(e) => onChange({ ...value, to: parse(e.currentTarget.value) })}
            />
          </Field>
        </>
      )}
    </>
  );
}
