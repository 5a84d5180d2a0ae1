import type Database from 'better-sqlite3';
import { prepared } from './statements.js';

/**
 * How the logs `search` filter uses the trigram index (`logs_fts`, detail=none). FTS5 answers a
 * `LIKE '%needle%'` by merging the doclists of every trigram of the needle, and it finds a rowid bound by
 * walking a doclist from one end, so common trigrams ("ed ", " on") cost time in proportion to the whole
 * index. Instead a search asks the index only for the needle's rarest trigrams, newest rowid first (the
 * cheap direction for recent windows), and checks each candidate row with `instr`.
 */

/** Newest occurrences of each trigram read to estimate how often it occurs. */
const PROBE_SAMPLE = 200;
/** Trigrams ANDed in the candidate query: the rarest, plus the next ones at most `PICK_SPREAD` times as common. */
const MAX_PICKS = 2;
const PICK_SPREAD = 4;

/** A trigram of a needle and its estimated share of log lines (0 when no line contains it). */
export interface TrigramDensity {
  trigram: string;
  density: number;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The distinct trigrams (three code points) of a needle as the trigram tokenizer indexes them, or [] when
 * the index cannot serve it (shorter than three characters, a NUL, or not well-formed UTF-16). Case is left to
 * the tokenizer, which folds it the same way for the query and the indexed text.
 */
export function needleTrigrams(needle: string): string[] {
  // FTS5 query strings end at a NUL, and lone surrogates do not survive the trip to UTF-8.
  if (needle.includes('\u0000') || LONE_SURROGATE.test(needle)) return [];
  const chars = Array.from(needle);
  const out = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) out.add(chars.slice(i, i + 3).join(''));
  return [...out];
}

/** An FTS5 query string matching one token exactly (a quoted string; quotes doubled). */
function quoted(trigram: string): string {
  return `"${trigram.replaceAll('"', '""')}"`;
}

/**
 * Each trigram's density, rarest first: the newest `PROBE_SAMPLE` occurrences over the id span they
 * cover. Reading from the newest end of a doclist is cheap however common the trigram is.
 */
export function trigramDensities(db: Database.Database, trigrams: string[]): TrigramDensity[] {
  const maxId = (prepared(db, 'SELECT coalesce(max(id), 0) AS m FROM logs').get() as { m: number }).m;
  const probe = prepared(
    db,
    'SELECT count(*) AS n, min(rowid) AS r FROM (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ? ORDER BY rowid DESC LIMIT ?)',
  );
  const out = trigrams.map((trigram) => {
    const { n, r } = probe.get(quoted(trigram), PROBE_SAMPLE) as { n: number; r: number | null };
    const from = n < PROBE_SAMPLE || r === null ? 1 : r;
    return { trigram, density: n === 0 ? 0 : n / Math.max(1, maxId - from + 1) };
  });
  return out.sort((a, b) => a.density - b.density);
}

/**
 * The FTS5 query of a search's candidates: the rarest trigram, ANDed with the next rarest when that one
 * is at most `PICK_SPREAD` times as common (a second list costs more to merge than it saves otherwise).
 */
export function candidateQuery(densities: readonly TrigramDensity[]): string {
  const rarest = densities[0]?.density ?? 0;
  return densities
    .filter((d, i) => i === 0 || d.density <= rarest * PICK_SPREAD)
    .slice(0, MAX_PICKS)
    .map((d) => quoted(d.trigram))
    .join(' AND ');
}

/** Where `newestCandidates` looks: an FTS5 query, the open id range (lo, hi), and the page size. */
export interface CandidateWalk {
  query: string;
  lo: number;
  hi: number;
  want: number;
  /** How far (ms) a line's timestamp may trail lines with smaller ids. */
  skewMs: number;
}

/** Candidates checked per statement at first; the batch doubles up to `MAX_BATCH`. */
const FIRST_BATCH = 64;
const MAX_BATCH = 4096;

type Key = { ts: number; id: number };

/**
 * The `want` newest rows by (ts, id) among the candidates that `check` keeps. Candidates come newest id
 * first; id order differs from (ts, id) order by at most `skewMs`, so the walk stops once a candidate is
 * stamped that much before the `want`-th row found, or when the candidates run out.
 */
export function newestCandidates<R extends Key>(
  db: Database.Database,
  walk: CandidateWalk,
  check: (ids: number[]) => R[],
): R[] {
  const found: R[] = [];
  const ids = candidateIds(db, walk.query, walk.lo, walk.hi);
  try {
    for (let size = FIRST_BATCH; ; size = Math.min(size * 2, MAX_BATCH)) {
      const batch = take(ids, size);
      const last = batch[batch.length - 1];
      if (last === undefined) break;
      found.push(...check(batch));
      if (batch.length < size || settled(db, found, walk, last)) break;
    }
  } finally {
    ids.return?.();
  }
  return found.sort(newestFirst).slice(0, walk.want);
}

function newestFirst(a: Key, b: Key): number {
  return b.ts - a.ts || b.id - a.id;
}

function take(it: Iterator<number>, n: number): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const r = it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/**
 * Whether the `want` newest rows of `found` are final once candidates down to id `lastId` are checked:
 * every unseen line has a smaller id, so it is stamped at most `skewMs` after line `lastId`. Trims
 * `found` to those rows.
 */
function settled(db: Database.Database, found: Key[], walk: CandidateWalk, lastId: number): boolean {
  if (found.length < walk.want) return false;
  found.sort(newestFirst).length = walk.want;
  const edge = found[walk.want - 1] as Key;
  const row = prepared(db, 'SELECT ts FROM logs WHERE id = ?').get(lastId) as { ts: number } | undefined;
  return row !== undefined && row.ts + walk.skewMs <= edge.ts;
}

/** Candidate log ids (rows whose message holds every trigram of `query`) in (lo, hi), newest id first. */
function candidateIds(
  db: Database.Database,
  query: string,
  lo: number,
  hi: number,
): IterableIterator<number> {
  const stmt = prepared(
    db,
    'SELECT rowid AS id FROM logs_fts WHERE logs_fts MATCH ? AND rowid > ? AND rowid < ? ORDER BY rowid DESC',
  );
  const rows = stmt.iterate(query, lo, hi) as IterableIterator<{ id: number }>;
  return (function* () {
    // The generator's return() (on an early stop) also closes the statement's iterator.
    try {
      for (const row of rows) yield row.id;
    } finally {
      rows.return?.();
    }
  })();
}
