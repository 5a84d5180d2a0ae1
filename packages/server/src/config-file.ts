// hangar.config.json: its schema, reading and validating it, and turning its sections into the
// configuration's shape. No environment here: config.ts is the only reader of process.env.
import { existsSync, readFileSync } from 'node:fs';
import {
  DEFAULT_BUNDLE_LIMITS,
  describeSchemaError,
  type MachineType,
  OWNER_NAME_PATTERN,
  WEBHOOK_RETRY_BASE_MS,
} from '@hangar/core';
import { type Static, Type } from 'typebox';
import { ClusterConfigSchema } from './config-cluster.js';
import { KubernetesConfigSchema, kubernetesSettings } from './config-kubernetes.js';
import { PostgresConfigSchema } from './config-postgres.js';
import { createAllowlist, splitUrlAllowlist } from './net/address-policy.js';

/** Thrown for any invalid option; the CLI prints its message and exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Name of the optional config file inside HANGAR_HOME. */
export const CONFIG_FILE = 'hangar.config.json';

/**
 * Shipped machine types. A100 and H100 follow fal's published hourly rates ($0.99/h, $1.89/h); B200
 * ($2.99/h) and CPU ($0.108/h, a 2-vCPU instance) are estimates in the same range as public cloud prices.
 */
/** No GPU, the driver's default CPU and memory, no placement hints. */
const NO_HARDWARE = { gpus: 0, gpuProduct: null, cpu: null, memoryMb: null, placement: null } as const;

export const DEFAULT_MACHINE_TYPES: Readonly<Record<string, MachineType>> = {
  CPU: {
    unitPrice: 0.00003,
    gpuLabel: 'CPU',
    reservedRunners: 100,
    surgeMultiplier: 1,
    ...NO_HARDWARE,
  },
  'GPU-A100': gpuType(0.000275, 'A100'),
  'GPU-H100': gpuType(0.000525, 'H100'),
  'GPU-B200': gpuType(0.00083, 'B200'),
};

/** A shipped GPU machine type: one card of `product`, four reserved runners, 1.5× surge. */
function gpuType(unitPrice: number, product: string): MachineType {
  return {
    unitPrice,
    gpuLabel: `NVIDIA ${product}`,
    reservedRunners: 4,
    surgeMultiplier: 1.5,
    ...NO_HARDWARE,
    gpus: 1,
    gpuProduct: product,
  };
}

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
            gpus: int(0),
            gpu_product: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
            cpu: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()])),
            memory_mb: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
            kubernetes: Type.Optional(
              Type.Object(
                {
                  node_selector: Type.Optional(Type.Record(Type.String(), Type.String())),
                  tolerations: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
                },
                strict,
              ),
            ),
          },
          strict,
        ),
        strict,
      ),
    ),
    gpus: Type.Optional(
      Type.Array(
        Type.Object(
          {
            index: Type.Integer({ minimum: 0 }),
            uuid: Type.String({ minLength: 1 }),
            name: Type.String({ minLength: 1 }),
            memory_mb: Type.Integer({ minimum: 0 }),
          },
          strict,
        ),
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
          payload_store_bytes: int(0),
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
        {
          allow_private: Type.Optional(Type.Boolean()),
          allowlist: Type.Optional(Type.Array(Type.String())),
          retry_base_s: Type.Optional(Type.Number({ minimum: 0.05, maximum: 3600 })),
        },
        strict,
      ),
    ),
    files: Type.Optional(
      Type.Object(
        {
          url_allowlist: Type.Optional(Type.Array(Type.String())),
          download_redirect_bytes: int(0),
          download_redirect_ttl_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 604_800 })),
          list_cache_bytes: int(0),
        },
        strict,
      ),
    ),
    postgres: Type.Optional(PostgresConfigSchema),
    storage: Type.Optional(
      Type.Object(
        {
          max_object_bytes: int(1),
          quota_bytes: int(0),
          upload_url_ttl_s: int(1),
          sweep_interval_s: int(1),
          sync_interval_s: int(1),
          s3: Type.Optional(
            Type.Object(
              {
                endpoint: Type.Optional(Type.String({ minLength: 1 })),
                region: Type.Optional(Type.String({ minLength: 1 })),
                force_path_style: Type.Optional(Type.Boolean()),
                access_key_id: Type.Optional(Type.String({ minLength: 1 })),
                secret_access_key: Type.Optional(Type.String({ minLength: 1 })),
                request_timeout_ms: int(1),
                max_attempts: int(1),
              },
              strict,
            ),
          ),
        },
        strict,
      ),
    ),
    metrics: Type.Optional(Type.Object({ cache_ttl_s: int(0) }, strict)),
    kubernetes: Type.Optional(KubernetesConfigSchema),
    cluster: Type.Optional(ClusterConfigSchema),
    runners: Type.Optional(
      Type.Object(
        {
          sample_interval_ms: int(1),
          meter_interval_ms: int(1),
          isolation: Type.Optional(Type.Enum(['auto', 'sandbox', 'none', 'trusted'])),
          driver: Type.Optional(Type.Enum(['process', 'kubernetes'])),
          container_cli: Type.Optional(Type.String({ pattern: '^(/[^\\s]*|[A-Za-z0-9._-]+)$' })),
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

export type ConfigFile = Static<typeof ConfigFileSchema>;

const MIB = 1024 * 1024;

export function fileSections(file: ConfigFile) {
  const l = file.limits ?? {};
  const sb = file.runners?.sandbox ?? {};
  const bodyLimit = l.body_limit ?? 10 * 1024 * 1024;
  return {
    gpus: file.gpus
      ? file.gpus.map((g) => ({ index: g.index, uuid: g.uuid, name: g.name, memoryMb: g.memory_mb }))
      : null,
    limits: {
      bodyLimit,
      jsonPayloadCap: l.json_payload_cap ?? 1024 * 1024,
      payloadStoreBytes: l.payload_store_bytes ?? 64 * 1024,
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
      maxRangeDays: l.max_range_days ?? 400,
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
    retries: { maxAttempts: file.retries?.max_attempts ?? 10 },
    shutdownDeadlineMs: file.shutdown_deadline_ms ?? 10_000,
    webhooks: {
      allowPrivate: file.webhooks?.allow_private ?? false,
      allowlist: checkAllowlist('webhooks.allowlist', file.webhooks?.allowlist ?? [], createAllowlist),
      retryBaseS: file.webhooks?.retry_base_s ?? WEBHOOK_RETRY_BASE_MS / 1000,
    },
    files: {
      urlAllowlist: checkAllowlist('files.url_allowlist', file.files?.url_allowlist ?? [], splitUrlAllowlist),
      downloadRedirectBytes: file.files?.download_redirect_bytes ?? 0,
      downloadRedirectTtlS: file.files?.download_redirect_ttl_s ?? 300,
      listCacheBytes: file.files?.list_cache_bytes ?? 64 * 1024 * 1024,
    },
    storage: {
      maxObjectBytes: file.storage?.max_object_bytes ?? 5 * 1024 ** 3,
      quotaBytes: file.storage?.quota_bytes ?? 10 * 1024 ** 3,
      uploadUrlTtlS: file.storage?.upload_url_ttl_s ?? 3600,
      sweepIntervalS: file.storage?.sweep_interval_s ?? 60,
      syncIntervalS: file.storage?.sync_interval_s ?? 5,
    },
    metrics: { cacheTtlS: file.metrics?.cache_ttl_s ?? 10 },
    kubernetes: kubernetesSettings(file.kubernetes),
    runners: {
      sampleIntervalMs: file.runners?.sample_interval_ms ?? 5000,
      meterIntervalMs: file.runners?.meter_interval_ms ?? 5000,
      isolation: file.runners?.isolation ?? 'auto',
      driver: file.runners?.driver ?? 'process',
      containerCli: file.runners?.container_cli ?? null,
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

export function readConfigFile(path: string): ConfigFile {
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

export function mergeMachineTypes(
  entries: NonNullable<ConfigFile['machine_types']>,
): Record<string, MachineType> {
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
      gpus: e.gpus ?? known?.gpus ?? 0,
      gpuProduct: e.gpu_product !== undefined ? e.gpu_product : (known?.gpuProduct ?? null),
      cpu: e.cpu !== undefined ? e.cpu : (known?.cpu ?? null),
      memoryMb: e.memory_mb !== undefined ? e.memory_mb : (known?.memoryMb ?? null),
      placement: e.kubernetes ? { kubernetes: e.kubernetes } : (known?.placement ?? null),
    };
  }
  return merged;
}
