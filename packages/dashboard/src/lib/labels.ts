import type { LabelFilter } from '@hangar/client';

/** Parses `k=v, k2!=v2` into label filters (`!=` means not equal). */
export function parseLabels(text: string): LabelFilter[] {
  const out: LabelFilter[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([^=!\s]+)\s*(!?=)\s*(.*?)\s*$/.exec(part);
    if (!m) continue;
    out.push({ key: m[1]!, value: m[3]!, condition_type: m[2] === '!=' ? 'not_equals' : 'equals' });
  }
  return out;
}
