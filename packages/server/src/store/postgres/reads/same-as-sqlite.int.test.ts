import { afterAll, expect } from 'vitest';
import { postgresMissing } from '../../../test-services/postgres.test-helper.js';
import { describeReadsParity } from '../../reads-parity.test-helper.js';
import { useSeededWorld } from './world.test-helper.js';

// The PostgreSQL reads answer byte for byte what the SQLite reads answer, over one world written through
// the SQLite write ports and copied into PostgreSQL (its analytics rollups written by two rollup sinks).
// With pg_trgm installed, none of these searches warns that it scans its whole window.

describeReadsParity({ name: 'PostgreSQL', skip: postgresMissing }, () => {
  const w = useSeededWorld();
  afterAll(() => {
    expect(w.warnings).toEqual([]);
  });
  return w;
});
