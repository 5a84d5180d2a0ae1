import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const load = (flags: Record<string, string>, env: Record<string, string> = {}) =>
  loadConfig(flags, { HANGAR_HOME: '/nonexistent-hangar-home', ...env }, '/');

describe('PostgreSQL configuration', () => {
  it('keeps SQLite without a database URL, with the defaults of the postgres section', () => {
    expect(load({}).postgres).toEqual({
      url: null,
      poolSize: 10,
      retention: { requests: 90, logs: 30, samples: 30 },
    });
  });

  it('takes HANGAR_DATABASE_URL, and --database-url over it (from argv too)', () => {
    const env = { HANGAR_DATABASE_URL: 'postgres://a@db1/hangar' };
    expect(load({}, env).postgres.url).toBe('postgres://a@db1/hangar');
    expect(load({ databaseUrl: 'postgresql://b@db2/h' }, env).postgres.url).toBe('postgresql://b@db2/h');
    const argv = loadConfig(['serve', '--database-url=postgres://c@db3/h'], env, '/tmp');
    expect(argv.postgres.url).toBe('postgres://c@db3/h');
  });

  it('refuses a URL that is not postgres:// without repeating it (it may hold a password)', () => {
    const bad = () => load({}, { HANGAR_DATABASE_URL: 'mysql://root:hunter2@db/x' });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow('HANGAR_DATABASE_URL must be a postgres:// or postgresql:// URL');
    expect(bad).not.toThrow(/hunter2/);
  });
});
