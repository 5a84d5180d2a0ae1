// Says once per test run, not once per file, when the tests that need PostgreSQL or Redis skip here.
import { postgresMissing } from '../packages/server/src/test-services/postgres.test-helper.js';
import { redisMissing } from '../packages/server/src/test-services/redis.test-helper.js';

export default function setup(): void {
  for (const line of [postgresMissing, redisMissing]) if (line) process.stdout.write(`\n${line}\n`);
}
