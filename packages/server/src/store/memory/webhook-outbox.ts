import type {
  ClaimedDelivery,
  WebhookAttemptOutcome,
  WebhookDelivery,
  WebhookDeliveryRecord,
  WebhookOutbox,
} from '@hangar/core';

interface Row extends WebhookDeliveryRecord {
  body: Buffer | null;
}

/** The webhook outbox in process memory (embedded tests and demos): nothing survives a restart. */
export class MemoryWebhookOutbox implements WebhookOutbox {
  private readonly rows = new Map<string, Row>();

  async enqueue(d: WebhookDelivery): Promise<void> {
    if (this.rows.has(d.id)) return;
    this.rows.set(d.id, {
      ...d,
      state: 'waiting',
      attempts: 0,
      dueAt: null,
      lastStatus: null,
      lastError: null,
      finishedAt: null,
      body: null,
    });
  }

  async ready(d: WebhookDelivery, body: Buffer, dueAt: number): Promise<void> {
    const row = this.rows.get(d.id);
    if (row && row.state !== 'waiting') return;
    if (!row) await this.enqueue(d);
    Object.assign(this.rows.get(d.id)!, { state: 'pending', body, dueAt });
  }

  async claim(now: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const due = [...this.rows.values()]
      .filter((r) => r.state === 'pending' && r.dueAt !== null && r.dueAt <= now)
      .sort((a, b) => a.dueAt! - b.dueAt! || (a.id < b.id ? -1 : 1))
      .slice(0, limit);
    return due.map((r) => {
      r.attempts += 1;
      r.dueAt = now + leaseMs;
      return { ...delivery(r), body: r.body!, attempt: r.attempts };
    });
  }

  async delivered(id: string, attempt: number, at: number, status: number): Promise<boolean> {
    const row = this.claimed(id, attempt);
    if (!row) return false;
    Object.assign(row, {
      state: 'delivered',
      dueAt: null,
      lastStatus: status,
      lastError: null,
      finishedAt: at,
    });
    row.body = null;
    return true;
  }

  async retry(
    id: string,
    attempt: number,
    _at: number,
    outcome: WebhookAttemptOutcome,
    dueAt: number,
  ): Promise<boolean> {
    const row = this.claimed(id, attempt);
    if (!row) return false;
    Object.assign(row, { dueAt, lastStatus: outcome.status, lastError: outcome.error });
    return true;
  }

  async giveUp(id: string, attempt: number, at: number, outcome: WebhookAttemptOutcome): Promise<boolean> {
    const row = this.claimed(id, attempt);
    if (!row) return false;
    Object.assign(row, {
      state: 'failed',
      dueAt: null,
      lastStatus: outcome.status,
      lastError: outcome.error,
      finishedAt: at,
      body: null,
    });
    return true;
  }

  async drop(id: string, at: number, reason: string): Promise<boolean> {
    const row = this.rows.get(id);
    if (row?.state !== 'waiting') return false;
    Object.assign(row, { state: 'failed', lastError: reason, finishedAt: at });
    return true;
  }

  async get(id: string): Promise<WebhookDeliveryRecord | null> {
    const row = this.rows.get(id);
    if (!row) return null;
    const { body: _body, ...record } = row;
    return record;
  }

  async listWaiting(
    createdBefore: number,
    afterId: string | null,
    limit: number,
  ): Promise<WebhookDelivery[]> {
    return [...this.rows.values()]
      .filter(
        (r) => r.state === 'waiting' && r.createdAt < createdBefore && (afterId === null || r.id > afterId),
      )
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map(delivery);
  }

  async purge(before: number): Promise<number> {
    let n = 0;
    for (const [id, row] of this.rows) {
      if (row.finishedAt !== null && row.finishedAt < before) {
        this.rows.delete(id);
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {}

  private claimed(id: string, attempt: number): Row | null {
    const row = this.rows.get(id);
    return row?.state === 'pending' && row.attempts === attempt ? row : null;
  }
}

function delivery(r: WebhookDelivery): WebhookDelivery {
  return { id: r.id, owner: r.owner, app: r.app, userId: r.userId, url: r.url, createdAt: r.createdAt };
}
