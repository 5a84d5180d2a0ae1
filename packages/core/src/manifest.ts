import { type Static, type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';
import type { AppManifest } from './domain.js';
import { PlatformError } from './errors.js';

/** Pattern of app names (and environments): lowercase, digits and dashes, as they appear in URLs. */
export const APP_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';

/** Pattern of owner names: like app names, plus `_` (fal user ids look like `user_123`). */
export const OWNER_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Environment variables the runner contract sets; a manifest may not override them. */
const RESERVED_ENV = new Set([
  'PORT',
  'DATA_DIR',
  'HANGAR_APP',
  'HANGAR_RUNNER_ID',
  'HANGAR_FILES_URL',
  'CUDA_VISIBLE_DEVICES',
  'NVIDIA_VISIBLE_DEVICES',
]);

/** Longest accepted `image` reference (the whole text: registry, name, tag and digest). */
export const IMAGE_REFERENCE_MAX = 512;

// The grammar of github.com/distribution/reference, narrowed: a tag or a sha256 digest is required
// (no implicit `latest`), and a reference always starts with a letter or digit, so it can never be
// read as an option by a container CLI.
const DOMAIN_COMPONENT = '(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]{1,5})?)`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const IMAGE_REFERENCE = new RegExp(
  `^(${IMAGE_NAME})(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);

/**
 * Why `ref` is not an image reference Hangar accepts (`registry/name:tag`, `name@sha256:<hex>`, or
 * both), or null when it is one.
 */
export function imageReferenceProblem(ref: string): string | null {
  if (ref.length > IMAGE_REFERENCE_MAX) return `must be at most ${IMAGE_REFERENCE_MAX} characters`;
  const m = IMAGE_REFERENCE.exec(ref);
  if (!m) {
    return 'must be an image reference like "registry.example.com/team/app:1.2" or "team/app@sha256:<64 hex>" (lowercase name, no spaces or shell characters)';
  }
  if ((m[1] ?? '').length > 255) return 'must have a name (registry and path) of at most 255 characters';
  if (m[2] === undefined && m[3] === undefined)
    return 'must name a tag (":1.2") or a digest ("@sha256:<64 hex>")';
  return null;
}

const seconds = (options: { exclusiveMinimum?: number; minimum?: number }) =>
  Type.Optional(Type.Number(options));
const count = (minimum: number) => Type.Optional(Type.Integer({ minimum }));

const RETRY_CONDITION = Type.Enum(['server_error', 'timeout', 'connection_error']);
const RETRY_BUDGET = Type.Object({ retries: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });

/** TypeBox schema of `hangar.json` as written by users (defaults not yet applied). */
export const AppManifestSchema = Type.Object(
  {
    name: Type.String({ pattern: APP_NAME_PATTERN }),
    command: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    image: Type.Optional(Type.String({ minLength: 1, maxLength: IMAGE_REFERENCE_MAX })),
    machine_type: Type.String({ minLength: 1 }),
    gpus: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    environment: Type.Optional(Type.String({ pattern: APP_NAME_PATTERN })),
    auth_mode: Type.Optional(Type.Enum(['private', 'public', 'shared'])),
    keep_alive: seconds({ minimum: 0 }),
    min_concurrency: count(0),
    max_concurrency: count(1),
    max_multiplexing: count(1),
    request_timeout: seconds({ exclusiveMinimum: 0 }),
    startup_timeout: seconds({ exclusiveMinimum: 0 }),
    scaling_delay: seconds({ minimum: 0 }),
    concurrency_buffer: count(0),
    health_path: Type.Optional(Type.String({ pattern: '^/' })),
    routes: Type.Optional(Type.Array(Type.String({ pattern: '^/' }), { minItems: 1 })),
    websocket_routes: Type.Optional(Type.Array(Type.String({ pattern: '^/' }))),
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    skip_retry_conditions: Type.Optional(Type.Array(RETRY_CONDITION, { uniqueItems: true })),
    retry_config: Type.Optional(
      Type.Object(
        {
          server_error: Type.Optional(RETRY_BUDGET),
          timeout: Type.Optional(RETRY_BUDGET),
          connection_error: Type.Optional(RETRY_BUDGET),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** A manifest as written, before defaults. */
export type AppManifestInput = Static<typeof AppManifestSchema>;

/** Defaults applied to every optional manifest field. */
export const MANIFEST_DEFAULTS = {
  environment: 'main',
  auth_mode: 'private',
  keep_alive: 300,
  min_concurrency: 0,
  max_concurrency: 2,
  max_multiplexing: 1,
  request_timeout: 3600,
  startup_timeout: 300,
  scaling_delay: 0,
  concurrency_buffer: 0,
  health_path: '/health',
  routes: ['/'],
  websocket_routes: [],
  env: {},
} as const;

/**
 * Validates a `hangar.json` document and applies defaults. Throws MANIFEST_INVALID naming the field,
 * or MACHINE_TYPE_UNKNOWN when `machine_type` is not one of `machineTypes`.
 */
export function parseManifest(json: unknown, machineTypes: readonly string[]): AppManifest {
  const problem = describeSchemaError(AppManifestSchema, json);
  if (problem) throw invalid(problem);
  const input = json as AppManifestInput;
  const manifest: AppManifest = {
    ...MANIFEST_DEFAULTS,
    ...structuredClone(input),
    routes: [...(input.routes ?? MANIFEST_DEFAULTS.routes)],
    websocket_routes: [...(input.websocket_routes ?? [])],
    env: { ...(input.env ?? {}) },
  } as AppManifest;
  checkRules(manifest);
  if (!machineTypes.includes(manifest.machine_type)) {
    throw new PlatformError(
      'MACHINE_TYPE_UNKNOWN',
      `unknown machine_type "${manifest.machine_type}"; known: ${machineTypes.join(', ')}`,
    );
  }
  return manifest;
}

function invalid(problem: string): PlatformError {
  return new PlatformError('MANIFEST_INVALID', `hangar.json: ${problem}`);
}

/** Cross-field rules a JSON schema cannot express clearly. */
function checkRules(m: AppManifest): void {
  checkArtifact(m);
  if (m.max_concurrency < m.min_concurrency) {
    throw invalid(`max_concurrency (${m.max_concurrency}) must be >= min_concurrency (${m.min_concurrency})`);
  }
  checkRoutes(m.routes, 'routes');
  checkRoutes(m.websocket_routes ?? [], 'websocket_routes');
  if (m.health_path.split('/').includes('..')) throw invalid('health_path must not contain ".."');
  for (const key of Object.keys(m.env)) {
    if (!ENV_NAME.test(key)) throw invalid(`env.${key} is not a valid environment variable name`);
    if (RESERVED_ENV.has(key)) throw invalid(`env.${key} is set by the platform and cannot be overridden`);
  }
}

/** Exactly one form: a bundled app names its `command`; an image app its `image` (`command` optional). */
function checkArtifact(m: AppManifest): void {
  if (m.image === undefined) {
    if (m.command === undefined) throw invalid('command is required (or image, for an image app)');
    return;
  }
  const problem = imageReferenceProblem(m.image);
  if (problem) throw invalid(`image ${problem}`);
}

/** Rules shared by HTTP and WebSocket routes: plain paths, unique, clear of the queue's URLs. */
function checkRoutes(routes: readonly string[], name: string): void {
  routes.forEach((route, i) => {
    const field = `${name}[${i}]`;
    if (route.split('/').includes('..')) throw invalid(`${field} must not contain ".."`);
    if (/[?#\s]/.test(route)) throw invalid(`${field} must be a plain path (no query, fragment or spaces)`);
    if (route === '/requests' || route.startsWith('/requests/')) {
      throw invalid(`${field} must not be under "/requests" (reserved by queue URLs)`);
    }
    if (routes.indexOf(route) !== i) throw invalid(`${field} duplicates "${route}"`);
  });
}

/**
 * The first problem found validating `value` against `schema`, as `<field> <what is wrong>` with the
 * field as a JSON path (`limits.body_limit`, `command[0]`); null when valid.
 */
export function describeSchemaError(schema: TSchema, value: unknown): string | null {
  for (const e of Value.Errors(schema, value)) {
    const path = renderPath(e.instancePath);
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'boolean':
        continue;
      case 'additionalProperties': {
        const names = (params['additionalProperties'] as string[] | undefined) ?? [];
        return `${joinPath(path, names[0] ?? '?')} is an unknown field`;
      }
      case 'required': {
        const names = (params['requiredProperties'] as string[] | undefined) ?? [];
        return `${joinPath(path, names[0] ?? '?')} is required`;
      }
      case 'enum': {
        const allowed = (params['allowedValues'] as unknown[] | undefined) ?? [];
        return `${path || 'value'} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
      }
      default:
        return `${path || 'value'} ${e.message}`;
    }
  }
  return null;
}

function joinPath(base: string, key: string): string {
  if (/^\d+$/.test(key)) return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}

function renderPath(pointer: string): string {
  if (!pointer) return '';
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce(joinPath, '');
}
