import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type BundleLimits,
  DEFAULT_BUNDLE_LIMITS,
  describeSchemaError,
  type JsonInputLimits,
  type MachineType,
  OWNER_NAME_PATTERN,
} from '@hangar/core';
import { type Static, Type } from 'typebox';
import { createAllowlist, splitUrlAllowlist } from './net/address-policy.js';
import type { SandboxSettings } from './runners/sandbox/index.js';

/** Thrown for any invalid option; the CLI prints its message and exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The options a command line may set (already parsed, or parsed from argv by `parseFlags`). */
export interface ConfigFlags {
  port?: number | string;
  host?: string;
  home?: string;
}

/** Environment variables read by `loadConfig` (the only place the server reads the environment). */
export const CONFIG_ENV = [
  'HANGAR_PORT',
  'HANGAR_HOST',
  'HANGAR_HOME',
  'HANGAR_OWNER',
  'HANGAR_ADMIN_KEY',
  'HANGAR_PUBLIC_URL',
  'HANGAR_LOG_LEVEL',
  'HANGAR_LOG_FORMAT',
] as const;

/** Command-line flags read by `loadConfig`. */
export const CONFIG_FLAGS = ['--port', '--host', '--home'] as const;

/** Name of the optional config file inside HANGAR_HOME. */
export const CONFIG_FILE = 'hangar.config.json';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['auto', 'text', 'json'] as const;

/**
 * Shipped machine types. A100 and H100 follow fal's published hourly rates ($0.99/h, $1.89/h); B200
 * ($2.99/h) and CPU ($0.108/h, a 2-vCPU instance) are estimates in the same range as public cloud prices.
 */
export const DEFAULT_MACHINE_TYPES: Readonly<Record<string, MachineType>> = {
  CPU: { unitPrice: 0.00003, gpuLabel: 'CPU', reservedRunners: 100, surgeMultiplier: 1 },
  'GPU-A100': { unitPrice: 0.000275, gpuLabel: 'NVIDIA A100', reservedRunners: 4, surgeMultiplier: 1.5 },
  'GPU-H100': { unitPrice: 0.000525, gpuLabel: 'NVIDIA H100', reservedRunners: 4, surgeMultiplier: 1.5 },
  'GPU-B200': { unitPrice: 0.00083, gpuLabel: 'NVIDIA B200', reservedRunners: 4, surgeMultiplier: 1.5 },
};

/**
 * Highest `limits.json_input.max_depth` accepted: deeper values overflow the recursion of common JSON
 * tools (Python's json module stops at its default recursion limit of 1,000).
 */
const MAX_JSON_DEPTH = 1000;

const int = (minimum: number) => Type.Optional(Type.Integer({ minimum }));
const strict = { additionalProperties: false } as const;

/** TypeBox schema of `hangar.config.json`; every field is optional and unknown keys are rejected. */
export const ConfigFileSchema = Type.Object(
  {
    machine_types: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$' }),
        Type.Object(
          {
            unit_price: Type.Optional(Type.Number({ minimum: 0 })),
            gpu_label: Type.Optional(Type.String({ minLength: 1 })),
            reserved_runners: int(0),
            surge_multiplier: Type.Optional(Type.Number({ minimum: 1 })),
          },
          strict,
        ),
        strict,
      ),
    ),
    discounts: Type.Optional(
      Type.Record(
        Type.String({ pattern: OWNER_NAME_PATTERN }),
        Type.Number({ minimum: 0, maximum: 100 }),
        strict,
      ),
    ),
    storage_quotas: Type.Optional(
      Type.Record(
        Type.String({ pattern: OWNER_NAME_PATTERN }),
        Type.Object({ bytes: int(0), files: int(0) }, strict),
        strict,
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          body_limit: int(1),
          json_payload_cap: int(0),
          result_ttl_s: int(1),
          rate_limit: Type.Optional(
            Type.Object(
              { requests_per_second: Type.Optional(Type.Number({ minimum: 0 })), burst: int(1) },
              strict,
            ),
          ),
          max_sse_streams_per_key: int(1),
          auth_failures: Type.Optional(
            Type.Object(
              { per_address: int(0), per_key: int(0), window_s: int(1), max_tracked: int(1) },
              strict,
            ),
          ),
          max_upload_bytes: int(1),
          max_range_days: int(1),
          json_input: Type.Optional(
            Type.Object(
              {
                max_depth: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_JSON_DEPTH })),
                max_items: int(1),
                max_string_bytes: int(1),
              },
              strict,
            ),
          ),
          query_timeout_ms: int(0),
          max_bundle_bytes: int(1),
          max_bundle_unpacked_bytes: int(1),
          max_bundle_files: int(1),
          storage_quota_bytes: int(0),
          storage_quota_files: int(0),
        },
        strict,
      ),
    ),
    retries: Type.Optional(Type.Object({ max_attempts: int(1) }, strict)),
    shutdown_deadline_ms: int(0),
    webhooks: Type.Optional(
      Type.Object(
        { allow_private: Type.Optional(Type.Boolean()), allowlist: Type.Optional(Type.Array(Type.String())) },
        strict,
      ),
    ),
    files: Type.Optional(Type.Object({ url_allowlist: Type.Optional(Type.Array(Type.String())) }, strict)),
    storage: Type.Optional(
      Type.Object(
        { max_object_bytes: int(1), quota_bytes: int(0), upload_url_ttl_s: int(1), sweep_interval_s: int(1) },
        strict,
      ),
    ),
    metrics: Type.Optional(Type.Object({ cache_ttl_s: int(0) }, strict)),
    runners: Type.Optional(
      Type.Object(
        {
          sample_interval_ms: int(1),
          meter_interval_ms: int(1),
          isolation: Type.Optional(Type.Enum(['auto', 'sandbox', 'none', 'trusted'])),
          sandbox: Type.Optional(
            Type.Object(
              {
                memory_mb: int(16),
                pids_max: int(8),
                nofile: int(64),
                tmp_mb: int(1),
                uid_base: Type.Optional(Type.Integer({ minimum: 1000, maximum: 2_000_000_000 })),
                ro_paths: Type.Optional(Type.Array(Type.String({ pattern: '^/' }))),
                egress: Type.Optional(Type.Enum(['none', 'proxy'])),
                egress_allowlist: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
              },
              strict,
            ),
          ),
        },
        strict,
      ),
    ),
  },
  strict,
);

type ConfigFile = Static<typeof ConfigFileSchema>;

/** Everything the server is configured with; deep-frozen. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Absolute HANGAR_HOME. */
  readonly home: string;
  /** Owner created on first start with the admin key. */
  readonly owner: string;
  /** `id:secret` from HANGAR_ADMIN_KEY, else null (a key is generated). */
  readonly adminKey: string | null;
  /** Base URL put in queue status/response/cancel URLs. */
  readonly publicUrl: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** `text` lines, pino's `json`, or `auto`: text when stdout is a terminal, else JSON. */
  readonly logFormat: (typeof LOG_FORMATS)[number];
  readonly machineTypes: Readonly<Record<string, Readonly<MachineType>>>;
  /** Owner → percent discount (0–100). */
  readonly discounts: Readonly<Record<string, number>>;
  readonly limits: {
    readonly bodyLimit: number;
    readonly jsonPayloadCap: number;
    readonly resultTtlS: number;
    readonly rateLimit: { readonly requestsPerSecond: number; readonly burst: number };
    readonly maxSseStreamsPerKey: number;
    /** Failed-authentication budgets (0 disables one); see `limits.auth_failures` in docs/config.md. */
    readonly authFailures: {
      readonly perAddress: number;
      readonly perKey: number;
      readonly windowS: number;
      readonly maxTracked: number;
    };
    readonly maxUploadBytes: number;
    readonly maxRangeDays: number;
    /** How complex a JSON body the gateway accepts. */
    readonly jsonInput: JsonInputLimits;
    /** Deadline of a Platform API read on its query thread, in ms (0: none). */
    readonly queryTimeoutMs: number;
    /** Caps on one deploy bundle (compressed, unpacked, entries). */
    readonly bundle: Readonly<BundleLimits>;
    readonly storageQuotaBytes: number;
    readonly storageQuotaFiles: number;
  };
  /** Owner → storage quota overriding `limits.storage_quota_*` for that owner. */
  readonly storageQuotas: Readonly<Record<string, { readonly bytes?: number; readonly files?: number }>>;
  readonly retries: { readonly maxAttempts: number };
  readonly shutdownDeadlineMs: number;
  readonly webhooks: { readonly allowPrivate: boolean; readonly allowlist: readonly string[] };
  readonly files: { readonly urlAllowlist: readonly string[] };
  /** fal's storage API (`/storage/upload/…` and the `file_url`s it hands out). */
  readonly storage: {
    readonly maxObjectBytes: number;
    /** Per-owner bytes of stored objects and pending upload parts (separate from the Files API quota). */
    readonly quotaBytes: number;
    readonly uploadUrlTtlS: number;
    readonly sweepIntervalS: number;
  };
  readonly metrics: { readonly cacheTtlS: number };
  readonly runners: {
    readonly sampleIntervalMs: number;
    readonly meterIntervalMs: number;
    /**
     * `auto`: sandbox runners when the host can, else single-tenant; `sandbox`: required; `none`:
     * single-tenant without a sandbox; `trusted`: no sandbox and any number of owners who trust each other.
     */
    readonly isolation: 'auto' | 'sandbox' | 'none' | 'trusted';
    readonly sandbox: SandboxSettings;
  };
  /** The server's PATH, where the runner sandbox's tools are looked up. */
  readonly searchPath: string;
  /** Server-private state of the runner sandbox (owner uids, pid files). */
  readonly sandboxDir: string;
  /** SQLite database file. */
  readonly dbPath: string;
  /** Where the generated admin key is written. */
  readonly adminKeyPath: string;
  /** Deploy bundles: archives and unpacked trees by digest. */
  readonly bundlesDir: string;
  /** `HANGAR_HOME/storage`: fal storage objects, upload parts and the upload-signing secret. */
  readonly storageDir: string;
  /** An owner's file storage root (the runners' DATA_DIR and what the Files API serves). */
  dataRoot(owner: string): string;
}

/** Parses `--port 9000` / `--port=9000`, `--host`, `--home` out of argv; other arguments are ignored. */
export function parseFlags(argv: readonly string[]): ConfigFlags {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg];
    if (!(CONFIG_FLAGS as readonly string[]).includes(name ?? '')) continue;
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new ConfigError(`${name} needs a value`);
    flags[(name ?? '').slice(2)] = value;
  }
  return flags;
}

/**
 * Builds the configuration from flags (argv or already parsed), the environment and
 * `HANGAR_HOME/hangar.config.json`; flags win over env, env over defaults. Throws ConfigError.
 */
export function loadConfig(
  flags: readonly string[] | ConfigFlags,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Config {
  const f = Array.isArray(flags) ? parseFlags(flags) : (flags as ConfigFlags);
  const pick = (flag: string | number | undefined, name: (typeof CONFIG_ENV)[number]) => {
    if (flag !== undefined && flag !== '')
      return { value: String(flag), source: `--${name.slice(7).toLowerCase()}` };
    const value = env[name];
    return value === undefined || value === '' ? null : { value, source: name };
  };
  const port = parsePort(pick(f.port, 'HANGAR_PORT'));
  const host = pick(f.host, 'HANGAR_HOST')?.value ?? '127.0.0.1';
  const home = resolve(cwd, pick(f.home, 'HANGAR_HOME')?.value ?? '.hangar');
  const file = readConfigFile(join(home, CONFIG_FILE));
  const config: Config = {
    port,
    host,
    home,
    owner: parseOwner(env['HANGAR_OWNER']),
    adminKey: parseAdminKey(env['HANGAR_ADMIN_KEY']),
    publicUrl: parsePublicUrl(env['HANGAR_PUBLIC_URL'], host, port),
    logLevel: parseLogLevel(env['HANGAR_LOG_LEVEL']),
    logFormat: parseLogFormat(env['HANGAR_LOG_FORMAT']),
    machineTypes: mergeMachineTypes(file.machine_types ?? {}),
    discounts: { ...file.discounts },
    ...fileSections(file),
    searchPath: env['PATH'] ?? '',
    sandboxDir: join(home, 'sandbox'),
    dbPath: join(home, 'hangar.db'),
    adminKeyPath: join(home, 'admin.key'),
    bundlesDir: join(home, 'bundles'),
    storageDir: join(home, 'storage'),
    dataRoot: (owner: string) => join(home, 'data', owner),
  };
  return deepFreeze(config);
}

const MIB = 1024 * 1024;

function fileSections(file: ConfigFile) {
  const l = file.limits ?? {};
  const sb = file.runners?.sandbox ?? {};
  const bodyLimit = l.body_limit ?? 10 * 1024 * 1024;
  return {
    limits: {
      bodyLimit,
      jsonPayloadCap: l.json_payload_cap ?? 64 * 1024,
      resultTtlS: l.result_ttl_s ?? 3600,
      rateLimit: {
        requestsPerSecond: l.rate_limit?.requests_per_second ?? 10_000,
        burst: l.rate_limit?.burst ?? 20_000,
      },
      maxSseStreamsPerKey: l.max_sse_streams_per_key ?? 10,
      authFailures: {
        perAddress: l.auth_failures?.per_address ?? 20,
        perKey: l.auth_failures?.per_key ?? 100,
        windowS: l.auth_failures?.window_s ?? 60,
        maxTracked: l.auth_failures?.max_tracked ?? 100_000,
      },
      maxUploadBytes: l.max_upload_bytes ?? 1024 * 1024 * 1024,
      maxRangeDays: l.max_range_days ?? 90,
      jsonInput: {
        maxDepth: l.json_input?.max_depth ?? 64,
        maxItems: l.json_input?.max_items ?? 100_000,
        // Long strings are real inputs (prompts, base64 data URIs): by default only the body limit bounds them.
        maxStringBytes: l.json_input?.max_string_bytes ?? bodyLimit,
      },
      queryTimeoutMs: l.query_timeout_ms ?? 30_000,
      bundle: {
        maxBytes: l.max_bundle_bytes ?? DEFAULT_BUNDLE_LIMITS.maxBytes,
        maxUnpackedBytes: l.max_bundle_unpacked_bytes ?? DEFAULT_BUNDLE_LIMITS.maxUnpackedBytes,
        maxFiles: l.max_bundle_files ?? DEFAULT_BUNDLE_LIMITS.maxFiles,
      },
      storageQuotaBytes: l.storage_quota_bytes ?? 100 * 1024 ** 3,
      storageQuotaFiles: l.storage_quota_files ?? 1_000_000,
    },
    storageQuotas: { ...file.storage_quotas },
    retries: { maxAttempts: file.retries?.max_attempts ?? 3 },
    shutdownDeadlineMs: file.shutdown_deadline_ms ?? 10_000,
    webhooks: {
      allowPrivate: file.webhooks?.allow_private ?? false,
      allowlist: checkAllowlist('webhooks.allowlist', file.webhooks?.allowlist ?? [], createAllowlist),
    },
    files: {
      urlAllowlist: checkAllowlist('files.url_allowlist', file.files?.url_allowlist ?? [], splitUrlAllowlist),
    },
    storage: {
      maxObjectBytes: file.storage?.max_object_bytes ?? 5 * 1024 ** 3,
      quotaBytes: file.storage?.quota_bytes ?? 10 * 1024 ** 3,
      uploadUrlTtlS: file.storage?.upload_url_ttl_s ?? 3600,
      sweepIntervalS: file.storage?.sweep_interval_s ?? 60,
    },
    metrics: { cacheTtlS: file.metrics?.cache_ttl_s ?? 10 },
    runners: {
      sampleIntervalMs: file.runners?.sample_interval_ms ?? 5000,
      meterIntervalMs: file.runners?.meter_interval_ms ?? 5000,
      isolation: file.runners?.isolation ?? 'auto',
      sandbox: {
        memoryBytes: (sb.memory_mb ?? 4096) * MIB,
        pidsMax: sb.pids_max ?? 1024,
        nofile: sb.nofile ?? 65_536,
        tmpBytes: (sb.tmp_mb ?? 1024) * MIB,
        uidBase: sb.uid_base ?? 200_000,
        roPaths: [...(sb.ro_paths ?? [])],
        egress: sb.egress ?? 'none',
        egressAllowlist: [...(sb.egress_allowlist ?? [])],
      },
    },
  };
}

/** Validates an allowlist with the parser that will use it, so a bad entry fails at load (exit 2). */
function checkAllowlist(key: string, entries: string[], parse: (entries: string[]) => unknown): string[] {
  try {
    parse(entries);
  } catch (err) {
    throw new ConfigError(`${CONFIG_FILE}: ${key}: ${(err as Error).message}`);
  }
  return [...entries];
}

function readConfigFile(path: string): ConfigFile {
  if (!existsSync(path)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const problem = describeSchemaError(ConfigFileSchema, json);
  if (problem) throw new ConfigError(`${path}: ${problem}`);
  return json as ConfigFile;
}

function mergeMachineTypes(entries: NonNullable<ConfigFile['machine_types']>): Record<string, MachineType> {
  const merged: Record<string, MachineType> = { ...DEFAULT_MACHINE_TYPES };
  for (const [name, e] of Object.entries(entries)) {
    const known = DEFAULT_MACHINE_TYPES[name];
    if (!known) {
      for (const field of ['unit_price', 'gpu_label', 'reserved_runners', 'surge_multiplier'] as const) {
        if (e[field] === undefined) {
          throw new ConfigError(
            `${CONFIG_FILE}: machine_types.${name}.${field} is required for a new machine type`,
          );
        }
      }
    }
    merged[name] = {
      unitPrice: e.unit_price ?? known!.unitPrice,
      gpuLabel: e.gpu_label ?? known!.gpuLabel,
      reservedRunners: e.reserved_runners ?? known!.reservedRunners,
      surgeMultiplier: e.surge_multiplier ?? known!.surgeMultiplier,
    };
  }
  return merged;
}

function parsePort(picked: { value: string; source: string } | null): number {
  if (!picked) return 8080;
  const port = Number(picked.value);
  if (!/^\d+$/.test(picked.value) || port > 65535) {
    throw new ConfigError(`${picked.source} must be an integer from 0 to 65535 (got "${picked.value}")`);
  }
  return port;
}

function parseOwner(value: string | undefined): string {
  if (value === undefined || value === '') return 'demo';
  if (!new RegExp(OWNER_NAME_PATTERN).test(value)) {
    throw new ConfigError(`HANGAR_OWNER must match ${OWNER_NAME_PATTERN} (got "${value}")`);
  }
  return value;
}

function parseAdminKey(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1 || /\s/.test(value)) {
    throw new ConfigError('HANGAR_ADMIN_KEY must look like <key_id>:<secret>');
  }
  return value;
}

function parsePublicUrl(value: string | undefined, host: string, port: number): string {
  if (value === undefined || value === '') {
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${port}`;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`HANGAR_PUBLIC_URL is not a URL (got "${value}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('HANGAR_PUBLIC_URL must be an http or https URL');
  }
  return value.replace(/\/+$/, '');
}

function parseLogLevel(value: string | undefined): Config['logLevel'] {
  if (value === undefined || value === '') return 'info';
  const level = LOG_LEVELS.find((l) => l === value);
  if (!level) throw new ConfigError(`HANGAR_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

function parseLogFormat(value: string | undefined): Config['logFormat'] {
  if (value === undefined || value === '') return 'auto';
  const format = LOG_FORMATS.find((f) => f === value);
  if (!format) throw new ConfigError(`HANGAR_LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}`);
  return format;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
