import { describe, expect, it } from 'vitest';
import { PlatformError } from './errors.js';
import { AppManifestSchema, describeSchemaError, MANIFEST_DEFAULTS, parseManifest } from './manifest.js';

const TYPES = ['CPU', 'GPU-H100'];
const base = { name: 'echo', command: ['node', 'server.js'], machine_type: 'CPU' };

function rejection(json: unknown): PlatformError {
  try {
    parseManifest(json, TYPES);
  } catch (err) {
    if (err instanceof PlatformError) return err;
    throw err;
  }
  throw new Error('expected parseManifest to throw');
}

function expectInvalid(patch: Record<string, unknown>, field: string): void {
  const err = rejection({ ...base, ...patch });
  expect(err.code).toBe('MANIFEST_INVALID');
  expect(err.status).toBe(400);
  expect(err.message.startsWith(`hangar.json: ${field}`)).toBe(true);
}

describe('parseManifest', () => {
  it('applies every default', () => {
    expect(parseManifest(base, TYPES)).toEqual({ ...base, ...MANIFEST_DEFAULTS });
  });

  it('keeps given values and does not alias the input', () => {
    const input = { ...base, routes: ['/', '/turbo'], env: { MODEL: 'x' }, auth_mode: 'public' };
    const m = parseManifest(input, TYPES);
    expect(m.routes).toEqual(['/', '/turbo']);
    expect(m.auth_mode).toBe('public');
    m.env['MODEL'] = 'changed';
    expect(input.env.MODEL).toBe('x');
  });

  it('requires name, command and machine_type', () => {
    for (const field of ['name', 'command', 'machine_type']) {
      const { [field as keyof typeof base]: _, ...rest } = base;
      expect(rejection(rest).message.startsWith(`hangar.json: ${field} is required`)).toBe(true);
    }
  });

  it('rejects a non-object document', () => {
    expect(rejection(null).code).toBe('MANIFEST_INVALID');
    expect(rejection([base]).code).toBe('MANIFEST_INVALID');
  });

  it('rejects unknown fields by name', () => {
    expect(rejection({ ...base, replicas: 3 }).message).toBe('hangar.json: replicas is an unknown field');
  });

  it('checks the name pattern', () => {
    for (const name of ['Echo', '-echo', 'my_app', 'a'.repeat(64), '']) expectInvalid({ name }, 'name');
    expect(parseManifest({ ...base, name: 'a'.repeat(63) }, TYPES).name).toHaveLength(63);
  });

  it('requires command to be a non-empty array of non-empty strings', () => {
    expectInvalid({ command: [] }, 'command');
    expectInvalid({ command: 'node server.js' }, 'command');
    expectInvalid({ command: ['node', ''] }, 'command[1]');
    expectInvalid({ command: ['node', 3] }, 'command[1]');
  });

  it('checks auth_mode and environment', () => {
    expect(rejection({ ...base, auth_mode: 'open' }).message).toBe(
      'hangar.json: auth_mode must be one of "private", "public", "shared"',
    );
    expectInvalid({ environment: 'Prod' }, 'environment');
  });

  it('checks concurrency bounds', () => {
    expectInvalid({ min_concurrency: -1 }, 'min_concurrency');
    expectInvalid({ min_concurrency: 1.5 }, 'min_concurrency');
    expectInvalid({ max_concurrency: 0 }, 'max_concurrency');
    expectInvalid({ max_multiplexing: 0 }, 'max_multiplexing');
    expectInvalid({ min_concurrency: 3, max_concurrency: 2 }, 'max_concurrency');
    expect(parseManifest({ ...base, min_concurrency: 2, max_concurrency: 2 }, TYPES).max_concurrency).toBe(2);
  });

  it('requires positive timeouts and a non-negative keep_alive', () => {
    expectInvalid({ request_timeout: 0 }, 'request_timeout');
    expectInvalid({ startup_timeout: -5 }, 'startup_timeout');
    expectInvalid({ request_timeout: '60' }, 'request_timeout');
    expectInvalid({ keep_alive: -1 }, 'keep_alive');
    expect(parseManifest({ ...base, keep_alive: 0 }, TYPES).keep_alive).toBe(0);
  });

  it('checks routes', () => {
    expectInvalid({ routes: [] }, 'routes');
    expectInvalid({ routes: ['turbo'] }, 'routes[0]');
    expectInvalid({ routes: ['/', '/a/../b'] }, 'routes[1]');
    expectInvalid({ routes: ['/requests'] }, 'routes[0]');
    expectInvalid({ routes: ['/', '/requests/x'] }, 'routes[1]');
    expectInvalid({ routes: ['/', '/'] }, 'routes[1]');
    expectInvalid({ routes: ['/a?b=1'] }, 'routes[0]');
    expect(parseManifest({ ...base, routes: ['/requests-log'] }, TYPES).routes).toEqual(['/requests-log']);
  });

  it('checks websocket_routes like routes and defaults them to none', () => {
    expect(parseManifest(base, TYPES).websocket_routes).toEqual([]);
    const m = parseManifest({ ...base, websocket_routes: ['/realtime', '/'] }, TYPES);
    expect(m.websocket_routes).toEqual(['/realtime', '/']);
    expectInvalid({ websocket_routes: ['realtime'] }, 'websocket_routes[0]');
    expectInvalid({ websocket_routes: ['/a/../b'] }, 'websocket_routes[0]');
    expectInvalid({ websocket_routes: ['/requests'] }, 'websocket_routes[0]');
    expectInvalid({ websocket_routes: ['/ws', '/ws'] }, 'websocket_routes[1]');
    expectInvalid({ websocket_routes: ['/ws?x=1'] }, 'websocket_routes[0]');
    expectInvalid({ websocket_routes: '/ws' }, 'websocket_routes');
  });

  it('checks health_path', () => {
    expectInvalid({ health_path: 'health' }, 'health_path');
    expectInvalid({ health_path: '/../x' }, 'health_path');
  });

  it('requires env values to be strings with valid names', () => {
    expectInvalid({ env: { A: 1 } }, 'env.A');
    expectInvalid({ env: { 'BAD-NAME': 'x' } }, 'env.BAD-NAME');
    expectInvalid({ env: { PORT: '9000' } }, 'env.PORT');
    expectInvalid({ env: { CUDA_VISIBLE_DEVICES: '0' } }, 'env.CUDA_VISIBLE_DEVICES');
  });

  it('takes gpus as a count of cards per runner', () => {
    expect(parseManifest({ ...base, machine_type: 'GPU-H100', gpus: 2 }, TYPES).gpus).toBe(2);
    expect(parseManifest(base, TYPES).gpus).toBeUndefined();
    expectInvalid({ gpus: -1 }, 'gpus');
    expectInvalid({ gpus: 1.5 }, 'gpus');
    expectInvalid({ gpus: '2' }, 'gpus');
  });

  it('rejects an unknown machine type listing the known ones', () => {
    const err = rejection({ ...base, machine_type: 'GPU-TPU' });
    expect(err.code).toBe('MACHINE_TYPE_UNKNOWN');
    expect(err.status).toBe(400);
    expect(err.message).toBe('unknown machine_type "GPU-TPU"; known: CPU, GPU-H100');
  });
});

describe('describeSchemaError', () => {
  it('returns null for a valid document', () => {
    expect(describeSchemaError(AppManifestSchema, base)).toBeNull();
  });
});

describe('parseManifest: fal retry settings', () => {
  it("accepts skip_retry_conditions and retry_config in fal's form", () => {
    const m = parseManifest(
      { ...base, skip_retry_conditions: ['timeout'], retry_config: { server_error: { retries: 3 } } },
      TYPES,
    );
    expect(m.skip_retry_conditions).toEqual(['timeout']);
    expect(m.retry_config).toEqual({ server_error: { retries: 3 } });
  });

  it('rejects unknown conditions and other budget forms', () => {
    const bad = [
      { skip_retry_conditions: ['crash'] },
      { retry_config: { server_error: 3 } },
      { retry_config: { bogus: { retries: 1 } } },
      { retry_config: { timeout: { retries: -1 } } },
    ];
    for (const over of bad) {
      expect(() => parseManifest({ ...base, ...over }, TYPES)).toThrow(PlatformError);
    }
  });
});
