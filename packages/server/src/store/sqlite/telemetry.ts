import type {
  AppEvent,
  EventStore,
  LogLine,
  LogStore,
  MeterRecord,
  MeterStore,
  RunnerRegistry,
  RunnerRow,
  RunnerSample,
  RunnerSampleStore,
} from '@hangar/core';
import type Database from 'better-sqlite3';
import { RUNNER_COLUMNS, rowToRunnerRow, runnerValues } from '../runner-row.js';
import { rowToLogLine } from './rows.js';
import type { SqliteWriter } from './writer.js';

/**
 * Log lines on SQLite. Ids come from an in-process counter (seeded from `max(id)` on open) so callers can
 * publish lines with their final ids before the commit; this process is the database's only writer.
 */
export class SqliteLogStore implements LogStore {
  private nextId: number;
  private readonly insertStmt: Database.Statement;
  private readonly ftsStmt: Database.Statement;
  private readonly byRequestStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: SqliteWriter,
  ) {
    const max = db.prepare('SELECT max(id) FROM logs').pluck().get() as number | null;
    this.nextId = (max ?? 0) + 1;
    this.insertStmt = db.prepare(
      `INSERT INTO logs (id, ts, owner, app, revision, level, message, request_id, job_id, endpoint, source, labels)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Runs in the same writer batch as the rows (the writer keeps enqueue order), so search stays complete.
    this.ftsStmt = db.prepare(
      'INSERT INTO logs_fts(rowid, message) SELECT id, message FROM logs WHERE id BETWEEN ? AND ?',
    );
    this.byRequestStmt = db.prepare('SELECT * FROM logs WHERE request_id = ? AND id > ? ORDER BY id');
  }

  append(lines: LogLine[]): void {
    if (lines.length === 0) return;
    const first = this.nextId;
    for (const line of lines) {
      const id = this.nextId++;
      line.id = id;
      const l = line.labels;
      this.writer.enqueue(this.insertStmt, [
        id,
        line.ts,
        line.owner,
        line.app,
        line.revision,
        line.level,
        line.message,
        l.fal_request_id ?? null,
        l.fal_job_id ?? null,
        l.fal_endpoint ?? null,
        l.source ?? null,
        JSON.stringify(l),
      ]);
    }
    this.writer.enqueue(this.ftsStmt, [first, this.nextId - 1]);
  }

  async listByRequest(requestId: string, afterId = 0): Promise<LogLine[]> {
    this.writer.commit();
    return (this.byRequestStmt.all(requestId, afterId) as Record<string, unknown>[]).map(rowToLogLine);
  }
}

/** App events on SQLite, batched. */
export class SqliteEventStore implements EventStore {
  private readonly insertStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: SqliteWriter,
  ) {
    this.insertStmt = db.prepare(
      'INSERT OR REPLACE INTO events (event_id, owner, app, category, created_at, payload) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  append(e: AppEvent): void {
    const params = [e.eventId, e.owner, e.app, e.category, e.createdAt, JSON.stringify(e.payload)];
    this.writer.enqueue(this.insertStmt, params);
  }
}

/** Per-minute machine time on SQLite: an upsert, so re-metering a minute replaces it. */
export class SqliteMeterStore implements MeterStore {
  private readonly upsertStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: SqliteWriter,
  ) {
    this.upsertStmt = db.prepare(
      `INSERT INTO meter (runner_id, minute, owner, app, environment, machine_type, is_surge, seconds)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (runner_id, minute) DO UPDATE SET owner = excluded.owner, app = excluded.app,
         environment = excluded.environment, machine_type = excluded.machine_type,
         is_surge = excluded.is_surge, seconds = excluded.seconds`,
    );
  }

  record(rows: MeterRecord[]): void {
    for (const r of rows) {
      const params = [
        r.runnerId,
        r.minute,
        r.owner,
        r.app,
        r.environment,
        r.machineType,
        r.isSurge ? 1 : 0,
        r.seconds,
      ];
      this.writer.enqueue(this.upsertStmt, params);
    }
  }
}

/** Runner state samples on SQLite, batched. */
export class SqliteRunnerSampleStore implements RunnerSampleStore {
  private readonly insertStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: SqliteWriter,
  ) {
    this.insertStmt = db.prepare(
      `INSERT INTO runner_samples (ts, owner, app, pending, setup, idle, running, draining)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  append(samples: RunnerSample[]): void {
    for (const s of samples) {
      const params = [s.ts, s.owner, s.app, s.pending, s.setup, s.idle, s.running, s.draining];
      this.writer.enqueue(this.insertStmt, params);
    }
  }
}

/** SQLite has no BOOLEAN: flags are INTEGER 0/1. */
const sqliteBoolean = (b: boolean) => (b ? 1 : 0);

/** The registry of live runners on SQLite; upserts are batched, the listing commits first. */
export class SqliteRunnerRegistry implements RunnerRegistry {
  private readonly upsertStmt: Database.Statement;
  private readonly liveStmt: Database.Statement;
  private readonly findStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: SqliteWriter,
  ) {
    this.upsertStmt = db.prepare(
      `INSERT OR REPLACE INTO runners (${RUNNER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.findStmt = db.prepare('SELECT * FROM runners WHERE runner_id = ? AND owner = ? AND app = ?');
    this.liveStmt = db.prepare('SELECT * FROM runners WHERE ended_at IS NULL ORDER BY started_at, runner_id');
  }

  upsertRunner(r: RunnerRow): void {
    this.writer.enqueue(this.upsertStmt, runnerValues(r, sqliteBoolean));
  }

  async listLiveRunners(): Promise<RunnerRow[]> {
    this.writer.commit();
    return (this.liveStmt.all() as Record<string, unknown>[]).map(rowToRunnerRow);
  }

  async findRunner(owner: string, app: string, runnerId: string): Promise<RunnerRow | null> {
    this.writer.commit();
    const row = this.findStmt.get(runnerId, owner, app) as Record<string, unknown> | undefined;
    return row ? rowToRunnerRow(row) : null;
  }
}
