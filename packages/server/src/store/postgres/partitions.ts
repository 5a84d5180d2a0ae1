import { ADVISORY, type PgSession } from './session.js';

const DAY = 86_400_000;

/** Days each time-partitioned table keeps; 0 keeps for ever. From the config file `postgres.retention_days`. */
export interface PostgresRetention {
  requests: number;
  logs: number;
  samples: number;
}

/** The defaults of `postgres.retention_days.*`. */
export const DEFAULT_RETENTION: PostgresRetention = { requests: 90, logs: 30, samples: 30 };

interface PartitionedTable {
  table: string;
  column: string;
  span: number;
  retention: keyof PostgresRetention;
}

/**
 * The range-partitioned tables. Requests take weekly partitions because reads by request id alone visit
 * every partition's key index; log lines and samples, by far the most rows, take daily ones.
 */
export const PARTITIONED: readonly PartitionedTable[] = [
  { table: 'requests', column: 'sent_at', span: 7 * DAY, retention: 'requests' },
  { table: 'logs', column: 'ts', span: DAY, retention: 'logs' },
  { table: 'runner_samples', column: 'ts', span: DAY, retention: 'samples' },
];

/** How far ahead partitions exist, so a leader that is away for a while never leaves inserts to DEFAULT. */
export const PARTITIONS_AHEAD_MS = 8 * DAY;

/** What one maintenance pass changed. */
export interface MaintenanceResult {
  created: string[];
  dropped: string[];
  /** Expired rows deleted from the DEFAULT partitions. */
  deletedFromDefault: number;
}

/**
 * Partition upkeep, run by the cluster leader (and once at start): creates the partitions of the coming
 * days, drops those wholly older than the retention, and deletes expired rows that landed in a DEFAULT
 * partition. Safe to run on several nodes at once (one at a time, under an advisory lock); idempotent.
 */
export async function runPostgresMaintenance(
  db: PgSession,
  now: number,
  retention: PostgresRetention = DEFAULT_RETENTION,
): Promise<MaintenanceResult> {
  const result: MaintenanceResult = { created: [], dropped: [], deletedFromDefault: 0 };
  await db.query('SELECT pg_advisory_lock($1, $2)', [ADVISORY.namespace, ADVISORY.maintenance]);
  try {
    for (const t of PARTITIONED) {
      const existing = await childPartitions(db, t.table);
      for (let start = floor(now, t.span); start < now + PARTITIONS_AHEAD_MS; start += t.span) {
        const name = partitionName(t.table, start);
        if (existing.has(name)) continue;
        await createPartition(db, t, name, start);
        result.created.push(name);
      }
      const days = retention[t.retention];
      if (!(days > 0)) continue;
      const cutoff = now - days * DAY;
      for (const name of existing) {
        const start = partitionStart(t.table, name);
        if (start === null || start + t.span > cutoff) continue;
        await db.query(`DROP TABLE IF EXISTS ${name}`);
        result.dropped.push(name);
      }
      const deleted = await db.query(`DELETE FROM ${t.table}_default WHERE ${t.column} < $1 RETURNING 1`, [
        cutoff,
      ]);
      result.deletedFromDefault += deleted.length;
    }
  } finally {
    await db.query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY.namespace, ADVISORY.maintenance]);
  }
  return result;
}

function floor(t: number, span: number): number {
  return Math.floor(t / span) * span;
}

/** `logs_p20261205`: the table and the UTC day the partition starts. */
export function partitionName(table: string, start: number): string {
  return `${table}_p${new Date(start).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

function partitionStart(table: string, name: string): number | null {
  const m = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

async function childPartitions(db: PgSession, table: string): Promise<Set<string>> {
  const rows = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = $1 AND p.relnamespace = to_regnamespace(current_schema())::oid`,
    [table],
  );
  return new Set(rows.map((r) => r.name));
}

/**
 * Creates one partition. Rows of its range already in DEFAULT (written while no partition existed) are
 * moved into it in the same transaction, since PostgreSQL refuses a partition that DEFAULT overlaps.
 */
async function createPartition(
  db: PgSession,
  t: PartitionedTable,
  name: string,
  start: number,
): Promise<void> {
  const end = start + t.span;
  await db.query('BEGIN');
  try {
    const stray = await db.query(
      `SELECT 1 FROM ${t.table}_default WHERE ${t.column} >= $1 AND ${t.column} < $2 LIMIT 1`,
      [start, end],
    );
    if (stray.length === 0) {
      await db.query(`CREATE TABLE ${name} PARTITION OF ${t.table} FOR VALUES FROM (${start}) TO (${end})`);
    } else {
      await db.query(`CREATE TABLE ${name} (LIKE ${t.table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await db.query(
        `WITH moved AS (DELETE FROM ${t.table}_default WHERE ${t.column} >= ${start} AND ${t.column} < ${end}
           RETURNING *) INSERT INTO ${name} SELECT * FROM moved`,
      );
      await db.query(
        `ALTER TABLE ${t.table} ATTACH PARTITION ${name} FOR VALUES FROM (${start}) TO (${end})`,
      );
    }
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
