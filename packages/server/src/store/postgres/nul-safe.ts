import pg from 'pg';

// PostgreSQL text cannot hold the NUL character (a parameter holding it fails the statement with SQLSTATE
// 22021), while SQLite stores and compares it like any other. Every text parameter Hangar sends has its
// NULs replaced by U+FFFD (the replacement character), in writes and reads alike: a log line a runner
// printed with a NUL is stored instead of failing its batch, and a filter or lookup holding a NUL matches
// what the same value stored, as on SQLite, instead of answering 500.

const NUL = /\u0000/g;

/** `value` with NUL replaced in every string it holds (arrays too, for `unnest` batches); the rest as is. */
export function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('\u0000') ? value.replace(NUL, '\uFFFD') : value;
  if (Array.isArray(value) && value.some((v) => typeof v === 'string' || Array.isArray(v))) {
    return value.map(withoutNul);
  }
  return value;
}

const mapValues = (values: unknown): unknown => (Array.isArray(values) ? values.map(withoutNul) : values);

/** A `pg` client whose queries send text parameters without NUL (the pool's `Client`). */
export class NulSafeClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: forwards pg's overloaded signature unchanged
  override query(config: any, values?: any, callback?: any): any {
    const plain = config && typeof config === 'object' && typeof config.submit !== 'function';
    if (plain && Array.isArray(config.values)) config = { ...config, values: mapValues(config.values) };
    return super.query(config, mapValues(values) as never, callback);
  }
}

// In JSON text a NUL is the escape `\u0000` (a backslash not itself escaped, then u0000).
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * JSON text of `value` with every NUL (in keys and strings) as U+FFFD: columns read as `jsonb` (log
 * labels) refuse the `\u0000` escape, which would fail every read touching the row.
 */
export function jsonWithoutNul(value: unknown): string {
  const text = JSON.stringify(value);
  return text.includes('\\u0000') ? text.replace(NUL_ESCAPE, '$1\uFFFD') : text;
}
