import type pg from 'pg';
import { read } from './pool.js';
import type { PgWriter, WriteKind } from './writer.js';

/** One SQL statement with its parameters. */
export interface Statement {
  text: string;
  params: unknown[];
}

/** A queued unit of statements applied together (one savepoint when the writer isolates failures). */
export interface StatementItem {
  stmts: Statement[];
  /** Rows changed by the last statement, once committed. */
  rowCount?: number;
}

/** Low-volume writes (keys, apps, secrets) as plain statements, in queue order with the requests. */
export const statementKind: WriteKind<StatementItem> = {
  name: 'statements',
  ordered: true,
  async run(client, items) {
    for (const item of items) {
      for (const s of item.stmts) item.rowCount = (await client.query(s.text, s.params)).rowCount ?? 0;
    }
  },
};

/** Commits the statements through the writer and resolves with the last one's changed-row count. */
export async function write(writer: PgWriter, ...stmts: Statement[]): Promise<number> {
  const item: StatementItem = { stmts };
  await writer.enqueueAwait(statementKind, item);
  return item.rowCount ?? 0;
}

/** Reads after this node's queued writes, as rows. */
export async function query<T>(
  pool: pg.Pool,
  writer: PgWriter,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  await writer.settled();
  return read(async () => (await pool.query(text, params)).rows as T[]);
}

/** `stmt\`...\`` is not worth a dependency: one helper naming the pieces. */
export function sql(text: string, ...params: unknown[]): Statement {
  return { text, params };
}
