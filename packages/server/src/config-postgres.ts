// The `postgres` section of hangar.config.json and HANGAR_DATABASE_URL (cluster mode's database), kept
// apart from config.ts and config-file.ts so those stay about the whole configuration.
import { type Static, Type } from 'typebox';

const strict = { additionalProperties: false } as const;
const days = () => Type.Optional(Type.Integer({ minimum: 0, maximum: 36_500 }));

/** Schema of `postgres` in hangar.config.json. */
export const PostgresConfigSchema = Type.Object(
  {
    pool_size: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })),
    retention_days: Type.Optional(Type.Object({ requests: days(), logs: days(), samples: days() }, strict)),
  },
  strict,
);

export type PostgresConfigFile = Static<typeof PostgresConfigSchema>;

/** PostgreSQL settings (see docs/config.md, "PostgreSQL"). */
export interface PostgresSettings {
  /** `HANGAR_DATABASE_URL` / `--database-url`: the stores live in PostgreSQL; null keeps SQLite. */
  readonly url: string | null;
  readonly poolSize: number;
  /** Days kept per partitioned table; 0 keeps for ever. */
  readonly retention: { readonly requests: number; readonly logs: number; readonly samples: number };
}

/**
 * The settings from the file section and the URL given by flag (wins) or environment; `invalid` makes
 * the error to throw (the caller's ConfigError, so this file imports nothing of the config's).
 */
export function postgresSettings(
  file: PostgresConfigFile | undefined,
  flag: string | undefined,
  env: string | undefined,
  invalid: (message: string) => Error,
): PostgresSettings {
  const source = flag ? '--database-url' : 'HANGAR_DATABASE_URL';
  const url = flag || env || null;
  // The URL may hold a password: an error names the setting, never the value.
  if (url !== null && !/^postgres(ql)?:\/\/[^\s]+$/.test(url)) {
    throw invalid(`${source} must be a postgres:// or postgresql:// URL`);
  }
  const r = file?.retention_days ?? {};
  return {
    url,
    poolSize: file?.pool_size ?? 10,
    retention: { requests: r.requests ?? 90, logs: r.logs ?? 30, samples: r.samples ?? 30 },
  };
}
