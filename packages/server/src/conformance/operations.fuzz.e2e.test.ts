import { describe } from 'vitest';
import { describeOperationsFuzz } from './operations-fuzz.test-helper.js';
import { startConformanceServer } from './server.test-helper.js';

// Property-based fuzzing of every `/serverless` operation against the whole server on SQLite (the
// embedded default) with real data (operations-fuzz.test-helper.ts). HANGAR_FUZZ_SEED replays a run;
// HANGAR_FUZZ_CASES sets the total number of cases (at least 10,000 in CI).
describe('the server on SQLite', () => {
  describeOperationsFuzz(() => startConformanceServer());
});
