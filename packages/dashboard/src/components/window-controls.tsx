import type { Timeframe } from '@hangar/client';
import { useMemo } from 'preact/hooks';
import { RANGES, TIMEFRAMES, timeZones } from '../lib/time';
import { Field, Select } from './ui';

/** The window, bucket size and zone of usage and analytics. */
export interface WindowChoice {
  range: string;
  timeframe: 'auto' | Timeframe;
  timeZone: string;
}

/** Pickers for the time range, the timeframe and the time zone. */
export function WindowControls({
  value,
  onChange,
}: {
  value: WindowChoice;
  onChange: (v: WindowChoice) => void;
}) {
  const zones = useMemo(timeZones, []);
  return (
    <>
      <Field label="Time range">
        <Select
          name="range"
          value={value.range}
          onChange={(range) => onChange({ ...value, range })}
          options={RANGES.map((r) => ({ value: r.id, label: r.label }))}
        />
      </Field>
      <Field label="Timeframe">
        <Select
          name="timeframe"
          value={value.timeframe}
          onChange={(timeframe) => onChange({ ...value, timeframe })}
          options={TIMEFRAMES}
        />
      </Field>
      <Field label="Time zone">
        <input
          name="timezone"
          list="hangar-zones"
          value={value.timeZone}
          onChange={(e) => {
            const tz = e.currentTarget.value.trim();
            if (zones.includes(tz)) onChange({ ...value, timeZone: tz });
          }}
        />
        <datalist id="hangar-zones">
          {zones.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </Field>
    </>
  );
}
