import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, requireBuiltCli, runCli, tempDir } from '../testing/cli-harness.test-helper.js';

// `hangar serve` refuses a bad option before starting anything, with exit code 2 and one clear line.
const dir = tempDir('hangar-serve-');
beforeAll(() => requireBuiltCli());
afterAll(() => dir.remove());

async function serveWith(config: unknown) {
  const home = join(dir.path, `home-${Math.random().toString(16).slice(2)}`);
  mkdirSync(home);
  writeFileSync(join(home, 'hangar.config.json'), JSON.stringify(config));
  return runCli(['serve', '--home', home, '--port', '0'], cleanEnv(dir.path));
}

describe('hangar serve with a bad config file', () => {
  it.each([
    [{ files: { url_allowlist: ['ftp://files.example.com/'] } }, 'files.url_allowlist: not an http(s) URL'],
    [{ files: { url_allowlist: ['https://u:p@files.example.com/'] } }, 'files.url_allowlist: a URL prefix'],
    [{ files: { url_allowlist: ['10.0.0.0/99'] } }, 'files.url_allowlist: Invalid allowlist entry'],
    [{ webhooks: { allowlist: ['10.0.0.0/99'] } }, 'webhooks.allowlist: Invalid allowlist entry'],
    [{ limits: { storage_quota_bytes: -1 } }, 'limits.storage_quota_bytes must be >= 0'],
  ])('exits 2 for %j', async (config, message) => {
    const run = await serveWith(config);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(message);
  });
});
