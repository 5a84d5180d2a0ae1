import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('cluster settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-config-cluster-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const withFile = (cluster: object) =>
    writeFileSync(join(dir, 'hangar.config.json'), JSON.stringify({ cluster }));

  it('is embedded without a Redis URL, with the documented timing', () => {
    const c = loadConfig({ home: dir }, {}, dir).cluster;
    expect(c).toMatchObject({
      redisUrl: null,
      leaseMs: 5000,
      renewMs: 1000,
      deadAfterMs: 5000,
      retentionIntervalS: 3600,
    });
    expect(c.runnerSlots).toBeGreaterThan(0);
  });

  it('takes the Redis URL from the flag over the environment, and the timing from the file', () => {
    withFile({ lease_ms: 3000, renew_ms: 500, dead_after_ms: 2000, runner_slots: 6 });
    const env = {
      HANGAR_REDIS_URL: 'redis://env:6379',
      HANGAR_DATABASE_URL: 'postgres://db.internal/hangar',
    };
    expect(loadConfig({ home: dir }, env, dir).cluster.redisUrl).toBe('redis://env:6379');
    const c = loadConfig(['--home', dir, '--redis-url', 'rediss://flag:6380/2'], env, dir).cluster;
    expect(c).toMatchObject({
      redisUrl: 'rediss://flag:6380/2',
      leaseMs: 3000,
      renewMs: 500,
      runnerSlots: 6,
    });
  });

  it('refuses timing that cannot hold a lease, and a URL that is not Redis, without echoing it', () => {
    withFile({ lease_ms: 1000, renew_ms: 800 });
    expect(() => loadConfig({ home: dir }, {}, dir)).toThrow(/renew_ms must be at most half/);
    withFile({ renew_ms: 1000, dead_after_ms: 1500 });
    expect(() => loadConfig({ home: dir }, {}, dir)).toThrow(/dead_after_ms must be at least twice/);
    withFile({});
    const secret = 'postgres://u:hunter2@db/x';
    const err = (() => {
      try {
        loadConfig({ home: dir }, { HANGAR_REDIS_URL: secret }, dir);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).not.toContain('hunter2');
  });

  it('refuses Redis without PostgreSQL (every node must read the same requests), and allows PostgreSQL alone', () => {
    const err = (() => {
      try {
        loadConfig({ home: dir }, { HANGAR_REDIS_URL: 'redis://:pw@cache:6379' }, dir);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).toMatch(/HANGAR_REDIS_URL .* needs HANGAR_DATABASE_URL/);
    expect(err?.message).not.toContain('pw@');
    const alone = loadConfig({ home: dir }, { HANGAR_DATABASE_URL: 'postgres://u:pw@db/hangar' }, dir);
    expect(alone.postgres.url).toBe('postgres://u:pw@db/hangar');
    expect(alone.redisUrl).toBeNull();
  });
});
