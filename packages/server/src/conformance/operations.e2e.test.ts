import { describe } from 'vitest';
import { describeOperationsWalk } from './operations-walk.test-helper.js';
import { startConformanceServer } from './server.test-helper.js';

// The whole server on SQLite (the embedded default) with the demo apps and real recorded data: the walk of
// every `/serverless` operation of fal's document (operations-walk.test-helper.ts).
describe('the server on SQLite', () => {
  describeOperationsWalk(() => startConformanceServer());
});
