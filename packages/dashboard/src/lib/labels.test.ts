import { describe, expect, it } from 'vitest';
import { parseLabels } from './labels';

describe('parseLabels', () => {
  it('reads equals and not-equals filters separated by commas, ignoring junk', () => {
    expect(parseLabels(' source = stdout, fal_job_id!=abc , nonsense ,')).toEqual([
      { key: 'source', value: 'stdout', condition_type: 'equals' },
      { key: 'fal_job_id', value: 'abc', condition_type: 'not_equals' },
    ]);
    expect(parseLabels('')).toEqual([]);
  });
});
