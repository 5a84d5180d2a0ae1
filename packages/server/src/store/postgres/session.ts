/**
 * The one thing the schema code needs from a PostgreSQL client: run SQL on one connection. Multi-statement
 * text runs when no parameters are given. Kept apart from the client so migrations and maintenance are
 * plain functions over a connection.
 */
export interface PgSession {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * Advisory lock keys of Hangar (two-int form: namespace, key), so no two parts of the cluster pick the same
 * lock by accident. Namespace 0x48414e47 is "HANG".
 */
export const ADVISORY = {
  namespace: 0x48414e47,
  migrate: 1,
  maintenance: 2,
  logIds: 3,
} as const;
