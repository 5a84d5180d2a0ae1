import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageLimitsFor } from './api/files/storage-quota.js';
import { ConfigError, DEFAULT_MACHINE_TYPES, loadConfig, parseFlags } from './config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeFile(json: unknown): void {
  writeFileSync(join(dir, 'hangar.config.json'), typeof json === 'string' ? json : JSON.stringify(json));
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has defaults relative to cwd', () => {
    const c = loadConfig([], {}, dir);
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.home).toBe(join(dir, '.hangar'));
    expect(c.owner).toBe('demo');
    expect(c.adminKey).toBeNull();
    expect(c.publicUrl).toBe('http://127.0.0.1:8080');
    expect(c.logLevel).toBe('info');
    expect(c.dbPath).toBe(join(dir, '.hangar', 'hangar.db'));
    expect(c.adminKeyPath).toBe(join(dir, '.hangar', 'admin.key'));
    expect(c.dataRoot('alice')).toBe(join(dir, '.hangar', 'data', 'alice'));
    expect(Object.keys(c.machineTypes).sort()).toEqual(['CPU', 'GPU-A100', 'GPU-B200', 'GPU-H100']);
    expect(c.limits).toMatchObject({
      bodyLimit: 10 * 1024 * 1024,
      jsonPayloadCap: 1_048_576,
      payloadStoreBytes: 65_536,
      resultTtlS: 3600,
    });
    expect(c.limits.maxSseStreamsPerKey).toBe(10);
    expect(c.limits.authFailures).toEqual({ perAddress: 20, perKey: 100, windowS: 60, maxTracked: 100_000 });
    expect(c.limits.maxUploadBytes).toBe(1024 ** 3);
    expect(c.limits.maxRangeDays).toBe(400);
    expect(c.limits.jsonInput).toEqual({ maxDepth: 64, maxItems: 100_000, maxStringBytes: 10 * 1024 * 1024 });
    expect(c.limits.queryTimeoutMs).toBe(30_000);
    expect(c.retries.maxAttempts).toBe(10);
    expect(c.shutdownDeadlineMs).toBe(10_000);
    expect(c.webhooks).toEqual({ allowPrivate: false, allowlist: [], retryBaseS: 7 });
    expect(c.files.urlAllowlist).toEqual([]);
    expect(c.metrics.cacheTtlS).toBe(10);
    expect(c.kubernetes).toMatchObject({
      namespace: 'hangar-runners',
      kubeconfig: 'in-cluster',
      pendingTimeoutS: 900,
      runAsUser: 10001,
    });
    expect(c.runners).toEqual({
      sampleIntervalMs: 5000,
      meterIntervalMs: 5000,
      isolation: 'auto',
      driver: 'process',
      containerCli: null,
      sandbox: {
        memoryBytes: 4096 * 1024 * 1024,
        pidsMax: 1024,
        nofile: 65_536,
        tmpBytes: 1024 * 1024 * 1024,
        uidBase: 200_000,
        roPaths: [],
        egress: 'none',
        egressAllowlist: [],
      },
    });
  });

  it('reads the environment', () => {
    const c = loadConfig(
      [],
      {
        HANGAR_PORT: '9001',
        HANGAR_HOST: '0.0.0.0',
        HANGAR_HOME: join(dir, 'h'),
        HANGAR_OWNER: 'alice',
        HANGAR_ADMIN_KEY: 'k1:s3cret',
        HANGAR_LOG_LEVEL: 'debug',
      },
      '/',
    );
    expect(c).toMatchObject({ port: 9001, host: '0.0.0.0', home: join(dir, 'h'), owner: 'alice' });
    expect(c.adminKey).toBe('k1:s3cret');
    expect(c.logLevel).toBe('debug');
    expect(c.publicUrl).toBe('http://127.0.0.1:9001');
    const explicit = loadConfig([], { HANGAR_PUBLIC_URL: 'https://hangar.example.com/' }, dir);
    expect(explicit.publicUrl).toBe('https://hangar.example.com');
  });

  it('lets flags win over the environment, in both flag forms', () => {
    const env = { HANGAR_PORT: '9001', HANGAR_HOST: '10.0.0.1' };
    const c = loadConfig(['serve', '--port', '9000', '--host=::1', '--home', 'state', '--demo'], env, dir);
    expect(c.port).toBe(9000);
    expect(c.host).toBe('::1');
    expect(c.home).toBe(join(dir, 'state'));
    expect(c.publicUrl).toBe('http://[::1]:9000');
    expect(loadConfig({ port: 7000 }, env, dir).port).toBe(7000);
    expect(parseFlags(['--port=1', 'x'])).toEqual({ port: '1' });
  });

  it('rejects bad flag and env values naming them', () => {
    expect(errorOf(() => loadConfig(['--port', 'abc'], {}, dir)).message).toMatch(/^--port /);
    expect(errorOf(() => loadConfig(['--port'], {}, dir)).message).toBe('--port needs a value');
    expect(errorOf(() => loadConfig([], { HANGAR_PORT: '70000' }, dir)).message).toMatch(/^HANGAR_PORT /);
    expect(errorOf(() => loadConfig([], { HANGAR_OWNER: 'Bad Owner' }, dir)).message).toMatch(
      /^HANGAR_OWNER/,
    );
    expect(errorOf(() => loadConfig([], { HANGAR_ADMIN_KEY: 'nocolon' }, dir)).message).toMatch(
      /^HANGAR_ADMIN_KEY/,
    );
    expect(errorOf(() => loadConfig([], { HANGAR_LOG_LEVEL: 'loud' }, dir)).message).toMatch(
      /^HANGAR_LOG_LEVEL/,
    );
    expect(errorOf(() => loadConfig([], { HANGAR_PUBLIC_URL: 'ftp://x' }, dir)).message).toMatch(
      /^HANGAR_PUBLIC_URL/,
    );
  });

  it('reads hangar.config.json, overriding and extending machine types', () => {
    writeFile({
      machine_types: {
        'GPU-H100': { unit_price: 0.001 },
        'GPU-L40': {
          unit_price: 0.0003,
          gpu_label: 'NVIDIA L40',
          reserved_runners: 2,
          surge_multiplier: 2,
          gpus: 2,
          gpu_product: 'L40',
          cpu: 7.5,
          memory_mb: 65536,
          kubernetes: {
            node_selector: { 'nvidia.com/gpu.product': 'NVIDIA-L40' },
            tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          },
        },
      },
      discounts: { alice: 12.5 },
      limits: {
        body_limit: 1024,
        rate_limit: { burst: 5 },
        json_input: { max_depth: 16, max_items: 500 },
        query_timeout_ms: 0,
        auth_failures: { per_key: 0, window_s: 600 },
      },
      retries: { max_attempts: 5 },
      shutdown_deadline_ms: 500,
      webhooks: { allow_private: true, allowlist: ['10.0.0.0/8'], retry_base_s: 0.5 },
      files: { url_allowlist: ['https://cdn.example.com/', 'files.internal', '10.1.0.0/16'] },
      storage_quotas: { alice: { bytes: 5 }, bob: { files: 7 } },
      metrics: { cache_ttl_s: 0 },
      runners: {
        sample_interval_ms: 1000,
        isolation: 'sandbox',
        container_cli: '/usr/bin/podman',
        sandbox: { memory_mb: 512, ro_paths: ['/opt/py'] },
      },
    });
    const c = loadConfig(['--home', dir], {}, '/');
    expect(c.machineTypes['GPU-H100']).toEqual({ ...DEFAULT_MACHINE_TYPES['GPU-H100'], unitPrice: 0.001 });
    expect(c.machineTypes['GPU-L40']).toEqual({
      unitPrice: 0.0003,
      gpuLabel: 'NVIDIA L40',
      reservedRunners: 2,
      surgeMultiplier: 2,
      gpus: 2,
      gpuProduct: 'L40',
      cpu: 7.5,
      memoryMb: 65536,
      placement: {
        kubernetes: {
          node_selector: { 'nvidia.com/gpu.product': 'NVIDIA-L40' },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        },
      },
    });
    expect(c.machineTypes['GPU-H100']?.gpus).toBe(1);
    expect(c.machineTypes['GPU-H100']?.gpuProduct).toBe('H100');
    expect(c.machineTypes['CPU']).toEqual(DEFAULT_MACHINE_TYPES['CPU']);
    expect(c.discounts).toEqual({ alice: 12.5 });
    expect(c.limits.bodyLimit).toBe(1024);
    expect(c.limits.jsonPayloadCap).toBe(1_048_576);
    expect(c.limits.rateLimit.burst).toBe(5);
    expect(c.limits.authFailures).toEqual({ perAddress: 20, perKey: 0, windowS: 600, maxTracked: 100_000 });
    // Strings are bounded by the body limit unless limited on their own.
    expect(c.limits.jsonInput).toEqual({ maxDepth: 16, maxItems: 500, maxStringBytes: 1024 });
    expect(c.limits.queryTimeoutMs).toBe(0);
    expect(c.retries.maxAttempts).toBe(5);
    expect(c.shutdownDeadlineMs).toBe(500);
    expect(c.webhooks).toEqual({ allowPrivate: true, allowlist: ['10.0.0.0/8'], retryBaseS: 0.5 });
    expect(c.files.urlAllowlist).toEqual(['https://cdn.example.com/', 'files.internal', '10.1.0.0/16']);
    expect(c.storageQuotas).toEqual({ alice: { bytes: 5 }, bob: { files: 7 } });
    expect(storageLimitsFor(c, 'alice')).toEqual({ bytes: 5, files: 1_000_000 });
    expect(storageLimitsFor(c, 'bob')).toEqual({ bytes: 100 * 1024 ** 3, files: 7 });
    expect(storageLimitsFor(c, 'carol')).toEqual({ bytes: 100 * 1024 ** 3, files: 1_000_000 });
    expect(c.metrics.cacheTtlS).toBe(0);
    expect(c.runners.sampleIntervalMs).toBe(1000);
    expect(c.runners.meterIntervalMs).toBe(5000);
    expect(c.runners.isolation).toBe('sandbox');
    expect(c.runners.containerCli).toBe('/usr/bin/podman');
    expect(c.runners.sandbox.memoryBytes).toBe(512 * 1024 * 1024);
    expect(c.runners.sandbox.pidsMax).toBe(1024);
    expect(c.runners.sandbox.roPaths).toEqual(['/opt/py']);
  });

  it('rejects a bad config file with a message naming the file and the JSON path', () => {
    const file = join(dir, 'hangar.config.json');
    const cases: [unknown, string][] = [
      ['{ not json', `${file}: not valid JSON`],
      [{ limits: { body_limit: 0 } }, `${file}: limits.body_limit must be >= 1`],
      [{ limits: { bodylimit: 5 } }, `${file}: limits.bodylimit is an unknown field`],
      [{ limits: { auth_failures: { window_s: 0 } } }, `${file}: limits.auth_failures.window_s must be >= 1`],
      [{ colour: 'red' }, `${file}: colour is an unknown field`],
      [
        { limits: { json_input: { max_depth: 5000 } } },
        `${file}: limits.json_input.max_depth must be <= 1000`,
      ],
      [{ limits: { json_input: { max_items: 0 } } }, `${file}: limits.json_input.max_items must be >= 1`],
      [{ discounts: { alice: 150 } }, `${file}: discounts.alice must be <= 100`],
      [
        { machine_types: { 'GPU-H100': { unit_price: 'cheap' } } },
        `${file}: machine_types.GPU-H100.unit_price`,
      ],
      [{ webhooks: { allowlist: [1] } }, `${file}: webhooks.allowlist[0] must be string`],
      [{ machine_types: { TPU: { unit_price: 1 } } }, 'machine_types.TPU.gpu_label is required'],
      [{ files: { url_allowlist: ['ftp://x.example/'] } }, 'files.url_allowlist: not an http(s) URL'],
      [{ files: { url_allowlist: ['https://x.example/?q=1'] } }, 'files.url_allowlist: a URL prefix has no'],
      [{ files: { url_allowlist: ['10.0.0.0/99'] } }, 'files.url_allowlist: Invalid allowlist entry'],
      [{ webhooks: { allowlist: ['bad/entry'] } }, 'webhooks.allowlist: Invalid allowlist entry'],
      [{ storage_quotas: { Alice: { bytes: 1 } } }, 'storage_quotas'],
      [{ storage_quotas: { alice: { size: 1 } } }, 'storage_quotas.alice.size is an unknown field'],
      [{ runners: { container_cli: 'bin/docker' } }, `${file}: runners.container_cli must match`],
      [{ runners: { container_cli: 'docker --tls' } }, `${file}: runners.container_cli must match`],
    ];
    for (const [json, expected] of cases) {
      writeFile(json);
      expect(errorOf(() => loadConfig({ home: dir }, {}, '/')).message).toContain(expected);
    }
  });

  it('returns a deeply frozen object', () => {
    const c = loadConfig([], {}, dir);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.limits.rateLimit)).toBe(true);
    expect(Object.isFrozen(c.machineTypes['CPU'])).toBe(true);
    expect(Object.isFrozen(c.webhooks.allowlist)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('secrets keys', () => {
  const hex = 'ab'.repeat(32);
  const b64 = Buffer.from(hex, 'hex').toString('base64');

  it('reads HANGAR_SECRETS_KEY and _PREVIOUS as hex or base64, else the key file under HANGAR_HOME', () => {
    const none = loadConfig([], {}, dir);
    expect(none.secrets).toEqual({
      key: null,
      previousKey: null,
      keyPath: join(dir, '.hangar', 'secrets.key'),
    });
    const both = loadConfig([], { HANGAR_SECRETS_KEY: hex, HANGAR_SECRETS_KEY_PREVIOUS: b64 }, dir);
    expect(both.secrets.key).toBe(hex);
    expect(both.secrets.previousKey).toBe(hex);
    expect(loadConfig([], { HANGAR_SECRETS_KEY: b64.replace(/=$/, '') }, dir).secrets.key).toBe(hex);
  });

  it('refuses a key that is not 32 bytes, naming the variable and never echoing the value', () => {
    for (const bad of ['abc', 'ab'.repeat(31), Buffer.alloc(16).toString('base64'), `${hex}00`]) {
      const err = errorOf(() => loadConfig([], { HANGAR_SECRETS_KEY_PREVIOUS: bad }, dir));
      expect(err.message).toMatch(/^HANGAR_SECRETS_KEY_PREVIOUS must be 32 bytes/);
      expect(err.message).not.toContain(bad);
    }
  });
});
