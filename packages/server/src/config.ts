import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { type BundleLimits, type JsonInputLimits, type MachineType, OWNER_NAME_PATTERN } from '@hangar/core';
import { type ClusterConfigFile, type ClusterSettings, clusterSettings } from './config-cluster.js';
import {
  CONFIG_FILE,
  ConfigError,
  ConfigFileSchema,
  DEFAULT_MACHINE_TYPES,
  fileSections,
  mergeMachineTypes,
  readConfigFile,
} from './config-file.js';
import type { KubernetesSettings } from './config-kubernetes.js';
import { type PostgresSettings, postgresSettings } from './config-postgres.js';
import type { GpuCard } from './runners/gpus/inventory.js';
import type { SandboxSettings } from './runners/sandbox/index.js';
import { parseStorageLocation, type StorageLocation } from './storage-location.js';

export { CONFIG_FILE, ConfigError, ConfigFileSchema, DEFAULT_MACHINE_TYPES };

/** The options a command line may set (already parsed, or parsed from argv by `parseFlags`). */
export interface ConfigFlags {
  port?: number | string;
  host?: string;
  home?: string;
  /** `--redis-url` (cluster mode). */
  redisUrl?: string;
  /** `--database-url` (PostgreSQL). */
  databaseUrl?: string;
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
  'HANGAR_STORAGE_URL',
  'HANGAR_S3_ENDPOINT',
  'HANGAR_S3_REGION',
  'HANGAR_NODE_ID',
  'HANGAR_SECRETS_KEY',
  'HANGAR_SECRETS_KEY_PREVIOUS',
  'HANGAR_REDIS_URL',
  'HANGAR_DATABASE_URL',
] as const;

/** Command-line flags read by `loadConfig`. */
export const CONFIG_FLAGS = ['--port', '--host', '--home', '--redis-url', '--database-url'] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['auto', 'text', 'json'] as const;

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
  /** This node's name (`HANGAR_NODE_ID`, default the host name), put on every runner it starts as a label. */
  readonly nodeId: string;
  /** The cluster's Redis (`HANGAR_REDIS_URL`, `--redis-url`); null: shared state stays in this process. */
  readonly redisUrl: string | null;
  readonly machineTypes: Readonly<Record<string, Readonly<MachineType>>>;
  /** The config file's GPU list (`gpus`), which replaces what nvidia-smi reports; null: ask nvidia-smi. */
  readonly gpus: readonly Readonly<GpuCard>[] | null;
  /** Owner → percent discount (0–100). */
  readonly discounts: Readonly<Record<string, number>>;
  readonly limits: {
    readonly bodyLimit: number;
    readonly jsonPayloadCap: number;
    /** Request payloads larger than this live in the object storage, not in the database. */
    readonly payloadStoreBytes: number;
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
  readonly webhooks: {
    readonly allowPrivate: boolean;
    readonly allowlist: readonly string[];
    /** First webhook retry delay, doubled per retry (`webhooks.retry_base_s`). */
    readonly retryBaseS: number;
  };
  readonly files: {
    readonly urlAllowlist: readonly string[];
    /** With S3 storage, downloads of at least this many bytes redirect to a signed URL (0: never). */
    readonly downloadRedirectBytes: number;
    readonly downloadRedirectTtlS: number;
    /** With disk storage, bytes the cache of folders' sorted names (paged listings) may hold; 0: none. */
    readonly listCacheBytes: number;
  };
  /** fal's storage API (`/storage/upload/…` and the `file_url`s it hands out). */
  readonly storage: {
    readonly maxObjectBytes: number;
    /** Per-owner bytes of stored objects and pending upload parts (separate from the Files API quota). */
    readonly quotaBytes: number;
    readonly uploadUrlTtlS: number;
    readonly sweepIntervalS: number;
    /** With S3 storage: how often a node syncs the cache of an owner whose runners run there. */
    readonly syncIntervalS: number;
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
    /** Where runners run: local processes (sandboxed per `isolation`) or Kubernetes Pods. */
    readonly driver: 'process' | 'kubernetes';
    /**
     * The `docker` or `podman` CLI (a path, or a name looked up on PATH) that runs image apps; null:
     * image apps are refused.
     */
    readonly containerCli: string | null;
    readonly sandbox: SandboxSettings;
  };
  /** Cluster mode (`HANGAR_REDIS_URL`) and this node's membership settings. */
  readonly cluster: ClusterSettings;
  /** PostgreSQL (cluster mode) when `url` is set, else the SQLite file `dbPath`. */
  readonly postgres: PostgresSettings;
  /** The Kubernetes runner driver's settings (used when `runners.driver` is `kubernetes`). */
  readonly kubernetes: KubernetesSettings;
  /** The server's PATH, where the runner sandbox's tools are looked up. */
  readonly searchPath: string;
  /** Server-private state of the runner sandbox (owner uids, pid files). */
  readonly sandboxDir: string;
  /** Server-private state of running runners (`HANGAR_HOME/run/runners`), for orphan discovery. */
  readonly runnersStateDir: string;
  /** SQLite database file. */
  readonly dbPath: string;
  /** Where the generated admin key is written. */
  readonly adminKeyPath: string;
  /** Deploy bundles: archives and unpacked trees by digest. */
  readonly bundlesDir: string;
  /** With S3 storage: this node's caches of owners' files (runners' DATA_DIRs) and their manifests. */
  readonly cacheDir: string;
  /** `HANGAR_HOME/storage`: the upload-signing secret, and the objects when they are on this disk. */
  readonly storageDir: string;
  /** Where objects live (`HANGAR_STORAGE_URL`): fal storage uploads and upload parts, app bundles. */
  readonly objectStorage: StorageLocation;
  /** An owner's file storage root (the runners' DATA_DIR and what the Files API serves). */
  dataRoot(owner: string): string;
  /** Keys sealing owners' secrets (32 bytes each, as hex); see docs/config.md, Secrets. */
  readonly secrets: {
    /** HANGAR_SECRETS_KEY, else null: the key in `keyPath` is used (created on first use). */
    readonly key: string | null;
    /** HANGAR_SECRETS_KEY_PREVIOUS: still opens what it sealed, which start-up re-seals with the key. */
    readonly previousKey: string | null;
    readonly keyPath: string;
  };
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
    flags[(name ?? '').slice(2).replace(/-(\w)/g, (_, c: string) => c.toUpperCase())] = value;
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
    nodeId: parseNodeId(env['HANGAR_NODE_ID']),
    redisUrl: parseRedisUrl(f.redisUrl ?? env['HANGAR_REDIS_URL']),
    machineTypes: mergeMachineTypes(file.machine_types ?? {}),
    discounts: { ...file.discounts },
    ...fileSections(file),
    cluster: parseCluster(file.cluster, parseRedisUrl(f.redisUrl ?? env['HANGAR_REDIS_URL'])),
    postgres: postgresSettings(
      file.postgres,
      f.databaseUrl,
      env['HANGAR_DATABASE_URL'],
      (m) => new ConfigError(m),
    ),
    searchPath: env['PATH'] ?? '',
    sandboxDir: join(home, 'sandbox'),
    runnersStateDir: join(home, 'run', 'runners'),
    dbPath: join(home, 'hangar.db'),
    adminKeyPath: join(home, 'admin.key'),
    bundlesDir: join(home, 'bundles'),
    cacheDir: join(home, 'cache'),
    storageDir: join(home, 'storage'),
    objectStorage: parseStorageLocation(env, file.storage?.s3, join(home, 'storage')),
    dataRoot: (owner: string) => join(home, 'data', owner),
    secrets: {
      key: parseSecretsKey(env['HANGAR_SECRETS_KEY'], 'HANGAR_SECRETS_KEY'),
      previousKey: parseSecretsKey(env['HANGAR_SECRETS_KEY_PREVIOUS'], 'HANGAR_SECRETS_KEY_PREVIOUS'),
      keyPath: join(home, 'secrets.key'),
    },
  };
  if (config.redisUrl !== null && config.postgres.url === null) {
    throw new ConfigError(
      'HANGAR_REDIS_URL (--redis-url) needs HANGAR_DATABASE_URL (--database-url): every node of a cluster must read the same PostgreSQL database',
    );
  }
  return deepFreeze(config);
}

function parsePort(picked: { value: string; source: string } | null): number {
  if (!picked) return 8080;
  const port = Number(picked.value);
  if (!/^\d+$/.test(picked.value) || port > 65535) {
    throw new ConfigError(`${picked.source} must be an integer from 0 to 65535 (got "${picked.value}")`);
  }
  return port;
}

/** `redis://` or `rediss://` URL; the message never repeats the value, which may hold a password. */
function parseRedisUrl(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  let scheme = '';
  try {
    scheme = new URL(value).protocol;
  } catch {
    // Reported below without the value.
  }
  if (scheme !== 'redis:' && scheme !== 'rediss:') {
    throw new ConfigError('HANGAR_REDIS_URL (--redis-url) must be a redis:// or rediss:// URL');
  }
  return value;
}

/** A node id is a Kubernetes label value: at most 63 letters, digits, `.`, `_`, `-`, alphanumeric at both ends. */
const NODE_ID = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

function parseNodeId(value: string | undefined): string {
  if (value === undefined || value === '') {
    // A host name that is no valid label (too long, odd characters) is made into one.
    const name = hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 63)
      .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
    return name === '' ? 'node' : name;
  }
  if (!NODE_ID.test(value)) {
    throw new ConfigError(
      `HANGAR_NODE_ID must be 1 to 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit (got "${value}")`,
    );
  }
  return value;
}

function parseCluster(file: ClusterConfigFile | undefined, redisUrl: string | null): ClusterSettings {
  try {
    return clusterSettings(file, redisUrl);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
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

/** A 32-byte key given as 64 hex digits or as base64 (with or without padding); answered as hex. */
export function parseSecretsKey(value: string | undefined, source: string): string | null {
  if (value === undefined || value.trim() === '') return null;
  const text = value.trim();
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) key = Buffer.from(text, 'base64');
  if (key?.length !== 32) {
    throw new ConfigError(
      `${source} must be 32 bytes as 64 hex digits or base64 (e.g. openssl rand -base64 32)`,
    );
  }
  return key.toString('hex');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
