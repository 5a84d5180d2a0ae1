import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { describeRunnerDriver } from './driver-contract.test-helper.js';
import { createProcessRunnerDriver } from './process-driver.js';

describeRunnerDriver('process', () => createProcessRunnerDriver());

describe('process runner driver', () => {
  it('rejects start when the command cannot be spawned', async () => {
    const driver = createProcessRunnerDriver();
    const spec = {
      runnerId: 'r1',
      owner: 'alice',
      app: 'a',
      revisionId: 'rev',
      dir: tmpdir(),
      dataDir: tmpdir(),
      command: ['/nonexistent/hangar-binary'],
      env: {},
      secrets: {},
    };
    await expect(driver.start(spec, { onLine() {}, onExit() {} })).rejects.toThrow(/ENOENT/);
  });
});
