import type {
  ClaimedDelivery,
  WebhookAttemptOutcome,
  WebhookDelivery,
  WebhookDeliveryRecord,
  WebhookOutbox,
} from '@hangar/core';
import type Database from 'better-sqlite3';
import { rowToDelivery, rowToRecord, type WebhookOutboxRow } from '../webhook-outbox-rows.js';
import type { Runnable, SqliteWriter } from './writer.js';

const DELIVERY_COLUMNS = 'id, owner, app, user_id, url, created_at';
const RECORD_COLUMNS = `${DELIVERY_COLUMNS}, state, attempts, due_at, last_status, last_error, finished_at`;
/** The write of a sender holding attempt `attempts` of a pending delivery; stale claims match nothing. */
const CLAIMED = "WHERE id = ? AND state = 'pending' AND attempts = ?";

/**
 * The webhook outbox on the SQLite file of the stores, written through their one batched writer: a
 * delivery recorded in the same tick as its request commits in the same transaction. A claim is one
 * `UPDATE … RETURNING` inside the writer's transaction, so two senders never get the same attempt.
 */
export class SqliteWebhookOutbox implements WebhookOutbox {
  private readonly enqueueStmt: Database.Statement;
  private readonly readyStmt: Database.Statement;
  private readonly claimStmt: Database.Statement;
  private readonly deliveredStmt: Database.Statement;
  private readonly retryStmt: Database.Statement;
  private readonly giveUpStmt: Database.Statement;
  private readonly dropStmt: Database.Statement;
  private readonly getStmt: Database.Statement;
  private readonly waitingStmt: Database.Statement;
  private readonly purgeStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: SqliteWriter,
  ) {
    const insert = `INSERT INTO webhook_outbox (${DELIVERY_COLUMNS}, state, body, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    this.enqueueStmt = db.prepare(`${insert} ON CONFLICT(id) DO NOTHING`);
    this.readyStmt = db.prepare(
      `${insert} ON CONFLICT(id) DO UPDATE SET state = 'pending', body = excluded.body, due_at = excluded.due_at
        WHERE webhook_outbox.state = 'waiting'`,
    );
    this.claimStmt = db.prepare(
      `UPDATE webhook_outbox SET attempts = attempts + 1, due_at = ?
        WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?)
        RETURNING ${DELIVERY_COLUMNS}, body, attempts`,
    );
    this.deliveredStmt = db.prepare(
      `UPDATE webhook_outbox SET state = 'delivered', due_at = NULL, body = NULL, last_status = ?,
        last_error = NULL, finished_at = ? ${CLAIMED}`,
    );
    this.retryStmt = db.prepare(
      `UPDATE webhook_outbox SET due_at = ?, last_status = ?, last_error = ? ${CLAIMED}`,
    );
    this.giveUpStmt = db.prepare(
      `UPDATE webhook_outbox SET state = 'failed', due_at = NULL, body = NULL, last_status = ?, last_error = ?,
        finished_at = ? ${CLAIMED}`,
    );
    this.dropStmt = db.prepare(
      `UPDATE webhook_outbox SET state = 'failed', last_error = ?, finished_at = ? WHERE id = ? AND state = 'waiting'`,
    );
    this.getStmt = db.prepare(`SELECT ${RECORD_COLUMNS} FROM webhook_outbox WHERE id = ?`);
    this.waitingStmt = db.prepare(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_outbox INDEXED BY webhook_outbox_waiting
        WHERE state = 'waiting' AND id > ? AND created_at < ? ORDER BY id LIMIT ?`,
    );
    this.purgeStmt = db.prepare('DELETE FROM webhook_outbox WHERE finished_at < ?');
  }

  async enqueue(d: WebhookDelivery): Promise<void> {
    await this.writer.enqueueAwait(this.enqueueStmt, [...deliveryParams(d), 'waiting', null, null]);
  }

  async ready(d: WebhookDelivery, body: Buffer, dueAt: number): Promise<void> {
    await this.writer.enqueueAwait(this.readyStmt, [...deliveryParams(d), 'pending', body, dueAt]);
  }

  async claim(now: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    let rows: WebhookOutboxRow[] = [];
    const run: Runnable = {
      run: (params) => {
        rows = this.claimStmt.all(...params) as WebhookOutboxRow[];
        return { changes: rows.length };
      },
    };
    await this.writer.enqueueAwait(run, [now + leaseMs, now, limit]);
    return rows.map((r) => ({ ...rowToDelivery(r), body: r.body ?? Buffer.alloc(0), attempt: r.attempts! }));
  }

  async delivered(id: string, attempt: number, at: number, status: number): Promise<boolean> {
    return (await this.writer.enqueueAwait(this.deliveredStmt, [status, at, id, attempt])) > 0;
  }

  async retry(
    id: string,
    attempt: number,
    _at: number,
    outcome: WebhookAttemptOutcome,
    dueAt: number,
  ): Promise<boolean> {
    const params = [dueAt, outcome.status, outcome.error, id, attempt];
    return (await this.writer.enqueueAwait(this.retryStmt, params)) > 0;
  }

  async giveUp(id: string, attempt: number, at: number, outcome: WebhookAttemptOutcome): Promise<boolean> {
    const params = [outcome.status, outcome.error, at, id, attempt];
    return (await this.writer.enqueueAwait(this.giveUpStmt, params)) > 0;
  }

  async drop(id: string, at: number, reason: string): Promise<boolean> {
    return (await this.writer.enqueueAwait(this.dropStmt, [reason, at, id])) > 0;
  }

  async get(id: string): Promise<WebhookDeliveryRecord | null> {
    await this.writer.settled();
    const row = this.getStmt.get(id) as WebhookOutboxRow | undefined;
    return row ? rowToRecord(row) : null;
  }

  async listWaiting(
    createdBefore: number,
    afterId: string | null,
    limit: number,
  ): Promise<WebhookDelivery[]> {
    await this.writer.settled();
    const rows = this.waitingStmt.all(afterId ?? '', createdBefore, limit) as WebhookOutboxRow[];
    return rows.map(rowToDelivery);
  }

  async purge(before: number): Promise<number> {
    return this.writer.enqueueAwait(this.purgeStmt, [before]);
  }

  /** The stores' `close()` closes the database. */
  async close(): Promise<void> {}
}

function deliveryParams(d: WebhookDelivery): unknown[] {
  return [d.id, d.owner, d.app, d.userId, d.url, d.createdAt];
}
