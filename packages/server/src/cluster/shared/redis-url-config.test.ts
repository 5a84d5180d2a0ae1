import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('HANGAR_REDIS_URL / --redis-url', () => {
  it('is off by default: shared state stays in the process', () => {
    expect(loadConfig([], {}, dir).redisUrl).toBeNull();
  });
  it('comes from the environment, and the flag wins', () => {
    const env = { HANGAR_REDIS_URL: 'redis://10.0.0.5:6379/0', HANGAR_DATABASE_URL: 'postgres://db/hangar' };
    expect(loadConfig([], env, dir).redisUrl).toBe('redis://10.0.0.5:6379/0');
    const flagged = loadConfig(['--redis-url', 'rediss://:pw@cache.internal:6380'], env, dir);
    expect(flagged.redisUrl).toBe('rediss://:pw@cache.internal:6380');
  });
  it('refuses another scheme without repeating the value (it may hold a password)', () => {
    let err: unknown;
    try {
      loadConfig([], { HANGAR_REDIS_URL: 'http://user:s3cret@host:6379' }, dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('HANGAR_REDIS_URL');
    expect((err as Error).message).not.toContain('s3cret');
  });
});
