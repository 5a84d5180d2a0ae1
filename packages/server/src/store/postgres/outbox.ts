import {
  type ClaimedDelivery,
  PlatformError,
  type WebhookAttemptOutcome,
  type WebhookDelivery,
  type WebhookDeliveryRecord,
  type WebhookOutbox,
} from '@hangar/core';
import { rowToDelivery, rowToRecord, type WebhookOutboxRow } from '../webhook-outbox-rows.js';
import type { PgSession } from './session.js';

const DELIVERY_COLUMNS = 'id, owner, app, user_id, url, created_at';
const RECORD_COLUMNS = `${DELIVERY_COLUMNS}, state, attempts, due_at, last_status, last_error, finished_at`;
const INSERT = `INSERT INTO webhook_outbox (${DELIVERY_COLUMNS}, state, body, due_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
/** Connection-level SQLSTATE classes: the server went away or refuses connections for now. */
const UNAVAILABLE_CLASSES = ['08', '57'];
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);
const RETRY_AFTER_S = '2';

/**
 * The webhook outbox on PostgreSQL, shared by every node. A claim is one `UPDATE … WHERE id IN (SELECT …
 * FOR UPDATE SKIP LOCKED)`: concurrent claims from several nodes skip each other's rows instead of
 * waiting, and never share an attempt. Every write is fenced on the claim's attempt number.
 */
export class PostgresWebhookOutbox implements WebhookOutbox {
  constructor(private readonly db: PgSession) {}

  async enqueue(d: WebhookDelivery): Promise<void> {
    await this.q(`${INSERT} ON CONFLICT (id) DO NOTHING`, [...params(d), 'waiting', null, null]);
  }

  async ready(d: WebhookDelivery, body: Buffer, dueAt: number): Promise<void> {
    await this.q(
      `${INSERT} ON CONFLICT (id) DO UPDATE SET state = 'pending', body = EXCLUDED.body, due_at = EXCLUDED.due_at
        WHERE webhook_outbox.state = 'waiting'`,
      [...params(d), 'pending', body, dueAt],
    );
  }

  async claim(now: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const rows = await this.q(
      `UPDATE webhook_outbox SET attempts = attempts + 1, due_at = $1
        WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' AND due_at <= $2
          ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING ${DELIVERY_COLUMNS}, body, attempts`,
      [now + leaseMs, now, limit],
    );
    return rows.map((r) => ({ ...rowToDelivery(r), body: r.body ?? Buffer.alloc(0), attempt: r.attempts! }));
  }

  async delivered(id: string, attempt: number, at: number, status: number): Promise<boolean> {
    return this.fenced(
      `SET state = 'delivered', due_at = NULL, body = NULL, last_status = $3, last_error = NULL, finished_at = $4`,
      id,
      attempt,
      [status, at],
    );
  }

  async retry(
    id: string,
    attempt: number,
    _at: number,
    outcome: WebhookAttemptOutcome,
    dueAt: number,
  ): Promise<boolean> {
    return this.fenced('SET due_at = $3, last_status = $4, last_error = $5', id, attempt, [
      dueAt,
      outcome.status,
      outcome.error,
    ]);
  }

  async giveUp(id: string, attempt: number, at: number, outcome: WebhookAttemptOutcome): Promise<boolean> {
    return this.fenced(
      `SET state = 'failed', due_at = NULL, body = NULL, last_status = $3, last_error = $4, finished_at = $5`,
      id,
      attempt,
      [outcome.status, outcome.error, at],
    );
  }

  async drop(id: string, at: number, reason: string): Promise<boolean> {
    const rows = await this.q(
      `UPDATE webhook_outbox SET state = 'failed', last_error = $2, finished_at = $3
        WHERE id = $1 AND state = 'waiting' RETURNING id`,
      [id, reason, at],
    );
    return rows.length > 0;
  }

  async get(id: string): Promise<WebhookDeliveryRecord | null> {
    const [row] = await this.q(`SELECT ${RECORD_COLUMNS} FROM webhook_outbox WHERE id = $1`, [id]);
    return row ? rowToRecord(row) : null;
  }

  async listWaiting(
    createdBefore: number,
    afterId: string | null,
    limit: number,
  ): Promise<WebhookDelivery[]> {
    const rows = await this.q(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_outbox
        WHERE state = 'waiting' AND id > $1 AND created_at < $2 ORDER BY id LIMIT $3`,
      [afterId ?? '', createdBefore, limit],
    );
    return rows.map(rowToDelivery);
  }

  async purge(before: number): Promise<number> {
    return (await this.q('DELETE FROM webhook_outbox WHERE finished_at < $1 RETURNING id', [before])).length;
  }

  /** The pool belongs to whoever opened it. */
  async close(): Promise<void> {}

  private async fenced(set: string, id: string, attempt: number, values: unknown[]): Promise<boolean> {
    const sql = `UPDATE webhook_outbox ${set} WHERE id = $1 AND state = 'pending' AND attempts = $2 RETURNING id`;
    return (await this.q(sql, [id, attempt, ...values])).length > 0;
  }

  /** Runs one statement; an unreachable database becomes 503 DATABASE_UNAVAILABLE with Retry-After. */
  private async q(text: string, values: unknown[]): Promise<WebhookOutboxRow[]> {
    try {
      return await this.db.query<WebhookOutboxRow>(text, values);
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      throw Object.assign(
        new PlatformError('DATABASE_UNAVAILABLE', undefined, { 'retry-after': RETRY_AFTER_S }),
        {
          cause: err,
        },
      );
    }
  }
}

function params(d: WebhookDelivery): unknown[] {
  return [d.id, d.owner, d.app, d.userId, d.url, d.createdAt];
}

function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return err instanceof Error && /terminated|Connection/.test(err.message);
  return NETWORK_CODES.has(code) || UNAVAILABLE_CLASSES.includes(code.slice(0, 2));
}
