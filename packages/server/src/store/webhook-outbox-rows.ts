import type { WebhookDelivery, WebhookDeliveryRecord, WebhookDeliveryState } from '@hangar/core';

// The `webhook_outbox` table has the same columns in SQLite and PostgreSQL; both adapters read rows alike.

/** One `webhook_outbox` row as read. */
export interface WebhookOutboxRow {
  id: string;
  owner: string;
  app: string;
  user_id: string;
  url: string;
  created_at: number | string;
  state?: string;
  attempts?: number;
  due_at?: number | string | null;
  last_status?: number | null;
  last_error?: string | null;
  finished_at?: number | string | null;
  body?: Buffer | null;
}

/** The delivery of a row (BIGINT columns may come back as strings from Postgres). */
export function rowToDelivery(r: WebhookOutboxRow): WebhookDelivery {
  return {
    id: r.id,
    owner: r.owner,
    app: r.app,
    userId: r.user_id,
    url: r.url,
    createdAt: Number(r.created_at),
  };
}

/** The stored record of a row read with every column but the body. */
export function rowToRecord(r: WebhookOutboxRow): WebhookDeliveryRecord {
  const num = (v: number | string | null | undefined) => (v === null || v === undefined ? null : Number(v));
  return {
    ...rowToDelivery(r),
    state: r.state as WebhookDeliveryState,
    attempts: r.attempts ?? 0,
    dueAt: num(r.due_at),
    lastStatus: r.last_status ?? null,
    lastError: r.last_error ?? null,
    finishedAt: num(r.finished_at),
  };
}
