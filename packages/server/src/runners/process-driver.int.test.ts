import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { describeRunnerDriver, quietHooks, runnerSpec } from './driver-contract.test-helper.js';
import { createProcessRunnerDriver } from './process-driver.js';

describeRunnerDriver('process', () => createProcessRunnerDriver());

describe('process runner driver', () => {
  it('rejects start when the command cannot be spawned', async () => {
    const driver = createProcessRunnerDriver();
    const spec = runnerSpec({
      runnerId: 'r1',
      owner: 'alice',
      dir: tmpdir(),
      dataDir: tmpdir(),
      command: ['/nonexistent/hangar-binary'],
    });
    await expect(driver.start(spec, quietHooks())).rejects.toThrow(/ENOENT/);
  });
});
